"""``newsletter validate [ISSUE...]``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from newsletter.cli.options import (
    echo_warnings,
    issue_paths,
    issues_argument,
    open_workspace,
    workspace_option,
)


@click.command(
    "validate",
    epilog="""\b
Examples:
  newsletter validate                      # every issue in issues/
  newsletter validate issues/2025-06-26-putin-poaches-the-neighbors.yaml
  newsletter validate --json | jq .""",
)
@issues_argument
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
def command(issues: tuple[Path, ...], workspace: Path | None, as_json: bool) -> None:
    """Check issue files without building them: every problem, one line each.

    Warnings (a field left empty, a date unlike the file name's) are printed but do not fail.
    Exits 0 when all are valid, 1 when any has a problem.
    """
    from newsletter.errors import Problem, ProblemsError, styled
    from newsletter.pipeline.load import load_issue

    ws = open_workspace(workspace)
    problems: list[Problem] = []
    report = []
    for path in issue_paths(ws, issues):
        name = ws.display(path)
        try:
            issue = load_issue(path, ws.root, display=name)
        except ProblemsError as error:
            problems.extend(error.problems)
            report.append(
                {
                    "file": name,
                    "ok": False,
                    "problems": [str(p) for p in error.problems],
                    "warnings": [],
                }
            )
        else:
            warnings = [str(w) for w in issue.warnings]
            report.append({"file": name, "ok": True, "problems": [], "warnings": warnings})
            if not as_json:
                counted = f", {len(warnings)} warning(s)" if warnings else ""
                click.echo(f"{name}: {styled('ok', 'ok')}{counted}")
                echo_warnings(warnings)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    if problems:
        raise ProblemsError(problems)
