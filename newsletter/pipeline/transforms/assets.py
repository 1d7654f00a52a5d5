"""Local image paths (``assets/photo.jpg``) become absolute URLs under ``asset_base_url``.

Subscribers' mail clients can only load images from the web; the workspace's ``assets/`` folder
is published at ``asset_base_url`` and every relative ``src`` is linked there. Absolute URLs,
``data:`` URIs and merge-field tokens are left as they are. Each rewrite is recorded, with the
workspace file it shows, so that the exporters and checks never have to undo it.

Where the workspace's site is published at ``asset_base_url`` (``resized``), an image with a
width in pixels is linked at its copy of twice that width (sharp on a retina screen, and no
heavier), named by :func:`~newsletter.pipeline.transforms.sizes.sized`, the same function
that names the copies ``newsletter site`` makes; the rewrite records the copy's width, so the
site knows which copies the email links.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urljoin

from newsletter.model.artifact import ImageRewrite
from newsletter.model.issue import is_local_src
from newsletter.pipeline.transforms.sizes import Source, read_source, sized

__all__ = ["AssetsResult", "absolute_assets"]

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE | re.DOTALL)
_SRC = re.compile(r"""(\ssrc=)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_WIDTH = re.compile(r"""\swidth=(["']?)(\d+)\1""", re.IGNORECASE)


class AssetsResult(NamedTuple):
    html: str
    images: tuple[ImageRewrite, ...]


def absolute_assets(
    html: str, base_url: str, root: Path | None = None, *, resized: bool = False
) -> AssetsResult:
    """Rewrite relative ``<img src>`` values to ``base_url`` + path; ``root`` is the workspace
    the paths are relative to, recorded as each rewrite's file. With ``resized`` (and a
    ``root``), an image with a ``width`` is linked at its copy of twice that width.

    Raises :class:`~newsletter.errors.NewsletterError` for an image that ``resized`` cannot
    read (outside the workspace, or not readable as an image).
    """
    base = base_url if base_url.endswith("/") else base_url + "/"
    done: dict[str, ImageRewrite] = {}
    sources: dict[str, Source] = {}

    def rewrite_src(tag: str, match: re.Match[str]) -> str:
        src = match[3]
        if not is_local_src(src):
            return match[0]
        file, copy = src, None
        width = _WIDTH.search(tag)
        if resized and root is not None and width:
            if src not in sources:
                sources[src] = read_source(root, src)
            if sources[src].resizable:
                size = sized(sources[src], 2 * int(width[2]))
                file, copy = size.file, size.width
        url = urljoin(base, quote(file, safe="/%"))
        done.setdefault(url, ImageRewrite(src, url, root / src if root else None, copy))
        return f"{match[1]}{match[2]}{url}{match[2]}"

    def rewrite(tag: re.Match[str]) -> str:
        return _SRC.sub(lambda match: rewrite_src(tag[0], match), tag[0], count=1)

    out = _IMG.sub(rewrite, html)
    return AssetsResult(out if done else html, tuple(done.values()))
