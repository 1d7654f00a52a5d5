"""ESP-neutral merge fields: ``%%first_name|there%%``.

One syntax for personalisation, in issue files and in the theme alike, chosen so that it cannot
be mistaken for Jinja (``{{ }}``), Handlebars or Mustache (``{{ }}``), Mailchimp (``*|FNAME|*``),
Liquid or any other ESP's tags: two percent signs, a field name, an optional fallback after a
bar, two percent signs. ``%%first_name|there%%`` reads "the subscriber's first name, or *there*
when it is empty".

The email keeps the neutral tokens until the very end: direct sending fills them per recipient
with :func:`fill`, and each exporter rewrites them into its ESP's dialect with :func:`translate`.
Text that merely looks like some ESP's tag is never touched here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Mapping

from newsletter.record import Record

__all__ = ["FIELDS", "MergeField", "fill", "find", "translate", "unknown"]

#: The merge fields every exporter and sender knows how to provide.
FIELDS: Mapping[str, str] = {
    "first_name": "the subscriber's first name",
    "email": "the subscriber's email address",
    "unsubscribe_url": "the one-click unsubscribe link for this subscriber",
    "web_version_url": "the link to this issue on the web",
    "preferences_url": "the link to the subscriber's email preferences",
}

_TOKEN = re.compile(r"%%([A-Za-z_][A-Za-z0-9_]*)(?:\|([^%\n]*))?%%")


class MergeField(Record):
    """One ``%%name|fallback%%`` token as it stands in a text."""

    name: str
    fallback: str
    start: int
    end: int


def find(text: str) -> Iterator[MergeField]:
    """Every merge-field token in ``text``, in order."""
    for match in _TOKEN.finditer(text):
        yield MergeField(match[1], match[2] or "", match.start(), match.end())


def unknown(text: str) -> list[str]:
    """The names of tokens in ``text`` that are not merge fields this tool can fill."""
    if "%%" not in text:  # most texts of an issue: no token to look for
        return []
    return [field.name for field in find(text) if field.name not in FIELDS]


def translate(text: str, render: Callable[[MergeField], str]) -> str:
    """Replace every token with what ``render`` makes of it (an ESP's own tag, a value)."""
    if "%%" not in text:
        return text
    return _TOKEN.sub(lambda m: render(MergeField(m[1], m[2] or "", m.start(), m.end())), text)


def fill(text: str, values: Mapping[str, str], *, html_escape: bool) -> str:
    """Fill the tokens with one subscriber's ``values``; empty or absent ones take the fallback.

    In HTML the fallback was escaped with the rest of the content when it was rendered, so only
    the subscriber's own value is escaped here (``html_escape=True``).
    """

    def value(field: MergeField) -> str:
        given = values.get(field.name, "")
        if not given:
            return field.fallback
        return html.escape(given) if html_escape else given

    return translate(text, value)
