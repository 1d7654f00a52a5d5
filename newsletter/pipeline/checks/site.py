"""Links that stay honest: for a published workspace, the email's images and its "View in
browser" link must be files of the site that was published.

A workspace is published once ``newsletter site`` or ``newsletter publish`` has written
``out/_site/``; before that there is nothing to compare with and these rules find nothing.
After it, an image the email links under ``asset_base_url`` that the site lacks (or holds in
an older version), or an issue whose page is not in the site (a draft, dated after today, or
the site not rebuilt since the issue was written), would show subscribers a broken image or a
404: run ``newsletter publish`` again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from newsletter.errors import NewsletterError
from newsletter.model.issue import is_local_src
from newsletter.model.site import SITE_FOLDER, SiteUrls, site_urls
from newsletter.pipeline.checks.context import Context, Hit
from newsletter.pipeline.checks.images import issue_images

__all__ = ["asset_missing", "page_missing"]


def _published(ctx: Context) -> tuple[Path, SiteUrls] | None:
    folder = ctx.workspace.out_dir / SITE_FOLDER
    if not folder.is_dir():
        return None
    try:
        return folder, site_urls(ctx.workspace.settings)
    except NewsletterError:
        return None  # `newsletter site` itself says what is wrong with the settings


def asset_missing(ctx: Context) -> Iterator[Hit]:
    """Local images the email links under ``asset_base_url`` that the published site (in
    ``out/_site/``) does not have, or has in an older version.

    A resized copy's name says what it is made from, so a copy of an image changed since the
    site was made has a name the site does not have; an original is compared byte for byte."""
    published = _published(ctx)
    if published is None:
        return
    folder, urls = published
    seen: set[str] = set()
    for loc, image in issue_images(ctx):
        if not is_local_src(image.src):
            continue
        for rewrite in ctx.artifact.rewrites.images:
            final = rewrite.final
            if rewrite.original != image.src or final in seen or not urls.contains(final):
                continue  # not linked to the site at all: link-local and the build's warning say so
            seen.add(final)
            copy = folder / unquote(final.removeprefix(urls.base))
            if not copy.is_file():
                yield Hit(
                    f"image {image.src} is linked as {final}, which the published site does "
                    "not have: run newsletter publish (or newsletter site) before sending",
                    ctx.at_field(*loc, "src"),
                )
            elif (
                rewrite.width is None
                and copy.read_bytes() != (ctx.workspace.root / image.src).read_bytes()
            ):
                yield Hit(
                    f"image {image.src} has changed since the site was published ({final} "
                    "shows the old one): run newsletter publish before sending",
                    ctx.at_field(*loc, "src"),
                )


def page_missing(ctx: Context) -> Iterator[Hit]:
    """An issue whose ``web_version_url`` is not a page of the published site: its "View in
    browser" link would lead to a page that does not exist."""
    published = _published(ctx)
    if published is None:
        return
    folder, urls = published
    if not (folder / urls.page_file(ctx.issue.slug)).is_file():
        reason = (
            "it is a draft"
            if ctx.issue.draft
            else "run newsletter publish (or newsletter site) before sending"
        )
        yield Hit(
            f"the email's View in browser link ({urls.page_url(ctx.issue.slug)}) is not a page "
            f"of the published site: {reason}",
            ctx.at_field(),
        )
