"""Translating an email's ESP-neutral merge fields into one ESP's tags, safely.

Every exporter does two things to each text (HTML, plain text, subject, preheader):

- it rewrites each ``%%name|fallback%%`` token into the ESP's own tag (:class:`Dialect.tag`),
  keeping the fallback where the dialect can say "this, or that when empty";
- it *defuses* the rest of the text: anything the editor typed that merely looks like one of the
  ESP's tags (``*|FNAME|*`` in a Mailchimp export, ``{{ 7*7 }}`` in a Handlebars or Mustache
  one) is changed so that the ESP prints it as written instead of evaluating it. In HTML the
  first character becomes a numeric character reference (``&#42;|FNAME|*``, ``&#123;{``), which
  every mail client shows as the original character while the ESP's parser sees no tag. Plain
  text and headers have no character references, so there a zero-width space goes between the
  two characters that open a tag: the reader sees the same text, and no engine (Handlebars,
  Mustachio, Mailchimp) sees a tag. (Handlebars.js has a ``\\{{`` escape, but not every ESP's
  Handlebars implementation honours it.)

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

__all__ = ["ZWSP", "Dialect", "Kind", "convert", "defuse_braces", "fixed_urls", "require"]

#: Where a text goes: the HTML part (character references work), the plain-text part, or a
#: header such as the subject (some ESPs allow less there than in the body).
Kind = Literal["html", "text", "header"]

#: U+200B ZERO WIDTH SPACE: invisible, and enough to break a tag's opening sequence.
ZWSP = "\u200b"


@dataclass(frozen=True)
class Dialect:
    """One ESP's template language, as far as exports need it."""

    esp: str
    #: the ESP's tag for a merge field it provides itself, by kind; None when it has none
    tag: Callable[[MergeField, Kind], str | None]
    #: make literal text safe from the ESP's template engine, by kind
    defuse: Callable[[str, Kind], str]


def fixed_urls(settings: Settings, slug: str) -> dict[str, str]:
    """The ``[export]`` URLs (``{slug}`` filled) for fields an ESP has no tag of its own for."""
    table = settings.export
    urls = {
        "web_version_url": table.web_version_url,
        "preferences_url": table.preferences_url,
    }
    return {name: url.replace("{slug}", slug) for name, url in urls.items() if url}


def convert(text: str, dialect: Dialect, kind: Kind, fixed: Mapping[str, str]) -> str:
    """``text`` in ``dialect``: tokens become tags (or fixed URLs), the rest is defused.

    The exporter has called :func:`require` on all its texts first, so every field has a tag
    or a fixed URL here.
    """
    out: list[str] = []
    position = 0
    for field in mergefields.find(text):
        out.append(dialect.defuse(text[position : field.start], kind))
        out.append(_field(field, dialect, kind, fixed))
        position = field.end
    out.append(dialect.defuse(text[position:], kind))
    return "".join(out)


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


def _field(field: MergeField, dialect: Dialect, kind: Kind, fixed: Mapping[str, str]) -> str:
    tag = dialect.tag(field, kind)
    if tag is not None:
        return tag
    url = fixed[field.name]  # require() has made sure it is there
    return dialect.defuse(html.escape(url) if kind == "html" else url, kind)


_BRACE = re.compile(r"\{(?=\{)")


def defuse_braces(text: str, kind: Kind) -> str:
    """Defuse ``{{`` (Handlebars, Mustache): every brace that another one follows is changed, so
    that ``{{{`` is defused too."""
    if "{{" not in text:
        return text
    return _BRACE.sub("&#123;" if kind == "html" else "{" + ZWSP, text)
