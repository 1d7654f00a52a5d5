"""``newsletter export ISSUE --esp NAME`` / ``--all``."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli.options import open_workspace, workspace_option

_ESPS = ("mailchimp", "sendgrid", "mailgun", "postmark", "ses", "eml")  # exporters.ESPS


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
@click.argument("issue", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--esp",
    "esps",
    multiple=True,
    type=click.Choice(_ESPS),
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
    import datetime as dt

    from newsletter.commands.build import build_issue, write_atomically
    from newsletter.errors import NewsletterError, ProblemsError
    from newsletter.targets.esp import ESPS, ExportContext, export

    if not esps and not all_esps:
        raise click.UsageError("say which ESP: --esp NAME (or --all)")
    chosen = ESPS if all_esps else tuple(dict.fromkeys(esps))
    ws = open_workspace(workspace)
    now = dt.datetime.now(dt.UTC)
    result = build_issue(issue, ws, now=now)
    if result.email is None:
        raise ProblemsError(result.problems)
    context = ExportContext(ws.settings, ws.root, now)
    exports: dict[str, dict[str, bytes]] = {}
    errors: list[str] = []
    for esp in chosen:
        try:
            exports[esp] = export(esp, result.email, context)
        except NewsletterError as error:
            errors.append(f"{ws.display(issue)}: {error.format_message()}")
    if errors:
        raise NewsletterError("\n".join(errors))
    for esp, files in exports.items():
        folder = ws.out_dir / result.slug / "export" / esp
        write_atomically(folder, files)
        names = ", ".join(f"{name} ({len(data) / 1024:.1f} KB)" for name, data in files.items())
        click.echo(f"exported {ws.display(folder)}/  {names}")
