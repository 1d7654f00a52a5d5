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
  newsletter diff putin --json | jq .links_changed
  newsletter diff putin --html changes.html   # both emails side by side, changes marked""",
)
@click.argument("issue", type=click.Path(dir_okay=False, path_type=Path))
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON on stdout.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write a page with the email as sent and as it is now, side by side at 600 px, "
    "the changed regions highlighted (the preview's Diff tab shows the same).",
)
def command(issue: Path, workspace: Path | None, as_json: bool, html_file: Path | None) -> None:
    """Show what changed in ISSUE since its last test send: subject, preheader, links,
    images, and the plain text as a unified diff.

    Exits 0 whether or not anything changed; 1 when the issue has no test send yet or does
    not build.
    """
    from newsletter.commands.diff import diff_issue, side_by_side
    from newsletter.commands.output import replace_file
    from newsletter.errors import NewsletterError, styled

    ws = open_workspace(workspace)
    report = diff_issue(ws, find_issue(ws, issue))
    if html_file is not None:
        if not report.visual[0]:
            raise NewsletterError(
                f"{report.source}: the last test send kept no copy of the email to compare "
                "with (it predates the visual diff); send a new test first"
            )
        try:
            replace_file(html_file, side_by_side(report).encode())
        except OSError as error:
            raise NewsletterError(f"{html_file}: cannot write: {error.strerror}") from None
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
    if report.visual[0]:
        where = f" (see {html_file})" if html_file else " (--html FILE shows them)"
        click.echo(f"rendered email: {report.regions} region(s) changed{where}")
    if report.text_diff:
        click.echo("plain text:")
        for line in report.text_diff:
            kind = "ok" if line.startswith("+") else "error" if line.startswith("-") else None
            click.echo(styled(line, kind) if kind and not line.startswith(("+++", "---")) else line)
