"""``newsletter new SLUG``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from newsletter.cli.options import open_workspace, workspace_option
from newsletter.cli.teasers import fetch_options


@click.command(
    "new",
    epilog="""\b
Examples:
  newsletter new putin-poaches-the-neighbors
  newsletter new nato-summit --date 2025-06-27
  newsletter new nato-summit --lead https://www.gzeromedia.com/news/a-story""",
)
@click.argument("slug")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The issue's date, YYYY-MM-DD (default: today).",
)
@click.option("--lead", "lead_url", metavar="URL", help="Fill the lead from this article's page.")
@fetch_options
@workspace_option
def command(
    slug: str,
    day: dt.datetime | None,
    lead_url: str | None,
    allow_hosts: tuple[str, ...],
    download: bool,
    workspace: Path | None,
) -> None:
    """Write issues/<date>-SLUG.yaml, an issue skeleton that builds as it is.

    An existing file is never overwritten. With --lead, the lead's headline, kicker, byline,
    link, image and first paragraph come from the article's metadata.
    """
    from newsletter.commands.scaffold import create_issue

    ws = open_workspace(workspace)
    date = day.date() if day else dt.date.today()
    if lead_url:
        from newsletter.commands.teasers import new_issue_from_url

        report = new_issue_from_url(
            ws, slug, date, lead_url, allow_hosts=allow_hosts, download=download
        )
        for warning in report.warnings:
            click.echo(f"warning: {report.url}: {warning}", err=True)
        for image in report.images:
            click.echo(f"saved {image}")
        click.echo(f"wrote {report.issue} (lead: {report.headline})")
        return
    path = create_issue(ws.issues_dir, slug, date, brand=ws.settings.newsletter.brand)
    click.echo(f"wrote {ws.display(path)}")
