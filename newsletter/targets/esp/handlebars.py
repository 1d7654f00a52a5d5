"""The Handlebars dialect shared by SendGrid, Mailgun and SES, with each ESP's own tags.

A subscriber field is a template variable: ``{{first_name}}`` in HTML (Handlebars escapes it),
``{{{first_name}}}`` in plain text and headers (no HTML escaping there). A fallback becomes
``{{#if first_name}}{{first_name}}{{else}}there{{/if}}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from newsletter.model.mergefields import MergeField
from newsletter.targets.esp.dialect import Dialect, Kind, defuse_braces

__all__ = ["VARIABLES", "handlebars"]

#: The merge fields every Handlebars ESP receives as template data with each send.
VARIABLES = ("first_name", "email")


def handlebars(esp: str, native: Mapping[str, str]) -> Dialect:
    """The Handlebars dialect of ``esp``; ``native`` maps merge fields to the ESP's own tags."""

    def tag(field: MergeField, kind: Kind) -> str | None:
        if field.name in native:
            return native[field.name]
        if field.name not in VARIABLES:
            return None
        value = f"{{{{{field.name}}}}}" if kind == "html" else f"{{{{{{{field.name}}}}}}}"
        if not field.fallback:
            return value
        fallback = defuse_braces(field.fallback, kind)
        return f"{{{{#if {field.name}}}}}{value}{{{{else}}}}{fallback}{{{{/if}}}}"

    return Dialect(esp, tag, defuse_braces)
