"""SendGrid: a dynamic template version (``POST /v3/templates/{id}/versions``) in Handlebars.

Subscriber fields come from ``dynamic_template_data`` (``first_name``, ``email``); the
unsubscribe and preferences links are SendGrid's own group-unsubscribe tags. SendGrid has no
web-version tag: ``[export] web_version_url`` gives the link.
"""

from __future__ import annotations

from newsletter.model.artifact import Artifact
from newsletter.targets.esp.base import ExportContext, json_file
from newsletter.targets.esp.dialect import convert, fixed_urls, require
from newsletter.targets.esp.handlebars import handlebars

__all__ = ["DIALECT", "export"]

DIALECT = handlebars(
    "sendgrid",
    {"unsubscribe_url": "{{{unsubscribe}}}", "preferences_url": "{{{unsubscribe_preferences}}}"},
)


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``template-version.json``: the body of SendGrid's create-version call."""
    email = artifact.email
    fixed = fixed_urls(context.settings, email.slug)
    require(DIALECT, fixed, email.subject, email.preheader, email.html, email.text)
    version = {
        "name": email.slug[:100],
        "subject": convert(email.subject, DIALECT, "header", fixed),
        "html_content": convert(email.html, DIALECT, "html", fixed),
        "plain_content": convert(email.text, DIALECT, "text", fixed),
        "generate_plain_content": False,
        "active": 1,
        "editor": "code",
    }
    return {"template-version.json": json_file(version)}
