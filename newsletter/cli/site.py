"""``newsletter site [--out DIR] [--drafts]``."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli.options import open_workspace, workspace_option


@click.command(
    "site",
    epilog="""\b
Examples:
  newsletter site                      # out/_site/: every published issue
  newsletter site --drafts             # drafts and future issues too, to look at
  newsletter site --out public/        # where a static host picks it up
  python -m http.server -d out/_site   # then open http://127.0.0.1:8000/

\b
Writes one page per issue at the path web_version_url names, index.html (the
archive, newest first, paginated), feed.xml (Atom), feed.json (JSON Feed),
sitemap.xml, and the issues' images with their resized sizes. The folder is
replaced whole: a problem anywhere writes nothing. Only what changed since the
last site is made again (out/.site-cache.pickle).""",
)
@workspace_option
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The folder to write the site into (default: out/_site/ of the workspace).",
)
@click.option(
    "--drafts",
    is_flag=True,
    help="Include issues marked draft: true and issues dated after today.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to build on (default: every core when there are many issues to make).",
)
def command(workspace: Path | None, out: Path | None, drafts: bool, jobs: int | None) -> None:
    """Build the web archive: a page per issue, the archive index, feeds and sitemap.

    Exits 0 when the site was written, 1 when an issue or a setting has a problem (each on
    a line that names the file and the field).
    """
    from newsletter.commands.site import build_site

    ws = open_workspace(workspace)
    report = build_site(ws, out=out.resolve() if out else None, drafts=drafts, jobs=jobs)
    total = sum(report.sizes.values())
    click.echo(
        f"built {ws.display(report.folder)}/  {len(report.pages)} issue page(s), "
        f"{len(report.sizes)} files, {total / 1024:.0f} KB, for {report.base_url}"
        f" ({report.rendered} page(s) made anew)"
    )
    for name, reason in report.left_out.items():
        click.echo(f"  left out {name}: {reason} (--drafts includes it)")
