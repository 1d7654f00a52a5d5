"""The HTML's size against Gmail's clip: past 102 KB Gmail hides the rest of the email behind
"[Message clipped] View entire message", and with it the footer and its unsubscribe link."""

from __future__ import annotations

from collections.abc import Iterator

from newsletter.pipeline.checks.context import Context, Hit

__all__ = ["clipped", "near_clip"]


def clipped(ctx: Context) -> Iterator[Hit]:
    """The HTML is over ``[check] clip_kb``: Gmail will clip it."""
    size, limit = ctx.html_size, ctx.settings.clip_kb * 1024
    if size > limit:
        yield Hit(
            f"the HTML is {size:,} bytes ({size / 1024:.1f} KB), over Gmail's "
            f"{ctx.settings.clip_kb:g} KB clip: Gmail will hide the rest, footer and unsubscribe "
            "link included; shorten the body or move stories to the web",
            "email.html",
        )


def near_clip(ctx: Context) -> Iterator[Hit]:
    """The HTML is over ``[check] near_clip_kb`` but not yet clipped."""
    size = ctx.html_size
    if ctx.settings.near_clip_kb * 1024 < size <= ctx.settings.clip_kb * 1024:
        yield Hit(
            f"the HTML is {size:,} bytes ({size / 1024:.1f} KB), close to Gmail's "
            f"{ctx.settings.clip_kb:g} KB clip; an ESP's tracking links can push it over",
            "email.html",
        )
