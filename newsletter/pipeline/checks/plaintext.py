"""The plain-text part: present, free of markup, and carrying every link the HTML has."""

from __future__ import annotations

import re
from collections.abc import Iterator

from newsletter.pipeline.checks.context import Context, Hit

__all__ = ["markup", "missing", "missing_links"]

# Compiled for a text that holds the character each starts with, which most never do.
_TAG = r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>"
_ENTITY = r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);"


def _line(text: str, index: int) -> str:
    return f"email.txt:{text.count(chr(10), 0, index) + 1}"


def missing(ctx: Context) -> Iterator[Hit]:
    """No plain-text part: some clients and many filters expect one."""
    if not ctx.email.text.strip():
        yield Hit(
            "the plain-text part is empty: keep email.txt.j2 in the theme; spam filters and "
            "text-only readers need it",
            "email.txt",
        )


def markup(ctx: Context) -> Iterator[Hit]:
    """HTML tags or entities in the plain text: readers see them as written."""
    text = ctx.email.text
    for pattern, what in ((_TAG, "an HTML tag"), (_ENTITY, "an HTML entity")):
        match = re.search(pattern, text) if pattern[0] in text else None
        if match:
            found = match[0]
            location = next(
                (ctx.at_field(*loc, needle=found) for loc, v in ctx.issue_strings if found in v),
                _line(text, match.start()),
            )
            yield Hit(
                f"the plain text holds {what}, {found[:40]!r}, that readers see as written: "
                "write plain words (Markdown for emphasis and links)",
                location,
            )


def missing_links(ctx: Context) -> Iterator[Hit]:
    """Links of the issue that the HTML has and the plain text leaves out."""
    text = ctx.email.text
    if not text.strip():
        return
    seen: set[str] = set()
    for link in ctx.links:
        field = ctx.content_field(link.href)
        url = ctx.without_utm(link.href)
        if field is None or url in seen or url in text:
            continue
        seen.add(url)
        yield Hit(
            f"the plain text leaves out the link to {url}: text-only readers cannot follow it",
            ctx.at_field(*field, needle=url),
        )
