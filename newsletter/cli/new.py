"""``newsletter new SLUG``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from newsletter.cli.options import open_workspace, workspace_option
from newsletter.cli.teasers import fetch_options


class _Date(click.ParamType[dt.date]):
    """``YYYY-MM-DD``, refused in the words an issue file's date gets."""

    name = "date"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        from newsletter.model.validation import parse_date

        if isinstance(value, dt.date):
            return value
        try:
            return parse_date(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


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
    type=_Date(),
    default=None,
    help="The issue's date, YYYY-MM-DD (default: today).",
)
@click.option("--lead", "lead_url", metavar="URL", help="Fill the lead from this article's page.")
@fetch_options
@workspace_option
def command(
    slug: str,
    day: dt.date | None,
    lead_url: str | None,
    allow_hosts: tuple[str, ...],
    download: bool,
    workspace: Path | None,
) -> None:
    """Write issues/<date>-SLUG.yaml, an issue skeleton that builds as it is.

    SLUG may be a title ("My Story!"): it is made a slug (my-story) and becomes the headline.
    An existing file is never overwritten. With --lead, the lead's headline, kicker, byline,
    link, image and first paragraph come from the article's metadata.
    """
    from newsletter.commands.scaffold import create_issue, slugify

    ws = open_workspace(workspace)
    made = slugify(slug)
    if not made:
        raise click.BadParameter(f"{slug!r} has no letters or digits to make a slug of")
    headline = slug.strip() if made != slug else None
    date = day or dt.date.today()
    if lead_url:
        from newsletter.commands.teasers import new_issue_from_url

        report = new_issue_from_url(
            ws, made, date, lead_url, allow_hosts=allow_hosts, download=download
        )
        for warning in report.warnings:
            click.echo(f"warning: {report.url}: {warning}", err=True)
        for image in report.images:
            click.echo(f"saved {image}")
        click.echo(f"wrote {report.issue} (lead: {report.headline})")
        return
    path = create_issue(
        ws.issues_dir, made, date, brand=ws.settings.newsletter.brand, headline=headline
    )
    click.echo(
        f"wrote {ws.display(path)}" + (f" (slug {made!r} from {slug!r})" if headline else "")
    )
    click.echo(f"next: write the story in it, and watch it with: newsletter preview {made} --open")
