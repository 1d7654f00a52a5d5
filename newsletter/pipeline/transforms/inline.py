"""Copy the theme's CSS into ``style`` attributes, keeping ``@media`` rules in ``<style>``.

Two engines: css-inline (the default) and premailer. They lay the email out the same (the
layout, phone, dark-mode and Outlook tests run on both), and css-inline, in Rust, does it 2-3x
faster warm and spares a cold build ~250 ms of cssutils' start-up (``bench/compose.py``), so
it is the default; premailer stays supported. premailer's defaults are wrong for email built
this way, as measured: it downloads remote stylesheets and strips ``!important``,
which breaks the phone and dark-mode rules. Both engines are set up here so that no network is
used, ``!important`` survives, and the ``<style>`` blocks stay for the media queries. A failure
is raised, never swallowed: un-inlined HTML sent by mistake looks broken in Outlook.

This step stands in for MJML's ``<mj-style inline="inline">``, which mjml-python ignores: a
theme marks the ``<mj-style>`` blocks to inline by starting them with the comment
``/* inline */``, and only those are inlined; every other ``<style>`` (MJML's own reset and
column rules, the phone and dark-mode rules) stays in ``<head>`` as MJML leaves it. A theme
with no marked block has all of its CSS inlined. Inlining MJML's reset as well copied
``border-collapse`` and friends onto every table cell: 6 KB more HTML and half of premailer's
time, for nothing.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from newsletter.errors import NewsletterError

__all__ = ["MARKER", "inline_css"]

#: The comment that starts an ``<mj-style>`` block to inline.
MARKER = "/* inline */"

_STYLE = re.compile(r"<style\b(?=[^>]*>\s*(/\*\s*inline\s*\*/)?)", re.IGNORECASE)
_IGNORE = ' data-premailer="ignore" data-css-inline="ignore"'
_DOCTYPE = re.compile(r"\s*(<!doctype[^>]*>)", re.IGNORECASE)


def _marked_css_only(html: str) -> str:
    """``html`` with every ``<style>`` that does not start with :data:`MARKER` marked for both
    engines to leave alone, when any does (the email cut and joined once, not copied whole
    for each mark)."""
    styles = list(_STYLE.finditer(html))
    if not any(style[1] for style in styles):
        return html
    pieces: list[str] = []
    done = 0
    for style in styles:
        if not style[1]:
            pieces += (html[done : style.end()], _IGNORE)
            done = style.end()
    pieces.append(html[done:])
    return "".join(pieces)


@cache
def _premailer() -> Any:
    """premailer's ``Premailer`` class, with cssutils' property validation out of the way.

    cssutils checks every property it parses against its CSS profiles only to log warnings,
    which are silenced here anyway; compiling those profiles cost ~200 ms on the first inline of
    a process and a quarter of every inline after it, for byte-identical output (measured on
    the example). cssutils is premailer's alone in this process, so its profiles are dropped.
    """
    import cssutils
    from premailer import Premailer

    cssutils.profile.removeProfile(all=True)
    return Premailer


@cache
def _css_inliner() -> Any:
    """One css-inline inliner per process: its options are all it holds, and it inlines each
    email on its own."""
    import css_inline

    return css_inline.CSSInliner(
        keep_style_tags=True, keep_link_tags=True, load_remote_stylesheets=False
    )


def _unmarked(html: str) -> str:
    """``html`` without the marks :func:`_marked_css_only` added (two searches for a literal
    in C, where a regular expression stepped through the whole email)."""
    return html.replace(' data-premailer="ignore"', "").replace(' data-css-inline="ignore"', "")


def inline_css(html: str, *, engine: Literal["premailer", "css-inline"] = "css-inline") -> str:
    """Inline the theme's CSS of ``html`` with ``engine``, keeping its doctype."""
    doctype = _DOCTYPE.match(html)
    inlined = _inline(_marked_css_only(html), engine)
    if doctype and not _DOCTYPE.match(inlined):
        # premailer drops it (lxml serialises the tree without one), which puts every client
        # that renders the HTML as a page (webmail previews, browsers) into quirks mode.
        inlined = f"{doctype[1]}\n{inlined}"
    return inlined


def _inline(html: str, engine: Literal["premailer", "css-inline"]) -> str:
    try:
        if engine == "css-inline":
            out: str = _css_inliner().inline(html)
            return _unmarked(out)
        # A fresh Premailer per call: it keeps state, and builds may run side by side. logging
        # is imported here, where premailer imports it anyway: css-inline builds never need it.
        import logging

        inlined = str(
            _premailer()(
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
        return _unmarked(inlined)
    except Exception as error:  # both engines raise their own exception types
        raise NewsletterError(f"CSS inlining ({engine}) failed: {error}") from error
