"""``newsletter new SLUG``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from newsletter.cli.options import open_workspace, workspace_option


@click.command(
    "new",
    epilog="""\b
Examples:
  newsletter new putin-poaches-the-neighbors
  newsletter new nato-summit --date 2025-06-27""",
)
@click.argument("slug")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The issue's date, YYYY-MM-DD (default: today).",
)
@workspace_option
def command(slug: str, day: dt.datetime | None, workspace: Path | None) -> None:
    """Write issues/<date>-SLUG.yaml, an issue skeleton that builds as it is.

    An existing file is never overwritten.
    """
    from newsletter.commands.scaffold import create_issue

    ws = open_workspace(workspace)
    date = day.date() if day else dt.date.today()
    path = create_issue(ws.issues_dir, slug, date, brand=ws.settings.newsletter.brand)
    click.echo(f"wrote {ws.display(path)}")
