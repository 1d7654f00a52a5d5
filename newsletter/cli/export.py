"""``newsletter export ISSUE --esp NAME`` / ``--all``."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli.options import find_issue, open_workspace, workspace_option

#: The ESPs ``--esp`` takes; the test suite checks it against the exporters' registry, which
#: is not imported here so that ``--help`` stays fast.
ESP_NAMES = ("mailchimp", "sendgrid", "mailgun", "postmark", "ses", "eml")


@click.command(
    "export",
    epilog="""\b
Examples:
  newsletter export issues/2025-06-26-putin-poaches-the-neighbors.yaml --esp mailchimp
  newsletter export issues/2025-06-26-putin-poaches-the-neighbors.yaml --all

\b
Writes out/<slug>/export/<esp>/:
  mailchimp  template.html, template.zip (HTML + images), campaign.json
  sendgrid   template-version.json
  mailgun    template.json, template.txt
  postmark   template.json
  ses        template.json (CreateEmailTemplate)
  eml        message.eml (the sample subscriber's message)
README.md ("Exporting to your ESP") says where each file goes.""",
)
@click.argument("issue", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--esp",
    "esps",
    multiple=True,
    type=click.Choice(ESP_NAMES),
    help="The ESP to export for; may be given several times.",
)
@click.option("--all", "all_esps", is_flag=True, help="Export for every ESP.")
@workspace_option
def command(issue: Path, esps: tuple[str, ...], all_esps: bool, workspace: Path | None) -> None:
    """Export ISSUE as each ESP takes it, merge fields in the ESP's own tags.

    Every export for the ESPs asked for is made first; files are written only when all of
    them succeed, each atomically. Exits 1 when the issue has a problem or an ESP cannot
    take it (a merge field it has no tag for, a size over its limit).
    """
    from newsletter.commands.export import ESPS, export_issue

    if not esps and not all_esps:
        raise click.UsageError("say which ESP: --esp NAME (or --all)")
    ws = open_workspace(workspace)
    issue = find_issue(ws, issue)
    chosen = ESPS if all_esps else tuple(dict.fromkeys(esps))
    for done in export_issue(ws, issue, chosen):
        names = ", ".join(f"{name} ({size / 1024:.1f} KB)" for name, size in done.sizes.items())
        click.echo(f"exported {ws.display(done.folder)}/  {names}")
