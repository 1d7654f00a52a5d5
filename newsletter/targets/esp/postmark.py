"""Postmark: a template (``POST /templates``) in Mustachio, Postmark's Mustache.

Subscriber fields come from the ``TemplateModel`` (``first_name``, ``email``), HTML-escaped in
the HTML body (``{{ first_name }}``) and raw in the text and subject (``{{{ first_name }}}``).
A fallback is a section and its inverted section. In Mustachio a section moves the scope *into*
its value (it does not walk a context stack as spec Mustache does), so inside
``{{#first_name}}`` the name is ``{{ . }}``; ``{{ first_name }}`` there would print nothing.
``{{{ pm:unsubscribe }}}`` is Postmark's own unsubscribe link (broadcast streams). Postmark has
no web-version or preferences tag: ``[export]`` gives those links. Each body may be at most
5 MB.
"""

from __future__ import annotations

import re

from newsletter.model.artifact import Artifact
from newsletter.model.mergefields import MergeField
from newsletter.targets.esp.base import ExportContext, check_size, json_file
from newsletter.targets.esp.dialect import (
    Dialect,
    Kind,
    convert,
    defuse_braces,
    fixed_urls,
    literal,
    require,
)

__all__ = ["BODY_LIMIT", "DIALECT", "export", "template"]

_VARIABLES = ("first_name", "email")

#: Postmark's limit on each of HtmlBody and TextBody, in bytes.
BODY_LIMIT = 5 * 1024 * 1024


def _value(path: str, kind: Kind) -> str:
    return f"{{{{ {path} }}}}" if kind == "html" else f"{{{{{{ {path} }}}}}}"


def _tag(field: MergeField, kind: Kind) -> str | None:
    if field.name == "unsubscribe_url":
        return "{{{ pm:unsubscribe }}}"
    if field.name not in _VARIABLES:
        return None
    name = field.name
    if not field.fallback:
        return _value(name, kind)
    fallback = literal(field.fallback, defuse_braces, kind, before="}", after="{")
    return (
        f"{{{{#{name}}}}}{_value('.', kind)}{{{{/{name}}}}}{{{{^{name}}}}}{fallback}{{{{/{name}}}}}"
    )


DIALECT = Dialect("postmark", _tag, defuse_braces)


def template(artifact: Artifact, context: ExportContext) -> dict[str, str]:
    """The template's fields: Name, Alias, Subject, HtmlBody, TextBody, TemplateType."""
    email = artifact.email
    fixed = fixed_urls(context.settings, email.slug)
    require(DIALECT, fixed, email.subject, email.preheader, email.html, email.text)
    alias = re.sub(r"[^A-Za-z0-9._-]", "-", email.slug)
    fields = {
        "Name": email.slug,
        # An alias must start with a letter; issue slugs usually start with their date.
        "Alias": alias if alias[:1].isalpha() else f"issue-{alias}",
        "Subject": convert(email.subject, DIALECT, "header", fixed),
        "HtmlBody": convert(email.html, DIALECT, "html", fixed),
        "TextBody": convert(email.text, DIALECT, "text", fixed),
        "TemplateType": "Standard",
    }
    for body in ("HtmlBody", "TextBody"):
        check_size("postmark", body, len(fields[body].encode()), BODY_LIMIT)
    return fields


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``template.json``: the body of Postmark's create-template call."""
    return {"template.json": json_file(template(artifact, context))}
