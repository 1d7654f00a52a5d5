"""Amazon SES: the body of ``CreateEmailTemplate`` (SES v2), in SES's Handlebars.

Every merge field is a variable of each destination's ``ReplacementTemplateData``, the same
values a direct send uses (:func:`template_data`): SES's ``SendBulkEmail`` has no list
management option, so ``{{amazonSESUnsubscribeUrl}}`` (which works only for ``SendEmail`` with
``ListManagementOptions``, one recipient at a time) cannot unsubscribe a bulk send's readers;
the export links our own signed ``unsubscribe_url`` instead, passed per destination. With
``[esp.ses] unsubscribe = "list-management"`` it writes ``{{amazonSESUnsubscribeUrl}}``, for
those who send one recipient at a time with ``SendEmail`` and a contact list.

SES does not HTML-escape replacement data: ``{{first_name}}`` in the HTML part would insert a
subscriber's markup as it is. So the HTML reads ``{{first_name_html}}``, a copy of each value
escaped before it reaches SES, and the subject and text read the raw ``{{first_name}}`` (double
braces: SES has no triple-stash to rely on). A template (subject, HTML and text together) may be
at most 500 KB.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from newsletter.model import mergefields
from newsletter.model.artifact import Artifact
from newsletter.model.settings import Settings
from newsletter.targets.esp.base import ExportContext, check_size, json_file
from newsletter.targets.esp.dialect import Kind, convert, require
from newsletter.targets.esp.handlebars import handlebars

__all__ = [
    "DIALECT",
    "LIST_MANAGEMENT",
    "TEMPLATE_LIMIT",
    "content",
    "export",
    "template_data",
    "template_name",
]


def _variable(name: str, kind: Kind) -> str:
    return f"{{{{{name}_html}}}}" if kind == "html" else f"{{{{{name}}}}}"


DIALECT = handlebars("ses", {}, _variable, variables=tuple(mergefields.FIELDS))

#: The dialect with SES's list-management unsubscribe tag (one-recipient ``SendEmail`` only).
LIST_MANAGEMENT = handlebars(
    "ses",
    {"unsubscribe_url": "{{amazonSESUnsubscribeUrl}}"},
    _variable,
    variables=tuple(mergefields.FIELDS),
)

#: SES's limit on a template: subject, HTML and text parts together.
TEMPLATE_LIMIT = 500 * 1024


def template_data(values: Mapping[str, str]) -> dict[str, str]:
    """One destination's replacement data: each merge field raw, and HTML-escaped as
    ``<name>_html``. Every field is there, empty or not (SES fails a send that lacks one)."""
    data: dict[str, str] = {}
    for name in mergefields.FIELDS:
        value = values.get(name, "")
        data[name] = value
        data[f"{name}_html"] = html.escape(value)
    return data


def template_name(slug: str) -> str:
    """The template's name for an issue: letters, digits, ``_`` and ``-``, at most 64."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", slug)[:64]


def content(artifact: Artifact, settings: Settings) -> dict[str, str]:
    """The template's ``Subject``, ``Html`` and ``Text``, checked against SES's size limit."""
    email = artifact.email
    dialect = LIST_MANAGEMENT if settings.esp.ses.unsubscribe == "list-management" else DIALECT
    require(dialect, {}, email.subject, email.preheader, email.html, email.text)
    parts = {
        "Subject": convert(email.subject, dialect, "header", {}),
        "Html": convert(email.html, dialect, "html", {}),
        "Text": convert(email.text, dialect, "text", {}),
    }
    size = sum(len(part.encode()) for part in parts.values())
    check_size("ses", "template", size, TEMPLATE_LIMIT)
    return parts


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``template.json``: ``{"TemplateName": ..., "TemplateContent": {Subject, Html, Text}}``."""
    template = {
        "TemplateName": template_name(artifact.email.slug),
        "TemplateContent": content(artifact, context.settings),
    }
    return {"template.json": json_file(template)}
