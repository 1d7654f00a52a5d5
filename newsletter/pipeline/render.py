"""The theme: a Jinja2 environment over a folder of MJML and plain-text templates.

A theme is ``email.mjml.j2`` (with partials it includes) for the HTML part and
``email.txt.j2`` for the plain-text part. A workspace's own ``templates/<theme>/`` is searched
before the built-in theme of that name, so a workspace can override a single partial.

Issue content only ever reaches a template as data: autoescape is on for MJML, Markdown is
rendered and sanitised before it is marked safe, and no field is ever compiled as a template,
so ``{{ 7*7 }}`` in a headline prints as written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)
from markupsafe import Markup

from newsletter.errors import NewsletterError
from newsletter.model.issue import Issue, Teaser, text_direction
from newsletter.model.settings import Settings
from newsletter.pipeline import markdown

__all__ = ["HTML_TEMPLATE", "TEXT_TEMPLATE", "context", "environment", "render"]

HTML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"


def _longdate(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _host(url: str) -> str:
    return urlsplit(url).netloc.removeprefix("www.")


@cache
def environment(theme_dirs: tuple[Path, ...]) -> Environment:
    """The Jinja2 environment over ``theme_dirs``, made once per theme and reused."""
    env = Environment(
        loader=FileSystemLoader([str(d) for d in theme_dirs]),
        autoescape=select_autoescape(enabled_extensions=("mjml.j2", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Compiled templates are kept in a per-user temporary folder, keyed by their source, so
        # a cold `newsletter build` skips compiling the theme (about 40 ms of a one-second run).
        bytecode_cache=FileSystemBytecodeCache(),
    )
    env.filters.update(
        markdown=lambda text: Markup(markdown.to_html(text)),
        markdown_text=markdown.to_text,
        wrap=markdown.wrap,
        longdate=_longdate,
        host=_host,
        direction=text_direction,
    )
    return env


def context(issue: Issue, settings: Settings) -> dict[str, Any]:
    """What the templates see: the issue, the settings, and values worked out once for both."""
    nl = settings.newsletter
    lang = issue.lang or nl.lang
    numbered = list(enumerate(issue.teasers, start=1))
    return {
        "issue": issue,
        "lead": issue.lead,
        "nl": nl,
        "lang": lang,
        "dir": text_direction("", lang),
        "teasers": numbered,
        "teaser_rows": _rows(numbered, 2),
    }


def _rows(items: Sequence[tuple[int, Teaser]], size: int) -> list[Sequence[tuple[int, Teaser]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def render(
    template: str,
    issue: Issue | None,
    settings: Settings,
    theme_dirs: tuple[Path, ...],
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Render one of the theme's templates for ``issue``; a template error names the file.

    ``extra`` adds to what the template sees: the web target's page URLs and image sizes. A
    template about no one issue (the web archive's index) is rendered with ``issue=None``.
    """
    env = environment(theme_dirs)
    values = {"nl": settings.newsletter} if issue is None else context(issue, settings)
    try:
        return env.get_template(template).render({**values, **(extra or {})})
    except TemplateError as error:
        place = _template_place(error, theme_dirs) or template
        raise NewsletterError(f"{place}: template error: {error.message}") from error


def _template_place(error: TemplateError, theme_dirs: tuple[Path, ...]) -> str | None:
    """``partials/lead.mjml.j2:11``: where in the theme the error happened.

    Syntax errors carry their place; errors while rendering (an undefined field) only show it
    in the traceback, where Jinja puts the template's own file and line.
    """
    name, line = getattr(error, "name", None), getattr(error, "lineno", None)
    if name is None:
        traceback = error.__traceback__
        while traceback is not None:
            filename = traceback.tb_frame.f_code.co_filename
            for folder in theme_dirs:
                if filename.startswith(str(folder) + "/"):
                    name, line = Path(filename).relative_to(folder).as_posix(), traceback.tb_lineno
            traceback = traceback.tb_next
    if name is None:
        return None
    return f"{name}:{line}" if line else name
