"""Local image paths (``assets/photo.jpg``) become absolute URLs under ``asset_base_url``.

Subscribers' mail clients can only load images from the web; the workspace's ``assets/`` folder
is published at ``asset_base_url`` and every relative ``src`` is linked there. Absolute URLs,
``data:`` URIs and merge-field tokens are left as they are. Each rewrite is recorded, with the
workspace file it shows, so that the exporters and checks never have to undo it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urljoin

from newsletter.model.artifact import ImageRewrite
from newsletter.model.issue import is_local_src

__all__ = ["AssetsResult", "absolute_assets"]

_SRC = re.compile(r"""(<img\b[^>]*?\bsrc=)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


class AssetsResult(NamedTuple):
    html: str
    images: tuple[ImageRewrite, ...]


def absolute_assets(html: str, base_url: str, root: Path | None = None) -> AssetsResult:
    """Rewrite relative ``<img src>`` values to ``base_url`` + path; ``root`` is the workspace
    the paths are relative to, recorded as each rewrite's file."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    done: dict[str, ImageRewrite] = {}

    def rewrite(match: re.Match[str]) -> str:
        src = match[3]
        if not is_local_src(src):
            return match[0]
        url = urljoin(base, quote(src, safe="/%"))
        done.setdefault(src, ImageRewrite(src, url, root / src if root else None))
        return f"{match[1]}{match[2]}{url}{match[2]}"

    out = _SRC.sub(rewrite, html)
    return AssetsResult(out if done else html, tuple(done.values()))
