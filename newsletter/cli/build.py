"""``newsletter build [ISSUE...]``."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from newsletter.cli.options import (
    echo_warnings,
    issue_paths,
    issues_argument,
    open_workspace,
    workspace_option,
)

if TYPE_CHECKING:
    from newsletter.commands.build import Built
    from newsletter.model.workspace import Workspace


@click.command(
    "build",
    epilog="""\b
Examples:
  newsletter build                         # every issue in issues/
  newsletter build issues/2025-06-26-putin-poaches-the-neighbors.yaml
  newsletter build --check                 # and count each issue's findings
  newsletter build --json > build.json

\b
Writes out/<slug>/: email.html (inlined, for any ESP), email.txt (plain text),
email.mjml (for theme debugging), message.eml (a complete message to the sample
subscriber) and meta.json (sizes, timings; the findings with --check).""",
)
@issues_argument
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON on stdout.")
@click.option(
    "--force", is_flag=True, help="Build every issue, even those unchanged since their last build."
)
@click.option(
    "--check",
    is_flag=True,
    help="Run the checks too: a count per issue, the findings in meta.json (newsletter check "
    "lists them).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to build on (default: every core when there are 4 or more issues).",
)
def command(
    issues: tuple[Path, ...],
    workspace: Path | None,
    as_json: bool,
    force: bool,
    check: bool,
    jobs: int | None,
) -> None:
    """Build issues into out/<slug>/. Without ISSUE, builds every issue in issues/.

    A failed build writes nothing and leaves the previous output as it was. Exits 0 when
    every issue was built, 1 when any had a problem.
    """
    from newsletter.commands.build import build
    from newsletter.errors import ProblemsError

    ws = open_workspace(workspace)
    # Each issue's lines as soon as it is written: a build of many issues shows its progress.
    shown = None if as_json else partial(_report, ws)
    paths = issue_paths(ws, issues)
    report = build(ws, paths, jobs=jobs, force=force, check=check, on_built=shown)
    if as_json:
        summary = [
            {"ok": True, "out": ws.display(b.folder), **b.meta(), "warnings": [*b.warnings]}
            for b in report.built
        ]
        summary += [
            {"ok": True, "out": ws.display(f), "slug": f.name, "unchanged": True}
            for f in report.unchanged
        ]
        summary += [
            {"ok": False, "source": name, "problems": [*map(str, problems)]}
            for name, problems in report.failed.items()
        ]
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        if report.unchanged:
            names = ", ".join(f"{ws.display(f)}/" for f in report.unchanged[:3])
            more = f" and {len(report.unchanged) - 3} more" if len(report.unchanged) > 3 else ""
            click.echo(f"unchanged: {names}{more} (--force builds them again)")
        if report.built and not report.problems:
            first = report.built[0].display
            click.echo(
                f"next: newsletter check {first}, then a test send: "
                f"newsletter send {first} --to you@example.com"
            )
    if report.problems:
        raise ProblemsError(report.problems)


def _report(ws: Workspace, built: Built) -> None:
    from newsletter.model.findings import summary

    folder = ws.display(built.folder)
    sizes = built.sizes
    clip = f"{sizes['email.html'] / 1024:.1f} KB of Gmail's {ws.settings.check.clip_kb:g} KB"
    click.echo(
        f"built {folder}/  html {clip}, text {sizes['email.txt'] / 1024:.1f} KB, "
        f"{built.total_ms:.0f} ms"
    )
    echo_warnings(built.warnings)
    if built.checked:
        details = " (run newsletter check for details)" if built.severities else ""
        click.echo(f"  {summary(built.severities)}{details}")
