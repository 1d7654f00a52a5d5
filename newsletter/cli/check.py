"""``newsletter check [ISSUE...]``."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from newsletter.cli.options import issue_paths, issues_argument, open_workspace, workspace_option

if TYPE_CHECKING:
    from newsletter.commands.check import Checked

_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


@click.command(
    "check",
    epilog="""\b
Examples:
  newsletter check                         # every issue in issues/
  newsletter check issues/2025-06-26-putin-poaches-the-neighbors.yaml
  newsletter check --strict                # fail on warnings too (for CI)
  newsletter check --json | jq '.[] | select(.severity == "error")'

\b
Rules, their severities and thresholds are set in newsletter.toml under [check];
the README lists every rule id ("Checking an issue").""",
)
@issues_argument
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON on stdout.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings as well as on errors.")
@click.option("--quiet", "-q", is_flag=True, help="Leave out info findings (and say how many).")
@click.option(
    "--verbose", "-v", is_flag=True, help="List each client-support note instead of counting them."
)
@click.option(
    "--rules", "list_rules", is_flag=True, help="List the rules and their severities, and exit."
)
def command(
    issues: tuple[Path, ...],
    workspace: Path | None,
    as_json: bool,
    strict: bool,
    quiet: bool,
    verbose: bool,
    list_rules: bool,
) -> None:
    """Review issues as finished emails before they are sent, and say what to fix, where.

    Each issue is built in memory (nothing is written) and checked: size against Gmail's
    clip, links, images, subject and preheader, accessibility, leftover template syntax, the
    plain-text part, unsubscribe headers, and support in the target email clients. Exits 0
    when there is no error, 1 when there is one (or a warning, with --strict).
    """
    from newsletter.commands.check import check, rules
    from newsletter.errors import ProblemsError
    from newsletter.model.findings import summary

    ws = open_workspace(workspace)
    if list_rules:
        for rule_id, severity, text in rules(ws):
            click.echo(f"{rule_id:27} {severity:8} {text}")
        return
    # Each issue's findings as soon as it is checked: a check of many shows its progress.
    shown = None if as_json else partial(_report, quiet=quiet, verbose=verbose)
    report = check(ws, issue_paths(ws, issues), on_checked=shown)
    if as_json:
        rows = [
            {**f.to_dict(), "issue": i.name}
            for i in report.checked
            for f in i.findings
            if not (quiet and f.severity == "info")
        ]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        everything = [f for f in report.findings() if not (quiet and f.severity == "info")]
        total = summary((f.severity for f in everything), always=True)
        count = len(report.checked)
        click.echo(f"checked {count} issue{'s' if count != 1 else ''}: {total}")
    if report.problems:
        raise ProblemsError(report.problems)
    if report.fails(strict=strict):
        raise SystemExit(1)


def _report(issue: Checked, *, quiet: bool, verbose: bool) -> None:
    """One issue's findings, most severe first; the client-support notes as one line
    unless ``verbose``."""
    from newsletter.model.findings import SEVERITIES, summary

    shown = [f for f in issue.findings if not (quiet and f.severity == "info")]
    click.echo(f"{issue.name}: {summary((f.severity for f in shown), always=True)}")
    folded = [f for f in shown if f.id == "client-support" and not verbose]
    for finding in sorted(shown, key=lambda f: SEVERITIES.index(f.severity)):
        if finding not in folded:
            label = click.style(f"{finding.severity:<7}", fg=_COLOURS[finding.severity])
            click.echo(f"  {label} {finding.location}: {finding.message} [{finding.id}]")
    if folded:
        label = click.style(f"{'info':<7}", fg=_COLOURS["info"])
        click.echo(
            f"  {label} {len(folded)} client-support notes: features some email clients "
            "lack, which the theme allows for (--verbose lists them) [client-support]"
        )
    hidden = len(issue.findings) - len(shown)
    if hidden:
        click.echo(f"  ({hidden} info finding{'s' if hidden != 1 else ''} left out: --quiet)")
