"""``newsletter check``, ``[check]`` in newsletter.toml, and the findings ``build`` records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.errors import ProblemsError
from newsletter.pipeline.checks import RULES
from newsletter.workspace import load_workspace

from .conftest import EXAMPLE, by_id, check, make_workspace, sloppy_issue, write_issue


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plus the sloppy issue."""
    root = make_workspace(tmp_path_factory.mktemp("cli"))
    write_issue(root, "2025-07-01-sloppy", sloppy_issue)
    return root


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_check_passes_the_example(workspace: Path) -> None:
    code, output = run("check", "-w", str(workspace), str(workspace / "issues" / EXAMPLE), "-v")
    assert code == 0, output
    lines = output.splitlines()
    notes = len(lines) - 2
    assert lines[0] == f"issues/{EXAMPLE}: 0 errors, 0 warnings, {notes} info"
    assert all(line.startswith("  info ") and "[client-support]" in line for line in lines[1:-1])
    assert lines[-1] == f"checked 1 issue: 0 errors, 0 warnings, {notes} info"
    # without --verbose the theme's client notes are one line; --quiet says how many it hid
    code, output = run("check", "-w", str(workspace), str(workspace / "issues" / EXAMPLE))
    assert output.splitlines()[1].startswith(f"  info    {notes} client-support notes: ")
    assert len(output.splitlines()) == 3
    code, output = run("check", "-w", str(workspace), str(workspace / "issues" / EXAMPLE), "-q")
    assert output.splitlines()[1] == f"  ({notes} info findings left out: --quiet)"


def test_check_fails_the_sloppy_issue_grouped_by_issue_and_severity(workspace: Path) -> None:
    code, output = run("check", "-w", str(workspace), "--quiet")
    assert code == 1
    lines = output.splitlines()
    assert lines[0] == f"issues/{EXAMPLE}: 0 errors, 0 warnings, 0 info"
    assert lines[1].endswith("info findings left out: --quiet)")
    assert lines[2].startswith("issues/2025-07-01-sloppy.yaml: 1 error, ")
    severities = [line.split()[0] for line in lines[3:-1] if not line.startswith("  (")]
    assert severities == sorted(severities, key=["error", "warning"].index)
    assert "  error   email.html: the HTML is " in output
    assert (
        "  warning issues/2025-07-01-sloppy.yaml:1: subject: the subject is in capitals" in output
    )
    assert lines[-1].startswith("checked 2 issues: 1 error, ")


def test_check_json_lists_the_findings(workspace: Path) -> None:
    code, output = run("check", "-w", str(workspace), "--json")
    assert code == 1
    findings = json.loads(output)
    assert {"id", "severity", "message", "location"} <= set(findings[0])
    sloppy = [f for f in findings if f["issue"] == "issues/2025-07-01-sloppy.yaml"]
    assert {f["id"] for f in sloppy} >= {"size-clipped", "subject-shouting", "link-insecure"}


