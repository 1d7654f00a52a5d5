"""Accessibility: what screen readers need (a language, a title, layout tables marked as
layout, headings in order) and text that people with low vision can read (WCAG AA contrast)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from newsletter.pipeline.checks.context import Context, Hit, text_of

if TYPE_CHECKING:
    from lxml.html import HtmlElement

__all__ = ["contrast", "headings", "lang", "presentation", "title"]


def lang(ctx: Context) -> Iterator[Hit]:
    """``<html>`` without a ``lang`` (MJML writes ``und``, undetermined, when the theme gives
    none): screen readers read the email in the wrong voice."""
    lang = (ctx.tree.get("lang") or "").strip()
    if lang.lower() in ("", "und"):
        yield Hit(
            f'<html> has lang="{lang}", no language: set [newsletter] lang and keep '
            '<mjml lang="{{ lang }}"> in the theme',
            "email.html:1",
        )


def title(ctx: Context) -> Iterator[Hit]:
    """An empty ``<title>``: screen readers and the browser tab of the web version say nothing."""
    found = ctx.tree.find(".//title")
    if found is None or not (found.text or "").strip():
        yield Hit(
            "the email has no <title>: keep <mj-title> in the theme (the subject is a good one)",
            "email.html",
        )


def presentation(ctx: Context) -> Iterator[Hit]:
    """Layout tables without ``role="presentation"``: screen readers announce rows and cells."""
    bare = [
        table
        for table in ctx.tree.iter("table")
        if table.get("role") not in ("presentation", "none") and table.find(".//th") is None
    ]
    if bare:
        line = bare[0].sourceline
        yield Hit(
            f'{len(bare)} layout table(s) lack role="presentation": screen readers will read '
            "them as data tables; add the attribute in the theme",
            f"email.html:{line}" if line else "email.html",
        )


def headings(ctx: Context) -> Iterator[Hit]:
    """Headings that skip a level (h1 then h3): screen-reader users navigate by them."""
    previous = 1
    for heading in ctx.tree.iter("h1", "h2", "h3", "h4", "h5", "h6"):
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


def _style(element: HtmlElement) -> Mapping[str, str]:
    return _declarations(str(element.get("style") or ""))


@lru_cache(maxsize=4096)
def _declarations(css: str) -> Mapping[str, str]:
    """A ``style`` attribute's declarations, parsed once per distinct attribute: an email
    repeats the same few hundred times over."""
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


def _hex(rgb: Rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def contrast(ctx: Context) -> Iterator[Hit]:
    """Text whose colour on its background is below WCAG AA: 4.5:1, or 3:1 for large text."""
    body = ctx.tree.find("body")
    if body is None:
        return
    seen: set[tuple[Rgb, Rgb, float]] = set()
    found: list[Hit] = []

    def visit(el: HtmlElement, color: Rgb, background: Rgb, size: float, bold: bool) -> None:
        style = _style(el)
        if _hidden(style):
            return
        color = parse_color(style.get("color") or el.get("color")) or color
        background = (
            parse_color(style.get("background-color"))
            or parse_color(style.get("background"))
            or parse_color(el.get("bgcolor"))
            or background
        )
        match = _PX.match(style.get("font-size", ""))
        size = float(match[1]) if match else size
        weight = style.get("font-weight", "")
        bold = (
            weight in ("bold", "bolder") or (weight.isdigit() and int(weight) >= 600)
            if weight
            else bold or el.tag in ("b", "strong", "h1", "h2", "h3", "h4", "h5", "h6")
        )
        own_text = (el.text or "").strip() or any((c.tail or "").strip() for c in el)
        if own_text and size > 1:  # MJML sets font-size:0 on wrappers; text at 0-1px is unseen
            large = size >= 24 or (bold and size >= 18.66)
            needed = 3.0 if large else 4.5
            ratio = contrast_ratio(color, background)
            if ratio < needed and (color, background, needed) not in seen:
                seen.add((color, background, needed))
                text = text_of(el)
                found.append(
                    Hit(
                        f"text {text[:40]!r} is {_hex(color)} on {_hex(background)}, contrast "
                        f"{ratio:.1f}:1, below WCAG AA ({needed:g}:1): darken the text or "
                        "lighten the background in the theme",
                        ctx.at_element(el, text),
                    )
                )
        for child in el:
            if isinstance(child.tag, str) and child.tag not in ("style", "script", "head"):
                visit(child, color, background, size, bold)

    visit(body, (0, 0, 0), (255, 255, 255), 16.0, False)
    yield from found
