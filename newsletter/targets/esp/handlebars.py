"""The Handlebars dialect shared by SendGrid and SES, with each ESP's own tags.

A subscriber field is a template variable, written as the ESP's engine needs it in each part
(``variable``): SendGrid's Handlebars escapes ``{{first_name}}`` in HTML and leaves
``{{{first_name}}}`` raw for text and subject; SES escapes nothing, so its HTML reads a variable
of values escaped beforehand (``{{first_name_html}}``). A fallback becomes
``{{#if first_name}}...{{else}}there{{/if}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from newsletter.model.mergefields import MergeField
from newsletter.targets.esp.dialect import Defuse, Dialect, Kind, defuse_braces, literal

__all__ = ["VARIABLES", "handlebars"]

#: The merge fields every Handlebars ESP receives as template data with each send.
VARIABLES = ("first_name", "email")


def handlebars(
    esp: str,
    native: Mapping[str, str],
    variable: Callable[[str, Kind], str],
    *,
    variables: Collection[str] = VARIABLES,
    defuse: Defuse = defuse_braces,
) -> Dialect:
    """The Handlebars dialect of ``esp``: ``native`` maps merge fields to the ESP's own tags,
    ``variable`` writes a template variable for a part, ``variables`` are the fields sent as
    template data, ``defuse`` makes literal text safe (braces, and the ESP's own tags)."""

    def tag(field: MergeField, kind: Kind) -> str | None:
        if field.name in native:
            return native[field.name]
        if field.name not in variables:
            return None
        value = variable(field.name, kind)
        if not field.fallback:
            return value
        fallback = literal(field.fallback, defuse, kind, before="}", after="{")
        return f"{{{{#if {field.name}}}}}{value}{{{{else}}}}{fallback}{{{{/if}}}}"

    return Dialect(esp, tag, defuse)