def test_strict_fails_on_warnings(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    path = write_issue(root, "2025-07-02-no-preheader", lambda data: data.pop("preheader"))
    code, output = run("check", "-w", str(root), str(path))
    assert code == 0 and "preheader-missing" in output
    code, _ = run("check", "-w", str(root), "--strict", str(path))
    assert code == 1


def test_usage_errors_exit_2(workspace: Path) -> None:
    assert run("check", "-w", str(workspace), "--no-such-option")[0] == 2
    assert run("check", "-w", str(workspace), "issues/missing.yaml")[0] == 2


def test_an_issue_that_does_not_build_is_a_problem(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / "issues" / "2025-07-03-broken.yaml").write_text("subject: [unclosed\n")
    code, output = run("check", "-w", str(root))
    assert code == 1
    assert "issues/2025-07-03-broken.yaml:" in output and "invalid YAML" in output


# ---- [check] ---------------------------------------------------------------------------------


def test_a_rule_can_be_switched_off_or_given_another_severity(tmp_path: Path) -> None:
    settings = '\n[check.rules]\nclient-support = "off"\npreheader-missing = "error"\n'
    root = make_workspace(tmp_path / "ws", append=settings)
    path = write_issue(root, "2025-07-02-no-preheader", lambda data: data.pop("preheader"))
    findings = check(root, path)
    assert by_id(findings, "client-support") == []
    assert [f.severity for f in by_id(findings, "preheader-missing")] == ["error"]
    assert run("check", "-w", str(root), str(path))[0] == 1


def test_an_unknown_rule_id_names_the_file_and_the_key(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", append='\n[check.rules]\nlink-txt = "off"\n')
    with pytest.raises(ProblemsError) as raised:
        load_workspace(root)
    (problem,) = raised.value.problems
    assert problem.file.endswith("newsletter.toml")
    assert problem.field == "check.rules.link-txt"
    assert problem.line == len((root / "newsletter.toml").read_text().splitlines())
    assert "unknown rule id 'link-txt'" in problem.message
    code, output = run("check", "-w", str(root))
    assert code == 1 and "newsletter.toml:" in output and "check.rules.link-txt" in output


def test_an_unknown_client_or_severity_is_an_error(tmp_path: Path) -> None:
    root = make_workspace(
        tmp_path / "ws",
        append='\n[check]\nclients = ["lotus-notes"]\n[check.rules]\nlink-text = "loud"\n',
    )
    with pytest.raises(ProblemsError) as raised:
        load_workspace(root)
    fields = sorted(p.field for p in raised.value.problems)
    assert fields == ["check.clients[0]", "check.rules.link-text"]


# ---- build -----------------------------------------------------------------------------------


def test_build_leaves_the_checks_to_check(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    write_issue(root, "2025-07-01-sloppy", sloppy_issue)
    code, output = run("build", "-w", str(root))
    assert code == 0, output
    meta = json.loads((root / "out" / "2025-07-01-sloppy" / "meta.json").read_text())
    assert "findings" not in meta and "check" not in meta["timings_ms"]
    # The issue file's own warning (its date), which the loader found, and no count.
    assert "  warning: issues/2025-07-01-sloppy.yaml:3: date: the date is 2025-06-26" in output
    assert "for details" not in output and "info" not in output
    assert "next: newsletter check" in output
    # Asked for now, the findings are there: the folder built without them is built again.
    code, output = run("build", "--check", "-w", str(root))
    assert code == 0 and "unchanged" not in output, output
    meta = json.loads((root / "out" / "2025-07-01-sloppy" / "meta.json").read_text())
    assert {f["id"] for f in meta["findings"]} >= {"size-clipped", "image-insecure"}
    # A folder built with them does for a build that does not ask for them, and for one that does.
    for asked in ([], ["--check"]):
        code, output = run("build", *asked, "-w", str(root))
        assert code == 0 and output.startswith("unchanged: out/"), output
        assert "built" not in output


def test_build_check_records_the_findings_and_counts_them(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    write_issue(root, "2025-07-01-sloppy", sloppy_issue)
    code, output = run("build", "--check", "-w", str(root))
    assert code == 0, output  # findings never fail a build
    meta = json.loads((root / "out" / "2025-07-01-sloppy" / "meta.json").read_text())
    assert {f["id"] for f in meta["findings"]} >= {"size-clipped", "image-insecure"}
    assert all(list(f) == ["id", "severity", "message", "location"] for f in meta["findings"])
    errors = sum(f["severity"] == "error" for f in meta["findings"])
    warnings = sum(f["severity"] == "warning" for f in meta["findings"])
    info = sum(f["severity"] == "info" for f in meta["findings"])
    assert (
        f"  {errors} error, {warnings} warnings, {info} info (run newsletter check for details)"
        in output.splitlines()
    )
    example = json.loads((root / "out" / EXAMPLE.removesuffix(".yaml") / "meta.json").read_text())
    assert {f["severity"] for f in example["findings"]} == {"info"}


def test_the_readme_lists_every_rule_with_its_default_severity() -> None:
    from newsletter.pipeline.checks import RULES

    from .conftest import REPO

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Checking an issue") :]
    for rule in RULES.values():
        assert f"| `{rule.id}` | {rule.severity} |" in section, rule.id


def test_rules_lists_every_rule_with_its_severity_here(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", append='\n[check.rules]\nlink-text = "off"\n')
    code, output = run("check", "-w", str(root), "--rules")
    assert code == 0
    lines = output.splitlines()
    assert len(lines) == len(RULES)
    assert lines[0].split()[:2] == ["size-clipped", "error"]
    assert [line.split()[:2] for line in lines if line.startswith("link-text ")] == [
        ["link-text", "off"]
    ]
