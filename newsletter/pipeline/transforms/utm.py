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
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsletter.model.artifact import LinkRewrite

__all__ = ["UtmResult", "add_utm", "with_params"]

#: A slot's mark, found by its literal text (a pattern that starts with a word boundary or
#: ignores case is scanned a character at a time: 20x slower over a whole email); whether it
#: is a word in a ``class`` attribute is asked of the few it finds.
_MARK = re.compile(r"nl-slot-(?P<slot>[a-z]+(?:-\d+)?)\b")
_IN_CLASS = re.compile(r"""\bclass=["'][^"']*$""", re.IGNORECASE)
_LINK = re.compile(
    r"""(?P<head><a\b[^>]*?\bhref=)(?P<q>["'])(?P<href>.*?)(?P=q)""", re.IGNORECASE | re.DOTALL
)


def _marks(html: str) -> Iterator[tuple[int, str]]:
    """Where each slot opens, and its name: a ``nl-slot-*`` word in a tag's class."""
    for match in _MARK.finditer(html):
        start = match.start()
        if start and (html[start - 1].isalnum() or html[start - 1] in "_-"):
            continue
        if _IN_CLASS.search(html, html.rfind("<", 0, start) + 1, start):
            yield start, match["slot"]


class UtmResult(NamedTuple):
    html: str
    links: tuple[LinkRewrite, ...]


def with_params(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query, unless it already has them."""
    parts = urlsplit(url)
    existing = parse_qsl(parts.query, keep_blank_values=True)
    have = {key for key, _ in existing}
    extra = "&".join(
        _pair(key, value) for key, value in params.items() if key not in have and value
    )
    if not extra:
        return url
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


@lru_cache(maxsize=256)
def _pair(key: str, value: str) -> str:
    """``key=value`` as :func:`urllib.parse.urlencode` writes it: made once for the links
    of every issue, which all carry the same source, medium and slots."""
    return urlencode([(key, value)])


def add_utm(html: str, params: Mapping[str, str]) -> UtmResult:
    """Add ``params`` to every absolute http(s) link, plus ``utm_content`` = the link's slot."""
    if not params:
        return UtmResult(html, ())
    found = list(_LINK.finditer(html))
    starts = [match.start() for match in found]
    # a mark inside a link's own tag, before its href, is not a slot opening
    marks = [
        (at, slot)
        for at, slot in _marks(html)
        if not (i := bisect_right(starts, at)) or at >= found[i - 1].end()
    ]
    links: list[LinkRewrite] = []
    pieces: list[str] = []
    done = 0  # how much of ``html`` is in ``pieces``
    for match in found:
        opened = bisect_left(marks, (match.start(), ""))
        slot = marks[opened - 1][1] if opened else ""
        href = htmllib.unescape(match["href"])
        if urlsplit(href).scheme not in ("http", "https"):
            continue
        wanted = {**params, "utm_content": slot} if slot else dict(params)
        new = with_params(href, wanted)
        if new == href:
            continue
        links.append(LinkRewrite(href, new, slot))
        pieces += (html[done : match.start("href")], htmllib.escape(new))
        done = match.end("href")
    if not links:
        return UtmResult(html, ())
    pieces.append(html[done:])
    return UtmResult("".join(pieces), tuple(links))
