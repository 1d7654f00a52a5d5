"""The two lines an inbox shows before anyone opens the email: the subject and the preheader."""

from __future__ import annotations

import re
from collections.abc import Iterator

from newsletter.model import mergefields
from newsletter.pipeline.checks.context import Context, Hit

__all__ = [
    "preheader_long",
    "preheader_missing",
    "preheader_repeats",
    "shouting",
    "subject_empty",
    "subject_long",
]

_WORD = re.compile(r"\w+")


def _shown(text: str) -> str:
    """The line as a subscriber with no merge values sees it (fallbacks filled in)."""
    return mergefields.fill(text, {}, html_escape=False).strip()


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def subject_empty(ctx: Context) -> Iterator[Hit]:
    """A subject that shows as nothing (blank, or only merge fields without fallbacks)."""
    if not _shown(ctx.email.subject):
        yield Hit("the subject is empty: write what the issue is about", ctx.at_field("subject"))


def subject_long(ctx: Context) -> Iterator[Hit]:
    """A subject longer than ``[check] subject_max``: inboxes cut it off."""
    shown, limit = _shown(ctx.email.subject), ctx.settings.subject_max
    if len(shown) > limit:
        yield Hit(
            f"the subject is {len(shown)} characters; inboxes show about {limit}: "
            f"'{shown[:limit]}...' is what fits",
            ctx.at_field("subject"),
        )


def shouting(ctx: Context) -> Iterator[Hit]:
    """ALL CAPS or ``!!!`` in the subject or preheader: reads as spam, to people and filters."""
    for name, text in (("subject", ctx.email.subject), ("preheader", ctx.email.preheader)):
        shown = _shown(text)
        letters = [c for c in shown if c.isalpha()]
        capitals = sum(c.isupper() for c in letters)
        problems = []
        if len(letters) >= 8 and capitals / len(letters) > 0.7:
            problems.append("is in capitals")
        if "!!" in shown or "??" in shown or "?!" in shown:
            problems.append("has repeated '!' or '?'")
        if problems:
            yield Hit(
                f"the {name} {' and '.join(problems)}: it reads as shouting, and spam "
                "filters score it; write it in sentence case with at most one '!'",
                ctx.at_field(name),
            )


def preheader_missing(ctx: Context) -> Iterator[Hit]:
    """No preheader: inboxes fill the line with the first text they find ("View in browser")."""
    if not _shown(ctx.email.preheader):
        yield Hit(
            "there is no preheader: inboxes will show the email's first text instead; "
            "add a preheader: one sentence that adds to the subject",
            ctx.at_field("preheader") if ctx.issue.line_of("preheader") else ctx.source,
        )


def preheader_long(ctx: Context) -> Iterator[Hit]:
    """A preheader longer than ``[check] preheader_max``: the rest is never seen."""
    shown, limit = _shown(ctx.email.preheader), ctx.settings.preheader_max
    if len(shown) > limit:
        yield Hit(
            f"the preheader is {len(shown)} characters; inboxes show at most about {limit}",
            ctx.at_field("preheader"),
        )


def preheader_repeats(ctx: Context) -> Iterator[Hit]:
    """A preheader that repeats the subject wastes the second line of the inbox."""
    subject, preheader = _words(_shown(ctx.email.subject)), _words(_shown(ctx.email.preheader))
    if preheader and subject and preheader[: len(subject)] == subject:
        yield Hit(
            "the preheader repeats the subject: use it to say something the subject does not",
            ctx.at_field("preheader"),
        )
