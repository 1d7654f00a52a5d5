"""How a static host should serve each file of the site: its content type and cache policy.

The resized images carry a hash of their bytes in their names, so they never change: a
browser or CDN may keep them for a year without asking again (``immutable``). Everything else
(pages, feeds, the sitemap, the original images the emails link to) keeps its name when its
content changes, so it is cached for a few minutes only.
"""

from __future__ import annotations

import mimetypes

from newsletter.pipeline.transforms.sizes import HASHED

__all__ = ["IMMUTABLE", "SHORT", "cache_control", "content_type", "upload_order"]

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}
_FEEDS = {"feed.xml": "application/atom+xml", "feed.json": "application/feed+json"}


def content_type(path: str) -> str:
    """The ``Content-Type`` of a file of the site."""
    if path in _FEEDS:
        return _FEEDS[path]
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return _TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def cache_control(path: str) -> str:
    """The ``Cache-Control`` of a file of the site."""
    return IMMUTABLE if HASHED.search(path) else SHORT


def upload_order(path: str) -> tuple[int, str]:
    """Images first, then the issue pages, then what links to them (the archive, the feeds and
    the sitemap), so that no published page ever links to a file not yet there."""
    if not path.endswith((".html", ".xml", ".json")):
        return (0, path)
    if path in ("index.html", "sitemap.xml", *_FEEDS) or path.startswith("page/"):
        return (2, path)
    return (1, path)
