"""Local image paths (``assets/photo.jpg``) become absolute URLs under ``asset_base_url``.

Subscribers' mail clients can only load images from the web; the workspace's ``assets/`` folder
is published at ``asset_base_url`` and every relative ``src`` is linked there. Absolute URLs,
``data:`` URIs and merge-field tokens are left as they are.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit

__all__ = ["absolute_assets"]

_SRC = re.compile(r"""(<img\b[^>]*?\bsrc=)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def absolute_assets(html: str, base_url: str) -> str:
    """Rewrite relative ``<img src>`` values to ``base_url`` + path."""
    base = base_url if base_url.endswith("/") else base_url + "/"

    def rewrite(match: re.Match[str]) -> str:
        src = match[3]
        if urlsplit(src).scheme or src.startswith(("//", "%%", "#")) or not src:
            return match[0]
        return f"{match[1]}{match[2]}{urljoin(base, quote(src, safe='/%'))}{match[2]}"

    return _SRC.sub(rewrite, html)
