"""The unsubscribe secret: check warns when a list send would refuse to start without it."""

from __future__ import annotations

from pathlib import Path

from newsletter.model.findings import Finding

from .conftest import by_id, check, make_workspace

SECRET = 'unsubscribe_secret_env = "NEWSLETTER_UNSUBSCRIBE_SECRET"'


def test_the_example_names_its_secret(example: list[Finding]) -> None:
    assert by_id(example, "unsubscribe-secret") == []


def test_no_secret_named_is_a_warning(tmp_path: Path) -> None:
    findings = check(make_workspace(tmp_path / "ws", toml=[(SECRET, "")]))
    (finding,) = by_id(findings, "unsubscribe-secret")
    assert finding.severity == "warning"
    assert finding.location == "newsletter.toml: send.unsubscribe_secret_env"
    assert "a list send will refuse to start" in finding.message
