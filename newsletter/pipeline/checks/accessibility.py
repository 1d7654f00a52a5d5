"""Accessibility: what screen readers need (a language, a title, layout tables marked as
layout, headings in order) and text that people with low vision can read (WCAG AA contrast)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from newsletter.pipeline.checks.context import Context, Hit, attribute, text_of

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

__all__ = ["contrast", "headings", "lang", "presentation", "title"]


def lang(ctx: Context) -> Iterator[Hit]:
    """``<html>`` without a ``lang`` (MJML writes ``und``, undetermined, when the theme gives
    none): screen readers read the email in the wrong voice."""
    root = ctx.tree.root
    lang = ((attribute(root, "lang") if root is not None else None) or "").strip()
    if lang.lower() in ("", "und"):
        yield Hit(
            f'<html> has lang="{lang}", no language: set [newsletter] lang and keep '
            '<mjml lang="{{ lang }}"> in the theme',
            "email.html:1",
        )


def title(ctx: Context) -> Iterator[Hit]:
    """An empty ``<title>``: screen readers and the browser tab of the web version say nothing."""
    found = ctx.tree.css_first("title")
    if found is None or not found.text().strip():
        yield Hit(
            "the email has no <title>: keep <mj-title> in the theme (the subject is a good one)",
            "email.html",
        )


def presentation(ctx: Context) -> Iterator[Hit]:
    """Layout tables without ``role="presentation"``: screen readers announce rows and cells."""
    bare = [
        table
        for table in ctx.tree.css("table")
        if attribute(table, "role") not in ("presentation", "none")
        and table.css_first("th") is None
    ]
    if bare:
        yield Hit(
            f'{len(bare)} layout table(s) lack role="presentation": screen readers will read '
            "them as data tables; add the attribute in the theme",
            ctx.at_line(bare[0]),
        )


def headings(ctx: Context) -> Iterator[Hit]:
    """Headings that skip a level (h1 then h3): screen-reader users navigate by them."""
    previous = 1
    for heading in ctx.tree.css("h1, h2, h3, h4, h5, h6"):
        level = int(str(heading.tag)[1])
        if level > previous + 1:
            text = text_of(heading)
            yield Hit(
                f"heading <h{level}> {text[:50]!r} follows <h{previous}>: do not skip "
                f"levels (use ## or ### in Markdown so that it comes out as <h{previous + 1}>)",
                ctx.at_element(heading, text),
            )
        previous = level


# ---- contrast --------------------------------------------------------------------------------

Rgb = tuple[int, int, int]

_NAMED: dict[str, Rgb] = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "yellow": (255, 255, 0),
    "orange": (255, 165, 0),
    "navy": (0, 0, 128),
    "maroon": (128, 0, 0),
}
_HEX = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})\b", re.IGNORECASE)
_RGB = re.compile(r"rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)\s*(?:[,/]\s*([\d.]+%?))?\s*\)", re.I)
_PX = re.compile(r"([\d.]+)\s*px")


@lru_cache(maxsize=1024)
def parse_color(value: str | None) -> Rgb | None:
    """The first opaque colour in a CSS value (``#abc``, ``#aabbcc``, ``rgb()``, a name)."""
    if not value:
        return None
    value = value.strip().lower()
    match = _HEX.search(value)
    if match:
        digits = match[1] if len(match[1]) == 6 else "".join(c * 2 for c in match[1])
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    match = _RGB.search(value)
    if match:
        alpha = match[4]
        if alpha and (float(alpha.rstrip("%")) / (100 if alpha.endswith("%") else 1)) < 1:
            return None  # translucent: the colour depends on what is behind
        return int(match[1]), int(match[2]), int(match[3])
    for word in value.replace(",", " ").split():
        if word in _NAMED:
            return _NAMED[word]
    return None


def _luminance(rgb: Rgb) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = map(channel, rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@lru_cache(maxsize=1024)
def contrast_ratio(a: Rgb, b: Rgb) -> float:
    """The WCAG 2 contrast ratio of two colours, from 1 to 21."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@lru_cache(maxsize=4096)
def _declarations(css: str) -> Mapping[str, str]:
    """A ``style`` attribute's declarations."""
    style: dict[str, str] = {}
    for declaration in css.split(";"):
        name, _, value = declaration.partition(":")
        if value:
            style[name.strip().lower()] = value.replace("!important", "").strip().lower()
    return style


def _hidden(style: Mapping[str, str]) -> bool:
    return (
        style.get("display") == "none"
        or style.get("visibility") == "hidden"
        or style.get("opacity") in ("0", "0.0")
        or style.get("mso-hide") == "all"
        or style.get("max-height") in ("0", "0px")
    )


#: What an element sets for the text in it: colour, background, font size (px) and boldness,
#: each ``None`` where it inherits its parent's.
Look = tuple[Rgb | None, Rgb | None, float | None, bool | None]
_BOLD_TAGS = frozenset({"b", "strong", "h1", "h2", "h3", "h4", "h5", "h6"})


@lru_cache(maxsize=4096)
def _look(tag: str, css: str, color: str | None, bgcolor: str | None) -> Look | None:
    """What an element with these attributes sets (``None``: it is hidden), worked out once
    per distinct element: an email repeats the same few hundred times over."""
    style = _declarations(css)
    if _hidden(style):
        return None
    match = _PX.match(style.get("font-size", ""))
    weight = style.get("font-weight", "")
    if weight:
        bold: bool | None = weight in ("bold", "bolder") or (
            weight.isdigit() and int(weight) >= 600
        )
    else:
        bold = True if tag in _BOLD_TAGS else None
    return (
        parse_color(style.get("color") or color),
        parse_color(style.get("background-color"))
        or parse_color(style.get("background"))
        or parse_color(bgcolor),
        float(match[1]) if match else None,
        bold,
    )


def _hex(rgb: Rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


#: Elements whose content is not text on the page.
_NOT_SHOWN = frozenset({"style", "script", "head"})


def contrast(ctx: Context) -> Iterator[Hit]:
    """Text whose colour on its background is below WCAG AA: 4.5:1, or 3:1 for large text."""
    body = ctx.tree.body
    if body is None:
        return
    found: dict[tuple[Rgb, Rgb, float], Hit] = {}
    _visit(body, (0, 0, 0), (255, 255, 255), 16.0, False, ctx, found)
    yield from found.values()


def _visit(
    el: LexborNode,
    color: Rgb,
    background: Rgb,
    size: float,
    bold: bool,
    ctx: Context,
    found: dict[tuple[Rgb, Rgb, float], Hit],
) -> None:
    """:func:`contrast` of ``el`` and what is in it, which inherits the colours, size and
    boldness given, into ``found``: the first text of each colour, background and ratio
    needed, in document order. A function of the module, not a closure in :func:`contrast`: calling
    itself, a closure held itself, and the context with the parsed email, in a cycle that
    only the garbage collector freed. (A loop over a stack took twice as long.)"""
    attributes = el.attributes
    look = _look(
        el.tag or "",
        attributes.get("style") or "",
        attributes.get("color"),
        attributes.get("bgcolor"),
    )
    if look is None:
        return
    color = look[0] or color
    background = look[1] or background
    size = size if look[2] is None else look[2]
    bold = bold if look[3] is None else look[3]
    own_text = False
    children = []
    for child in el.iter(include_text=True):
        if child.is_element_node:
            if child.tag not in _NOT_SHOWN:
                children.append(child)
        elif not own_text and child.is_text_node:
            own_text = bool((child.text_content or "").strip())
    if own_text and size > 1:  # MJML sets font-size:0 on wrappers; text at 0-1px is unseen
        large = size >= 24 or (bold and size >= 18.66)
        needed = 3.0 if large else 4.5
        ratio = contrast_ratio(color, background)
        if ratio < needed and (color, background, needed) not in found:
            text = text_of(el)
            found[color, background, needed] = Hit(
                f"text {text[:40]!r} is {_hex(color)} on {_hex(background)}, contrast "
                f"{ratio:.1f}:1, below WCAG AA ({needed:g}:1): darken the text or "
                "lighten the background in the theme",
                ctx.at_element(el, text),
            )
    for child in children:
        _visit(child, color, background, size, bold, ctx, found)
