"""Copy the theme's CSS into ``style`` attributes, keeping ``@media`` rules in ``<style>``.

Two engines: premailer (the default) and css-inline (faster). premailer's defaults are wrong for
email built this way, as measured: it downloads remote stylesheets and strips ``!important``,
which breaks the phone and dark-mode rules. Both engines are set up here so that no network is
used, ``!important`` survives, and the ``<style>`` blocks stay for the media queries. A failure
is raised, never swallowed: un-inlined HTML sent by mistake looks broken in Outlook.
"""

from __future__ import annotations

import logging
from typing import Literal

from ..problems import NewsletterError

__all__ = ["inline_css"]


def inline_css(html: str, *, engine: Literal["premailer", "css-inline"] = "premailer") -> str:
    """Inline the CSS of ``html`` with ``engine``."""
    try:
        if engine == "css-inline":
            import css_inline

            inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
            out: str = inliner.inline(html)
            return out
        from premailer import Premailer

        # A fresh Premailer per call: it keeps state, and builds may run side by side.
        return str(
            Premailer(
                html,
                allow_network=False,
                strip_important=False,
                keep_style_tags=True,
                disable_validation=True,
                remove_classes=False,
                # MJML gives every image a width in pixels, which Outlook for Windows needs;
                # premailer would overwrite it with the CSS width (100%).
                disable_basic_attributes=["width", "height"],
                cssutils_logging_level=logging.CRITICAL,
            ).transform()
        )
    except Exception as error:  # both engines raise their own exception types
        raise NewsletterError(f"CSS inlining ({engine}) failed: {error}") from error
