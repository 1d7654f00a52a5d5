"""Show the email in one colour scheme, whatever the scheme of the editor's own system.

The theme's dark mode is ``@media (prefers-color-scheme: dark) { ... }`` blocks, which a
browser applies only when the system is dark. For the preview's light/dark toggle the email is
served with those blocks *unwrapped* (their rules apply unconditionally) for dark, and removed
for light, so the toggle shows each stylesheet in effect on any machine. A ``color-scheme``
meta matching the choice is added, so form controls and scrollbars follow as well. Only the
preview's copy is changed; the built email keeps its media queries.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["SCHEMES", "Scheme", "force_scheme", "links_in_new_tab", "strip_styles"]

#: ``light``; ``dark``: the theme's own dark stylesheet, as Apple Mail and iOS Mail apply it;
#: ``invert``: no dark stylesheet, the client inverts the colours itself (the Gmail app and
#: Outlook.com, approximated by a filter that inverts everything but the images); ``none``: a
#: dark client that leaves the email light (Gmail on the web).
Scheme = Literal["light", "dark", "invert", "none"]
SCHEMES: tuple[Scheme, ...] = ("light", "dark", "invert", "none")

#: Inverts the page's colours but turns the images back, as the inverting clients do.
_INVERT = (
    "<style>html{filter:invert(1) hue-rotate(180deg);background:#fff}"
    "img{filter:invert(1) hue-rotate(180deg)}</style>"
)
_STYLE = re.compile(r"<style\b[^>]*>.*?</style\s*>", re.IGNORECASE | re.DOTALL)

_DARK_MEDIA = re.compile(r"@media\b[^{;]*prefers-color-scheme\s*:\s*dark[^{;]*\{", re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def force_scheme(html: str, scheme: Scheme) -> str:
    """``html`` with its dark-mode media blocks unwrapped (``dark``) or removed (the others);
    ``invert`` adds the inverting filter."""
    out: list[str] = []
    position = 0
    for match in _DARK_MEDIA.finditer(html):
        if match.start() < position:  # inside a block already handled
            continue
        end = _block_end(html, match.end())
        if end is None:  # unbalanced braces: leave the rest as it is
            break
        out.append(html[position : match.start()])
        if scheme == "dark":
            out.append(html[match.end() : end - 1])
        position = end
    out.append(html[position:])
    forced = "".join(out)
    meta = f'<meta name="color-scheme" content="{"light" if scheme == "light" else "dark"}">'
    if scheme == "invert":
        meta += _INVERT
    return _into_head(forced, meta)


def _into_head(html: str, markup: str) -> str:
    head = _HEAD.search(html)
    return html[: head.end()] + markup + html[head.end() :] if head else markup + html


def strip_styles(html: str) -> str:
    """``html`` without its ``<style>`` blocks, as Gmail shows it to some accounts (IMAP and
    non-Google addresses): only the inlined styles are left."""
    return _STYLE.sub("", html)


def links_in_new_tab(html: str) -> str:
    """Every link of the email opens in a new tab, so a click never replaces the preview."""
    return _into_head(html, '<base target="_blank">')


def _block_end(css: str, start: int) -> int | None:
    """The index just past the ``}`` that closes the block whose ``{`` ends before ``start``."""
    depth = 1
    for index in range(start, len(css)):
        char = css[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None
