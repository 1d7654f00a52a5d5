"""``newsletter teasers add ISSUE URL...``: the "More from" row from article URLs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from newsletter.cli.options import open_workspace, workspace_option

F = TypeVar("F", bound=Callable[..., Any])


def _host(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    from newsletter.fetch.client import parse_host

    for value in values:
        try:
            parse_host(value)
        except ValueError as error:
            raise click.BadParameter(str(error), ctx, param) from None
    return values


def fetch_options(func: F) -> F:
    """``--allow-host HOST[:PORT]`` (repeatable) and ``--download``, for every command that
    reads article pages."""
    func = click.option(
        "--download", is_flag=True, help="Save each image under assets/ (checked, resized)."
    )(func)
    return click.option(
        "--allow-host",
        "allow_hosts",
        multiple=True,
        metavar="HOST[:PORT]",
        callback=_host,
        help="Let this host be fetched although it is private or loopback (repeatable).",
    )(func)


@click.group(
    "teasers",
    epilog="""\b
Examples:
  newsletter teasers add issues/2025-06-26-putin.yaml https://www.gzeromedia.com/news/a-story""",
)
def command() -> None:
    """Fill the "More from" row from article URLs."""


@command.command(
    "add",
    epilog="""\b
Examples:
  newsletter teasers add issues/2025-06-26-putin.yaml https://www.gzeromedia.com/news/a-story
  newsletter teasers add ISSUE URL1 URL2 URL3 --dry-run     # print the teasers, change nothing
  newsletter teasers add ISSUE URL --download               # images saved under assets/
  newsletter teasers add ISSUE http://cms.intranet:8080/x --allow-host cms.intranet:8080""",
)
@click.argument("issue", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("urls", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Print the new teasers as YAML; write nothing.")
@fetch_options
@workspace_option
def add(
    issue: Path,
    urls: tuple[str, ...],
    dry_run: bool,
    allow_hosts: tuple[str, ...],
    download: bool,
    workspace: Path | None,
) -> None:
    """Append a teaser to ISSUE for each URL, read from the page's metadata.

    Headline, summary, link and image come from the page's JSON-LD, Open Graph or Twitter
    card, each field marked '# from <url>'. A URL already in the issue is skipped; one that
    fails is reported on a line of its own and the others are still added. Exits 1 if any
    URL failed.
    """
    from newsletter.commands.teasers import add_teasers

    ws = open_workspace(workspace)
    report = add_teasers(
        ws, issue, urls, allow_hosts=allow_hosts, dry_run=dry_run, download=download
    )
    for kind, line in report.lines():
        click.echo(line, err=kind != "note" or dry_run)
    if dry_run:
        click.echo(report.added_yaml, nl=False)
    if not report.ok:
        raise click.exceptions.Exit(1)
