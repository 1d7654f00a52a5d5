"""Images: a text alternative that says something, secure sources, local files light enough to
send, and a pixel width (Outlook for Windows shows an image without one at its natural size)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from newsletter.errors import NewsletterError
from newsletter.model.issue import Image, is_local_src
from newsletter.model.validation import Loc
from newsletter.pipeline.checks.context import Context, Hit, attribute
from newsletter.pipeline.transforms.sizes import encode, read_source, sized

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

__all__ = [
    "alt_caption",
    "alt_filename",
    "alt_missing",
    "heavy",
    "insecure",
    "issue_images",
    "no_width",
    "relative",
]

#: Alt texts that only say "there is an image here".
GENERIC_ALT = frozenset(
    {"image", "img", "photo", "picture", "pic", "graphic", "photograph", "banner", "untitled"}
)
_FILE_NAME = re.compile(r"^\S+\.(jpe?g|png|gif|webp|svg|avif|bmp|tiff?|heic)$", re.IGNORECASE)


def issue_images(ctx: Context) -> Iterator[tuple[Loc, Image]]:
    """Every image the issue file names, with its field path (for a finding's place)."""
    if ctx.issue.lead.image:
        yield ("lead", "image"), ctx.issue.lead.image
    for index, teaser in enumerate(ctx.issue.teasers):
        if teaser.image:
            yield ("teasers", index, "image"), teaser.image


def _where(ctx: Context, img: LexborNode, field: str) -> str:
    """The issue field of the image an ``<img>`` shows, else its line in email.html."""
    src = ctx.artifact.rewrites.original_image(attribute(img, "src") or "")
    for loc, image in issue_images(ctx):
        if src == image.src:
            return ctx.at_field(*loc, field)
    return ctx.at_line(img)


def _name(img: LexborNode) -> str:
    return PurePosixPath(attribute(img, "src") or "").name or "(no src)"


def alt_missing(ctx: Context) -> Iterator[Hit]:
    """An ``<img>`` with no ``alt`` at all: screen readers read out its file name."""
    for img in ctx.images:
        if attribute(img, "alt") is None:
            yield Hit(
                f"image {_name(img)} has no alt attribute: describe what it shows "
                '(alt="" if it is decoration)',
                _where(ctx, img, "alt"),
            )


def alt_filename(ctx: Context) -> Iterator[Hit]:
    """An alt text that is a file name or a word like "image": it tells a reader nothing."""
    for img in ctx.images:
        alt = (attribute(img, "alt") or "").strip()
        if _FILE_NAME.match(alt) or alt.lower().strip(".") in GENERIC_ALT:
            yield Hit(
                f"image {_name(img)} has alt text {alt!r}: say what the image shows",
                _where(ctx, img, "alt"),
            )


def insecure(ctx: Context) -> Iterator[Hit]:
    """``http://`` image sources: blocked or shown as broken by clients that load over https."""
    seen: set[str] = set()
    for img in ctx.images:
        src = attribute(img, "src") or ""
        if src.lower().startswith("http://") and src not in seen:
            seen.add(src)
            yield Hit(f"image {src} is not secure: use an https:// URL", _where(ctx, img, "src"))


def heavy(ctx: Context) -> Iterator[Hit]:
    """Local images heavier than ``[check] image_max_kb``: slow on phones, costly to send.

    Where the email links a resized copy (a workspace with a site), the copy is what a
    subscriber loads, so the copy is weighed: made in memory, only for an original over the
    limit."""
    limit = ctx.settings.image_max_kb * 1024
    for loc, image in issue_images(ctx):
        if not is_local_src(image.src):
            continue
        try:
            size = (ctx.workspace.root / image.src).stat().st_size
            widths = {r.width for r in ctx.artifact.rewrites.images if r.original == image.src}
            if size > limit and widths and None not in widths:
                source = read_source(ctx.workspace.root, image.src)
                size = max(len(encode(source, sized(source, w))) for w in widths if w)
        except (OSError, NewsletterError):
            continue
        if size > limit:
            yield Hit(
                f"image {image.src} weighs {size / 1024:,.0f} KB (limit "
                f"{ctx.settings.image_max_kb:g} KB): resize it to at most 1200 px wide and "
                "compress it",
                ctx.at_field(*loc, "src"),
            )


def no_width(ctx: Context) -> Iterator[Hit]:
    """An ``<img>`` without a width in pixels: Outlook for Windows ignores CSS and percentage
    widths and shows the image at its natural size, breaking the layout."""
    for img in ctx.images:
        given = attribute(img, "width")
        width = (given or "").strip().removesuffix("px")
        if not width.isdigit():
            got = f'width="{given}"' if given is not None else "no width"
            yield Hit(
                f'image {_name(img)} has {got}: give it a width in pixels (width="600") '
                "so that Outlook for Windows does not show it at full size",
                _where(ctx, img, "width"),
            )


def relative(ctx: Context) -> Iterator[Hit]:
    """Images linked as paths on this computer (``assets/x.jpg``): no inbox can load them, so
    an export or a send with one is refused."""
    seen: set[str] = set()
    published = bool(ctx.workspace.settings.newsletter.asset_base_url)
    for img in ctx.images:
        src = attribute(img, "src") or ""
        # A src the assets stage rewrote counts as published only under the configured URL:
        # the preview links images to itself, which no inbox can reach either.
        rewritten = ctx.artifact.rewrites.original_image(src) != src
        if (
            (rewritten and not published) or (not rewritten and is_local_src(src))
        ) and src not in seen:
            seen.add(src)
            shown = ctx.artifact.rewrites.original_image(src)
            yield Hit(
                f"image {shown} is a path on this computer, which no inbox can load: set "
                "[newsletter] asset_base_url to the URL assets/ is published under",
                _where(ctx, img, "src"),
            )


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def alt_caption(ctx: Context) -> Iterator[Hit]:
    """An image whose alt text repeats its caption: a screen reader reads the same words twice
    in a row."""
    for loc, image in issue_images(ctx):
        if image.caption and image.alt and _words(image.alt) == _words(image.caption):
            yield Hit(
                "the alt text repeats the caption, so screen readers hear it twice: say what "
                'the photo shows in alt (or write alt: "" and let the caption speak)',
                ctx.at_field(*loc, "alt"),
            )
