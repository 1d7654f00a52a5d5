"""Translating an email's ESP-neutral merge fields into one ESP's tags, safely.

Every exporter does two things to each text (HTML, plain text, subject, preheader):

- it rewrites each ``%%name|fallback%%`` token into the ESP's own tag (:class:`Dialect.tag`),
  keeping the fallback where the dialect can say "this, or that when empty";
- it *defuses* the rest of the text: anything the editor typed that merely looks like one of the
  ESP's tags (``*|FNAME|*`` in a Mailchimp export, ``{{ 7*7 }}`` in a Handlebars or Mustache
  one, ``%recipient.x%`` in a Mailgun one, ``<%...%>`` in a SendGrid one) is changed so that the
  ESP prints it as written instead of evaluating it. In HTML the first character becomes a
  numeric character reference (``&#42;|FNAME|*``, ``&#123;{``), which every mail client shows as
  the original character while the ESP's parser sees no tag. Plain text and headers have no
  character references, so there a zero-width space goes between the two characters that open
  a tag: the reader sees the same text, and no engine sees a tag. (Handlebars.js has a ``\\{{``
  escape, but not every ESP's Handlebars implementation honours it.)

A tag's neighbours are defused too (:func:`literal`): the editor's ``{`` right before a
``{{first_name}}`` would otherwise make the triple-stash ``{{{first_name}}}``, which prints the
subscriber's value unescaped into the HTML; a ``}`` right after it would close it as one.

A merge field the ESP has no tag for is taken from ``[export]`` in ``newsletter.toml`` (a URL
that is the same for every subscriber), or is an error naming the field and the ESP.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from newsletter.errors import NewsletterError
from newsletter.model import mergefields
from newsletter.model.mergefields import MergeField
from newsletter.model.settings import Settings

__all__ = [
    "ZWSP",
    "Defuse",
    "Dialect",
    "Kind",
    "convert",
    "defuse_braces",
    "fixed_urls",
    "literal",
    "require",
]

#: Where a text goes: the HTML part (character references work), the plain-text part, or a
#: header such as the subject (some ESPs allow less there than in the body).
Kind = Literal["html", "text", "header"]

#: U+200B ZERO WIDTH SPACE: invisible, and enough to break a tag's opening sequence.
ZWSP = "\u200b"

#: Makes literal text safe from one ESP's template engine, by kind.
Defuse = Callable[[str, Kind], str]


@dataclass(frozen=True)
class Dialect:
    """One ESP's template language, as far as exports need it."""

    esp: str
    #: the ESP's tag for a merge field it provides itself, by kind; None when it has none
    tag: Callable[[MergeField, Kind], str | None]
    #: make literal text safe from the ESP's template engine, by kind
    defuse: Defuse


def fixed_urls(settings: Settings, slug: str) -> dict[str, str]:
    """The ``[export]`` URLs (``{slug}`` filled) for fields an ESP has no tag of its own for."""
    table = settings.export
    urls = {
        "web_version_url": table.web_version_url,
        "preferences_url": table.preferences_url,
    }
    return {name: url.replace("{slug}", slug) for name, url in urls.items() if url}


def literal(text: str, defuse: Defuse, kind: Kind, *, before: str = "", after: str = "") -> str:
    """``text`` defused, standing between the tags ``before`` and ``after``: a first or last
    character that would run into the neighbouring tag (``{`` before ``{{x}}``, ``}`` after it,
    ``%`` next to ``%recipient.x%``) is broken off from it as well."""
    out = defuse(text, kind)
    if not out:
        return out
    if after and out[-1] == after[0]:
        out = out[:-1] + (f"&#{ord(out[-1])};" if kind == "html" else out[-1] + ZWSP)
    if before and out[0] == before[-1]:
        out = (f"&#{ord(out[0])};" if kind == "html" else ZWSP + out[0]) + out[1:]
    return out


def convert(text: str, dialect: Dialect, kind: Kind, fixed: Mapping[str, str]) -> str:
    """``text`` in ``dialect``: tokens become tags (or fixed URLs), the rest is defused.

    The exporter has called :func:`require` on all its texts first, so every field has a tag
    or a fixed URL here.
    """
    # literal, tag, literal, tag, ..., literal: a fixed URL is literal text, not a tag
    segments = [""]
    position = 0
    for field in mergefields.find(text):
        segments[-1] += text[position : field.start]
        tag = dialect.tag(field, kind)
        if tag is None:
            url = fixed[field.name]  # require() has made sure it is there
            segments[-1] += html.escape(url) if kind == "html" else url
        else:
            segments += [tag, ""]
        position = field.end
    segments[-1] += text[position:]
    last = len(segments) - 1
    return "".join(
        segment
        if i % 2
        else literal(
            segment,
            dialect.defuse,
            kind,
            before=segments[i - 1] if i else "",
            after=segments[i + 1] if i < last else "",
        )
        for i, segment in enumerate(segments)
    )


def require(dialect: Dialect, fixed: Mapping[str, str], *texts: str) -> None:
    """Refuse, naming every one at once, merge fields in ``texts`` the ESP cannot provide."""
    missing = sorted(
        {
            field.name
            for text in texts
            for field in mergefields.find(text)
            if field.name not in fixed and dialect.tag(field, "text") is None
        }
    )
    if not missing:
        return
    tokens = ", ".join(f"%%{name}%%" for name in missing)
    message = f"{dialect.esp} has no merge tag for {tokens}"
    urls = [name for name in missing if name.endswith("_url")]
    if urls:
        plural = "URLs" if len(urls) > 1 else "URL"
        message += f"; set [export] {', '.join(urls)} in newsletter.toml to the {plural} to use"
    raise NewsletterError(message)


_BRACE = re.compile(r"\{(?=\{)")


def defuse_braces(text: str, kind: Kind) -> str:
    """Defuse ``{{`` (Handlebars, Mustache): every brace that another one follows is changed, so
    that ``{{{`` is defused too."""
    if "{{" not in text:
        return text
    return _BRACE.sub("&#123;" if kind == "html" else "{" + ZWSP, text)
