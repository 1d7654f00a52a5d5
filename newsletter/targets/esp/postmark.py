"""Postmark: a template (``POST /templates``) in Mustachio, Postmark's Mustache.

Subscriber fields come from the ``TemplateModel`` (``first_name``, ``email``), HTML-escaped in
the HTML body (``{{ first_name }}``) and raw in the text (``{{{ first_name }}}``); a fallback is
an inverted section. ``{{{ pm:unsubscribe }}}`` is Postmark's own unsubscribe link (broadcast
streams). Postmark has no web-version or preferences tag: ``[export]`` gives those links.
"""

from __future__ import annotations

import re

from newsletter.model.artifact import Artifact
from newsletter.model.mergefields import MergeField
from newsletter.targets.esp.base import ExportContext, json_file
from newsletter.targets.esp.dialect import (
    Dialect,
    Kind,
    convert,
    defuse_braces,
    fixed_urls,
    require,
)

__all__ = ["DIALECT", "export"]

_VARIABLES = ("first_name", "email")


def _tag(field: MergeField, kind: Kind) -> str | None:
    if field.name == "unsubscribe_url":
        return "{{{ pm:unsubscribe }}}"
    if field.name not in _VARIABLES:
        return None
    name = field.name
    value = f"{{{{ {name} }}}}" if kind == "html" else f"{{{{{{ {name} }}}}}}"
    if not field.fallback:
        return value
    fallback = defuse_braces(field.fallback, kind)
    return f"{{{{#{name}}}}}{value}{{{{/{name}}}}}{{{{^{name}}}}}{fallback}{{{{/{name}}}}}"


DIALECT = Dialect("postmark", _tag, defuse_braces)


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``template.json``: Name, Alias, Subject, HtmlBody, TextBody, TemplateType."""
    email = artifact.email
    fixed = fixed_urls(context.settings, email.slug)
    require(DIALECT, fixed, email.subject, email.preheader, email.html, email.text)
    alias = re.sub(r"[^A-Za-z0-9._-]", "-", email.slug)
    template = {
        "Name": email.slug,
        # An alias must start with a letter; issue slugs usually start with their date.
        "Alias": alias if alias[:1].isalpha() else f"issue-{alias}",
        "Subject": convert(email.subject, DIALECT, "header", fixed),
        "HtmlBody": convert(email.html, DIALECT, "html", fixed),
        "TextBody": convert(email.text, DIALECT, "text", fixed),
        "TemplateType": "Standard",
    }
    return {"template.json": json_file(template)}
