"""``newsletter check [ISSUE...]``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import click

from newsletter.cli.options import issue_paths, issues_argument, open_workspace, workspace_option

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
@click.option("--quiet", "-q", is_flag=True, help="Leave out info findings.")
@click.option(
    "--rules", "list_rules", is_flag=True, help="List the rules and their severities, and exit."
)
def command(
    issues: tuple[Path, ...],
    workspace: Path | None,
    as_json: bool,
    strict: bool,
    quiet: bool,
    list_rules: bool,
) -> None:
    """Review issues as finished emails before they are sent, and say what to fix, where.

    Each issue is built in memory (nothing is written) and checked: size against Gmail's
    clip, links, images, subject and preheader, accessibility, leftover template syntax, the
    plain-text part, unsubscribe headers, and support in the target email clients. Exits 0
    when there is no error, 1 when there is one (or a warning, with --strict).
    """
    from newsletter.commands.build import build_issues
    from newsletter.errors import Problem, ProblemsError
    from newsletter.pipeline.checks.report import count, lines

    ws = open_workspace(workspace)
    if list_rules:
        _list_rules(ws.settings.check.rules)
        return
    problems: list[Problem] = []
    everything: list[dict[str, str]] = []
    checked = 0
    results = sorted(build_issues(issue_paths(ws, issues), ws), key=lambda r: r.source)
    for result in results:
        name = ws.display(result.source)
        if not result.ok:
            problems.extend(result.problems)
            continue
        checked += 1
        findings = [f.to_dict() for f in result.findings if not (quiet and f.severity == "info")]
        everything.extend({**f, "issue": name} for f in findings)
        if as_json:
            continue
        click.echo(f"{name}: {count([f['severity'] for f in findings], always=True)}")
        for severity, line in lines(findings):
            click.echo(f"  {click.style(f'{severity:<7}', fg=_COLOURS[severity])} {line}")
    if as_json:
        click.echo(json.dumps(everything, indent=2, ensure_ascii=False))
    else:
        summary = count((f["severity"] for f in everything), always=True)
        click.echo(f"checked {checked} issue{'s' if checked != 1 else ''}: {summary}")
    if problems:
        raise ProblemsError(problems)
    failing = ("error", "warning") if strict else ("error",)
    if any(f["severity"] in failing for f in everything):
        raise SystemExit(1)


def _list_rules(configured: Mapping[str, str]) -> None:
    """Every rule, its severity in this workspace (``off`` included) and what it finds."""
    from newsletter.pipeline.checks import RULES

    for rule in RULES.values():
        severity = configured.get(rule.id, rule.severity)
        click.echo(f"{rule.id:27} {severity:8} {rule.summary}")
