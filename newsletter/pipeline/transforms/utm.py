"""Campaign parameters on content links, with ``utm_content`` naming the slot of each link.

The theme marks its slots with CSS classes (``nl-slot-lead``, ``nl-slot-teaser-1`` ...
``nl-slot-footer``); slots follow each other in the document, so a link belongs to the last
slot opened before it. Only absolute http(s) links are touched; a parameter the link already
has is never overridden, and other query parameters and the fragment are kept. Every link
changed is recorded with its URL before and after and its slot, for the checks.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsletter.model.artifact import LinkRewrite

__all__ = ["UtmResult", "add_utm", "with_params"]

_MARK_OR_LINK = re.compile(
    r"""class=["'][^"']*\bnl-slot-(?P<slot>[a-z]+(?:-\d+)?)\b"""
    r"""|(?P<head><a\b[^>]*?\bhref=)(?P<q>["'])(?P<href>.*?)(?P=q)""",
    re.IGNORECASE | re.DOTALL,
)


class UtmResult(NamedTuple):
    html: str
    links: tuple[LinkRewrite, ...]


def with_params(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query, unless it already has them."""
    parts = urlsplit(url)
    existing = parse_qsl(parts.query, keep_blank_values=True)
    have = {key for key, _ in existing}
    extra = [(key, value) for key, value in params.items() if key not in have and value]
    if not extra:
        return url
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit(parts._replace(query=query))


def add_utm(html: str, params: Mapping[str, str]) -> UtmResult:
    """Add ``params`` to every absolute http(s) link, plus ``utm_content`` = the link's slot."""
    if not params:
        return UtmResult(html, ())
    slot = ""
    links: list[LinkRewrite] = []

    def visit(match: re.Match[str]) -> str:
        nonlocal slot
        if match["slot"]:
            slot = match["slot"]
            return match[0]
        href = htmllib.unescape(match["href"])
        if urlsplit(href).scheme not in ("http", "https"):
            return match[0]
        wanted = {**params, "utm_content": slot} if slot else dict(params)
        new = with_params(href, wanted)
        if new == href:
            return match[0]
        links.append(LinkRewrite(href, new, slot))
        return f"{match['head']}{match['q']}{htmllib.escape(new)}{match['q']}"

    out = _MARK_OR_LINK.sub(visit, html)
    return UtmResult(out if links else html, tuple(links))
