"""Amazon SES: the body of ``CreateEmailTemplate`` (SES v2), in SES's Handlebars.

Subscriber fields come from ``TemplateData`` (``first_name``, ``email``);
``{{amazonSESUnsubscribeUrl}}`` is the unsubscribe link of SES's list management. SES has no
web-version or preferences tag: ``[export]`` gives those links. A template (subject, HTML and
text together) may be at most 500 KB.
"""

from __future__ import annotations

import re

from newsletter.model.artifact import Artifact
from newsletter.targets.esp.base import ExportContext, check_size, json_file
from newsletter.targets.esp.dialect import convert, fixed_urls, require
from newsletter.targets.esp.handlebars import handlebars

__all__ = ["DIALECT", "TEMPLATE_LIMIT", "export"]

DIALECT = handlebars("ses", {"unsubscribe_url": "{{amazonSESUnsubscribeUrl}}"})

#: SES's limit on a template: subject, HTML and text parts together.
TEMPLATE_LIMIT = 500 * 1024


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``template.json``: ``{"TemplateName": ..., "TemplateContent": {Subject, Html, Text}}``."""
    email = artifact.email
    fixed = fixed_urls(context.settings, email.slug)
    require(DIALECT, fixed, email.subject, email.preheader, email.html, email.text)
    content = {
        "Subject": convert(email.subject, DIALECT, "header", fixed),
        "Html": convert(email.html, DIALECT, "html", fixed),
        "Text": convert(email.text, DIALECT, "text", fixed),
    }
    size = sum(len(part.encode()) for part in content.values())
    check_size("ses", "template", size, TEMPLATE_LIMIT)
    name = re.sub(r"[^A-Za-z0-9_-]", "-", email.slug)[:64]
    return {"template.json": json_file({"TemplateName": name, "TemplateContent": content})}
