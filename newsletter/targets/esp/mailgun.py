"""Mailgun: a template (``POST /v3/{domain}/templates``) in Handlebars, and its text part.

Subscriber fields come from the message's template variables (``first_name``, ``email``);
``%unsubscribe_url%`` is Mailgun's own unsubscribe link, filled when unsubscribe tracking is on.
Mailgun has no web-version or preferences tag: ``[export]`` gives those links. Mailgun keeps
templates of at most 100 KB.
"""

from __future__ import annotations

import json
import re

from newsletter.model.artifact import Artifact
from newsletter.targets.esp.base import ExportContext, check_size, json_file
from newsletter.targets.esp.dialect import convert, fixed_urls, require
from newsletter.targets.esp.handlebars import handlebars

__all__ = ["DIALECT", "TEMPLATE_LIMIT", "export"]

DIALECT = handlebars("mailgun", {"unsubscribe_url": "%unsubscribe_url%"})

#: Mailgun's limit on the size of a template's content.
TEMPLATE_LIMIT = 100 * 1024


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``template.json`` (the create-template form fields) and ``template.txt`` (text part)."""
    email = artifact.email
    fixed = fixed_urls(context.settings, email.slug)
    require(DIALECT, fixed, email.subject, email.preheader, email.html, email.text)
    html = convert(email.html, DIALECT, "html", fixed)
    check_size("mailgun", "template", len(html.encode()), TEMPLATE_LIMIT)
    template = {
        "name": re.sub(r"[^a-z0-9_-]", "-", email.slug.lower()),
        "description": email.subject,
        "template": html,
        "engine": "handlebars",
        "headers": json.dumps({"Subject": convert(email.subject, DIALECT, "header", fixed)}),
    }
    return {
        "template.json": json_file(template),
        "template.txt": convert(email.text, DIALECT, "text", fixed).encode(),
    }
