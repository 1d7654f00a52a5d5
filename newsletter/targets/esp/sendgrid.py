"""SendGrid: a dynamic template version (``POST /v3/templates/{id}/versions``) in Handlebars.

Subscriber fields come from ``dynamic_template_data`` (``first_name``, ``email``): escaped in
HTML (``{{first_name}}``), raw in text and subject (``{{{first_name}}}``). The unsubscribe and
preferences links are SendGrid's documented group-unsubscribe tags,
``<%asm_group_unsubscribe_raw_url%>`` and ``<%asm_preferences_raw_url%>``, which SendGrid fills
only when the send carries an ``asm.group_id`` (an unsubscribe group); the List-Unsubscribe
header is added only with subscription tracking on (Settings > Tracking). SendGrid has no
web-version tag: ``[export] web_version_url`` gives the link. A subject is at most 255
characters, a version's content at most 1 MB.
"""

from __future__ import annotations

import re

from newsletter.model.artifact import Artifact
from newsletter.targets.esp.base import ExportContext, check_size, check_subject, json_file
from newsletter.targets.esp.dialect import (
    ZWSP,
    Kind,
    convert,
    defuse_braces,
    fixed_urls,
    require,
)
from newsletter.targets.esp.handlebars import handlebars

__all__ = ["CONTENT_LIMIT", "DIALECT", "SUBJECT_LIMIT", "export"]

#: SendGrid's limits: subject characters, bytes of a template version's content.
SUBJECT_LIMIT = 255
CONTENT_LIMIT = 1024 * 1024

_TAG_OPEN = re.compile(r"<(?=%)")


def _defuse(text: str, kind: Kind) -> str:
    """Braces (Handlebars), and ``<%`` that opens SendGrid's own tags."""
    text = defuse_braces(text, kind)
    if "<%" not in text:
        return text
    return _TAG_OPEN.sub("&lt;" if kind == "html" else "<" + ZWSP, text)


DIALECT = handlebars(
    "sendgrid",
    {
        "unsubscribe_url": "<%asm_group_unsubscribe_raw_url%>",
        "preferences_url": "<%asm_preferences_raw_url%>",
    },
    lambda name, kind: f"{{{{{name}}}}}" if kind == "html" else f"{{{{{{{name}}}}}}}",
    defuse=_defuse,
)


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``template-version.json``: the body of SendGrid's create-version call."""
    email = artifact.email
    fixed = fixed_urls(context.settings, email.slug)
    require(DIALECT, fixed, email.subject, email.preheader, email.html, email.text)
    subject = convert(email.subject, DIALECT, "header", fixed)
    html = convert(email.html, DIALECT, "html", fixed)
    text = convert(email.text, DIALECT, "text", fixed)
    check_subject("sendgrid", subject, SUBJECT_LIMIT)
    check_size("sendgrid", "template", len(html.encode()) + len(text.encode()), CONTENT_LIMIT)
    version = {
        "name": email.slug[:100],
        "subject": subject,
        "html_content": html,
        "plain_content": text,
        "generate_plain_content": False,
        "active": 1,
        "editor": "code",
    }
    return {"template-version.json": json_file(version)}
