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

__all__ = ["Scheme", "force_scheme"]

Scheme = Literal["light", "dark"]

_DARK_MEDIA = re.compile(r"@media\b[^{;]*prefers-color-scheme\s*:\s*dark[^{;]*\{", re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def force_scheme(html: str, scheme: Scheme) -> str:
    """``html`` with its dark-mode media blocks unwrapped (``dark``) or removed (``light``)."""
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
    meta = f'<meta name="color-scheme" content="{scheme}">'
    head = _HEAD.search(forced)
    return forced[: head.end()] + meta + forced[head.end() :] if head else meta + forced


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
