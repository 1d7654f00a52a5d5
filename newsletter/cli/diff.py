"""``newsletter diff ISSUE``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from newsletter.cli.options import find_issue, open_workspace, workspace_option


@click.command(
    "diff",
    epilog="""\b
Examples:
  newsletter send putin --to me@example.com   # a test send keeps a snapshot
  newsletter diff putin                       # later: what changed since then
  newsletter diff putin --json | jq .links_changed""",
)
@click.argument("issue", type=click.Path(dir_okay=False, path_type=Path))
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON on stdout.")
def command(issue: Path, workspace: Path | None, as_json: bool) -> None:
    """Show what changed in ISSUE since its last test send: subject, preheader, links,
    images, and the plain text as a unified diff.

    Exits 0 whether or not anything changed; 1 when the issue has no test send yet or does
    not build.
    """
    from newsletter.commands.diff import diff_issue
    from newsletter.errors import styled

    ws = open_workspace(workspace)
    report = diff_issue(ws, find_issue(ws, issue))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"{report.source}: changes since the test send of {report.sent_at}")
    if not report.changed:
        click.echo(styled("nothing changed", "ok"))
        return
    for name, pair in (("subject", report.subject), ("preheader", report.preheader)):
        if pair:
            click.echo(f"{name}:\n  - {pair[0]}\n  + {pair[1]}")
    for text, href in report.links_added:
        click.echo(f"link added: {text or '(no text)'} -> {href}")
    for text, href in report.links_removed:
        click.echo(f"link removed: {text or '(no text)'} -> {href}")
    for text, before, now in report.links_changed:
        click.echo(f"link changed: {text}\n  - {before}\n  + {now}")
    for src in report.images_added:
        click.echo(f"image added: {src}")
    for src in report.images_removed:
        click.echo(f"image removed: {src}")
    if report.text_diff:
        click.echo("plain text:")
        for line in report.text_diff:
            kind = "ok" if line.startswith("+") else "error" if line.startswith("-") else None
            click.echo(styled(line, kind) if kind and not line.startswith(("+++", "---")) else line)
