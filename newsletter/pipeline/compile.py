"""MJML to HTML with mjml-python (the Rust MRML engine), with the checks MRML leaves out.

MRML accepts a misspelt tag without a word and drops it from the output, so a theme typo
(``<mj-sectoin>``) would silently lose a whole block of the email. The tags are checked against
MJML's own list first, and any MRML error is re-raised naming the template it came from.
"""

from __future__ import annotations

import re

from mjml import mjml2html

from newsletter.errors import NewsletterError

__all__ = ["MJML_TAGS", "compile_mjml"]

#: Every tag of MJML 4 (core components and head elements).
MJML_TAGS = frozenset(
    [
        "mjml",
        "mj-head",
        "mj-body",
        "mj-include",
        "mj-attributes",
        "mj-all",
        "mj-class",
        "mj-breakpoint",
        "mj-font",
        "mj-html-attributes",
        "mj-html-attribute",
        "mj-selector",
        "mj-preview",
        "mj-style",
        "mj-title",
        "mj-accordion",
        "mj-accordion-element",
        "mj-accordion-title",
        "mj-accordion-text",
        "mj-button",
        "mj-carousel",
        "mj-carousel-image",
        "mj-column",
        "mj-divider",
        "mj-group",
        "mj-hero",
        "mj-image",
        "mj-navbar",
        "mj-navbar-link",
        "mj-raw",
        "mj-section",
        "mj-social",
        "mj-social-element",
        "mj-spacer",
        "mj-table",
        "mj-text",
        "mj-wrapper",
    ]
)

_TAG = re.compile(r"</?(mj[a-z0-9-]*)\b", re.IGNORECASE)


def compile_mjml(mjml: str, *, template: str = "email.mjml.j2") -> str:
    """Compile ``mjml`` to HTML; an unknown tag or an MRML error names ``template``."""
    unknown = sorted({tag for tag in _TAG.findall(mjml) if tag.lower() not in MJML_TAGS})
    if unknown:
        raise NewsletterError(f"{template}: unknown MJML tag <{'>, <'.join(unknown)}>")
    try:
        html: str = mjml2html(mjml)
    except (ValueError, RuntimeError) as error:
        raise NewsletterError(f"{template}: MJML error: {error}") from None
    return html
