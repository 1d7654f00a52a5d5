"""Syntax that should have been replaced before anyone sees it: Jinja/Handlebars tags, MJML
tags, other ESPs' merge tags, and malformed merge fields."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator

from newsletter.model import mergefields
from newsletter.pipeline.checks.context import Context, Hit

__all__ = ["merge_fields", "template_syntax"]

# Compiled for the rare email that may hold one (see _may_hold_syntax).
_TEMPLATE = r"(?s)\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|</?mj-[a-z-]+\b[^>]*>|\*\|[A-Z0-9_:]+\|\*"
_PERCENTS = re.compile(r"%%")
#: What every match of ``_TEMPLATE`` holds, and the characters of those.
_STARTS = ("{{", "{%", "{#", "<mj-", "</mj-", "*|")
_START_CHARS = frozenset("".join(_STARTS))
#: Each of ``_STARTS`` by its rarest part, with where that part stands in each start it is
#: part of: one pass over the text for a part that two starts share (``mj-``, in every MJML
#: class name of the compiled email).
_PIVOTS = (
    ("{", ((0, ("{{", "{%", "{#")),)),
    ("*", ((0, ("*|",)),)),
    ("mj-", ((1, ("<mj-",)), (2, ("</mj-",)))),
)
#: A character reference as :func:`html.unescape` finds one.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def _parts(ctx: Context) -> Iterator[tuple[str, str]]:
    """Each part of the email a subscriber reads, with the HTML's tags left in place."""
    yield "subject", ctx.email.subject
    yield "preheader", ctx.email.preheader
    yield "email.html", ctx.email.html
    yield "email.txt", ctx.email.text


def _where(ctx: Context, part: str, found: str) -> str:
    raw = htmllib.unescape(found)
    for loc, value in ctx.issue_strings:
        if raw in value or found in value:
            return ctx.at_field(*loc, needle=raw)
    if part == "email.html":
        return ctx.at_html(found)
    if part == "email.txt":
        index = ctx.email.text.find(found)
        return f"email.txt:{ctx.email.text.count(chr(10), 0, index) + 1}"
    return ctx.at_field(part)


def _may_hold_syntax(text: str, *, escaped: bool) -> bool:
    """Whether ``text`` (unescaped first, if ``escaped``) could hold a match of ``_TEMPLATE``,
    known without unescaping it (which, with the search, was a tenth of the checks' time):
    each match holds one of ``_STARTS``, and unescaped text holds one only where the text
    does or where a character reference stands for one of their characters."""
    if _holds_start(text):
        return True
    references = set(_CHARREF.findall(text)) if escaped else ()
    return any(not _START_CHARS.isdisjoint(htmllib.unescape(f"&{r}")) for r in references)


def _holds_start(text: str) -> bool:
    """Whether ``text`` holds one of ``_STARTS``, looked for where its rarest part is: ``in``
    takes about a nanosecond a character for each start (measured here), and six searches
    of an email of tens of thousands of characters were most of the rule."""
    for pivot, places in _PIVOTS:
        index = text.find(pivot)
        while index >= 0:
            for offset, starts in places:
                if index >= offset and text.startswith(starts, index - offset):
                    return True
            index = text.find(pivot, index + 1)
    return False


def template_syntax(ctx: Context) -> Iterator[Hit]:
    """``{{ }}``, ``{% %}``, ``<mj-...>`` or ``*|TAG|*`` in what subscribers see."""
    seen: set[str] = set()
    for part, text in _parts(ctx):
        escaped = part == "email.html"
        if not _may_hold_syntax(text, escaped=escaped):
            continue
        unescaped = htmllib.unescape(text) if escaped else text
        for match in re.finditer(_TEMPLATE, unescaped):
            found = match[0]
            if found in seen:
                continue
            seen.add(found)
            yield Hit(
                f"{found[:60]!r} looks like template syntax that was never rendered; "
                "subscribers would see it as written: remove it or use a merge field "
                "like %%first_name|there%%",
                _where(ctx, part, found),
            )


def merge_fields(ctx: Context) -> Iterator[Hit]:
    """``%%`` that is not part of a well-formed merge field. (An unknown field name never gets
    this far: loading the issue refuses it, and so does the pipeline for the theme's.)"""
    known = ", ".join(mergefields.FIELDS)
    seen: set[str] = set()
    for part, text in _parts(ctx):
        tokens = list(mergefields.find(text))
        for snippet in _malformed(text, tokens):
            if snippet in seen:
                continue
            seen.add(snippet)
            yield Hit(
                f"{snippet!r} is not a well-formed merge field: write %%name%% or "
                f"%%name|fallback%% with no spaces (known: {known})",
                _where(ctx, part, snippet),
            )


def _stray(text: str, tokens: list[mergefields.MergeField]) -> list[int]:
    """Where each ``%%`` of ``text`` that no token holds starts. A token holds no ``%`` but
    its two ``%%``, so a ``%%`` found in one stands at its start or two before its end: a set
    of those, not a search of every token for every ``%%``."""
    ends = {t.start for t in tokens} | {t.end - 2 for t in tokens}
    return [m.start() for m in _PERCENTS.finditer(text) if m.start() not in ends]


def _malformed(text: str, tokens: list[mergefields.MergeField]) -> Iterator[str]:
    """Each ``%%...%%`` that is not a token (or a lone ``%%``), as it stands in ``text``."""
    stray = _stray(text, tokens)
    while stray:
        start = stray.pop(0)
        if stray and stray[0] - start <= 40 and "\n" not in text[start : stray[0]]:
            end = stray.pop(0) + 2
        else:
            end = start + 2 + len(text[start + 2 : start + 24].split("\n")[0])
        yield text[start:end]
