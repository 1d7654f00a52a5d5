"""Mailgun: a batch message's parts, personalised with ``recipient-variables``.

A Mailgun batch (one ``POST /v3/{domain}/messages`` to up to 1,000 recipients) varies per
recipient only through ``%recipient.x%`` substitutions; template variables (``t:variables``)
are one set for the whole batch. So each merge field becomes a recipient variable, and since
Mailgun substitutes values as they are, the HTML reads a copy escaped beforehand and a fallback
is worked out before the send: ``%%first_name|there%%`` in the HTML is
``%recipient.first_name_html_or_<hash>%``, the name escaped or *there*. ``variables.json`` says
what each variable holds; :func:`recipient_values` computes them for a subscriber.

``%unsubscribe_url%`` is Mailgun's own unsubscribe link, filled per recipient when unsubscribe
tracking is on (Sending > Domain settings > Tracking). Mailgun has no web-version or
preferences tag: ``[export]`` gives those links. ``template.json`` is the same HTML as a stored
template (Mailgun keeps at most 100 KB); ``template.txt`` is the ``text`` part of each message.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from newsletter.model import mergefields
from newsletter.model.artifact import Artifact
from newsletter.model.email import Email
from newsletter.model.mergefields import MergeField
from newsletter.targets.esp.base import ExportContext, check_size, json_file
from newsletter.targets.esp.dialect import (
    ZWSP,
    Dialect,
    Kind,
    convert,
    defuse_braces,
    fixed_urls,
    require,
)

__all__ = [
    "DIALECT",
    "TEMPLATE_LIMIT",
    "Variable",
    "export",
    "parts",
    "recipient_values",
    "variables",
]

_FIELDS = ("first_name", "email")

#: Mailgun's limit on the size of a template's content.
TEMPLATE_LIMIT = 100 * 1024


@dataclass(frozen=True)
class Variable:
    """What one recipient variable holds: a merge field, its fallback, HTML-escaped or not."""

    field: str
    fallback: str
    html: bool

    @property
    def name(self) -> str:
        name = self.field + ("_html" if self.html else "")
        if self.fallback:
            name += "_or_" + hashlib.sha256(self.fallback.encode()).hexdigest()[:8]
        return name

    def value(self, values: Mapping[str, str]) -> str:
        given = values.get(self.field, "")
        if not given:
            return self.fallback  # in HTML the fallback is already escaped content
        return html.escape(given) if self.html else given


def _variable(field: MergeField, kind: Kind) -> Variable:
    return Variable(field.name, field.fallback, kind == "html")


def _tag(field: MergeField, kind: Kind) -> str | None:
    if field.name == "unsubscribe_url":
        return "%unsubscribe_url%"
    if field.name not in _FIELDS:
        return None
    return f"%recipient.{_variable(field, kind).name}%"


# Mailgun substitutes %recipient.x%, %recipient_x% and its *unsubscribe_url% tags.
_PERCENT = re.compile(r"%(?=recipient[._]|(?:\w*_)?unsubscribe_url%)", re.IGNORECASE)


def _defuse(text: str, kind: Kind) -> str:
    """Braces (a stored template is Handlebars) and Mailgun's ``%...%`` substitutions."""
    text = defuse_braces(text, kind)
    if "%" not in text:
        return text
    return _PERCENT.sub("&#37;" if kind == "html" else "%" + ZWSP, text)


DIALECT = Dialect("mailgun", _tag, _defuse)


def variables(email: Email) -> list[Variable]:
    """The recipient variables the email's parts use, each once."""
    found: dict[str, Variable] = {}
    texts: tuple[tuple[Kind, str], ...] = (
        ("header", email.subject),
        ("html", email.html),
        ("text", email.text),
    )
    for kind, text in texts:
        for field in mergefields.find(text):
            if field.name in _FIELDS:
                variable = _variable(field, kind)
                found.setdefault(variable.name, variable)
    return list(found.values())


def recipient_values(used: list[Variable], values: Mapping[str, str]) -> dict[str, str]:
    """One recipient's entry in ``recipient-variables``."""
    return {variable.name: variable.value(values) for variable in used}


def parts(artifact: Artifact, context: ExportContext) -> dict[str, str]:
    """The message's ``subject``, ``html`` and ``text`` with Mailgun's substitutions."""
    email = artifact.email
    fixed = fixed_urls(context.settings, email.slug)
    require(DIALECT, fixed, email.subject, email.preheader, email.html, email.text)
    return {
        "subject": convert(email.subject, DIALECT, "header", fixed),
        "html": convert(email.html, DIALECT, "html", fixed),
        "text": convert(email.text, DIALECT, "text", fixed),
    }


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``template.json`` (the create-template form fields), ``template.txt`` (the text part)
    and ``variables.json`` (what each recipient variable holds)."""
    email = artifact.email
    message = parts(artifact, context)
    check_size("mailgun", "template", len(message["html"].encode()), TEMPLATE_LIMIT)
    template = {
        "name": re.sub(r"[^a-z0-9_-]", "-", email.slug.lower()),
        "description": email.subject,
        "template": message["html"],
        "engine": "handlebars",
        "headers": json.dumps({"Subject": message["subject"]}),
    }
    described = {
        v.name: {"field": v.field, "fallback": v.fallback, "html_escaped": v.html}
        for v in variables(email)
    }
    return {
        "template.json": json_file(template),
        "template.txt": message["text"].encode(),
        "variables.json": json_file(described),
    }
