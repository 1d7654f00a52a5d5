"""The example issue passes; a sloppy one fails with a finding for each of its mistakes."""

from __future__ import annotations

import json
from pathlib import Path

from newsletter.pipeline.checks import Finding

from .conftest import by_id


def test_the_example_issue_has_no_error_and_no_warning(example: list[Finding]) -> None:
    serious = [str(f) for f in example if f.severity != "info"]
    assert serious == []


def test_a_sloppy_issue_fails_with_a_finding_for_each_mistake(
    sloppy: tuple[Path, list[Finding]],
) -> None:
    path, findings = sloppy
    source = f"issues/{path.name}"
    found = {(f.id, f.severity, f.location.split(": ")[-1]) for f in findings}
    assert ("size-clipped", "error", "email.html") in found
    assert ("subject-shouting", "warning", "subject") in found
    assert ("subject-shouting", "warning", "preheader") in found
    assert ("preheader-repeats-subject", "warning", "preheader") in found
    assert ("link-insecure", "warning", "lead.url") in found
    assert ("image-insecure", "warning", "lead.image.src") in found
    assert ("image-alt-filename", "warning", "lead.image.alt") in found
    assert ("link-text", "warning", "lead.body") in found
    assert all(f.location.startswith(source) for f in findings if f.id.startswith("subject"))
    # the location names the line the editor wrote it on
    lines = path.read_text().splitlines()
    (alt,) = by_id(findings, "image-alt-filename")
    line = int(alt.location.split(":")[1])
    assert "photo.jpg" in lines[line - 1]


def test_size_findings_give_the_bytes(sloppy: tuple[Path, list[Finding]]) -> None:
    _, findings = sloppy
    (clipped,) = by_id(findings, "size-clipped")
    assert "bytes" in clipped.message and "102 KB" in clipped.message


def test_findings_are_plain_dicts_for_meta_json(example: list[Finding]) -> None:
    assert example, "the example has client-support notes"
    for finding in example:
        data = finding.to_dict()
        assert list(data) == ["id", "severity", "message", "location"]
        assert json.loads(json.dumps(data)) == data
