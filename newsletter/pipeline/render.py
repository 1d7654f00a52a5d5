"""The theme: a Jinja2 environment over a chain of template folders, and what templates see.

A theme is ``email.mjml.j2`` for the HTML part (in the built-in themes only an ``{% extends %}``
of ``base.mjml.j2``, whose named blocks a theme or a workspace overrides one at a time) and
``email.txt.j2`` for the plain-text part. Its colours, fonts, sizes, layout and words are data
(``theme.toml``, :mod:`newsletter.model.theme`), handed to the templates in a typed context,
:class:`EmailContext`: the one list of what a template may read.

Issue content only ever reaches a template as data: autoescape is on for MJML, Markdown is
rendered and sanitised before it is marked safe, and no field is ever compiled as a template,
so ``{{ 7*7 }}`` in a headline prints as written. The theme's own words are escaped too, and
what they are filled with (``{brand}``) is escaped unless it is markup the theme made.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import posixpath
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypedDict, TypeVar
from urllib.parse import urlsplit

from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    pass_context,
    select_autoescape,
)
from jinja2.bccache import Bucket
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from markupsafe import Markup, escape

from newsletter.errors import NewsletterError
from newsletter.files import link_outside
from newsletter.model.issue import Image, Issue, Lead, Teaser, is_local_src, text_direction
from newsletter.model.settings import NewsletterSettings, Settings
from newsletter.model.theme import Brand, Colors, Fonts, Layout, Spacing, Theme, ThemeValues
from newsletter.pipeline import markdown, parsed
from newsletter.pipeline.transforms.sizes import read_source

__all__ = [
    "HTML_TEMPLATE",
    "TEXT_TEMPLATE",
    "EmailContext",
    "context",
    "environment",
    "local_date",
    "render",
]

HTML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"


class EmailContext(TypedDict):
    """Everything a theme's template may read (StrictUndefined makes anything else an error)."""

    issue: Issue
    lead: Lead
    #: ``(number, teaser)`` from 1: the number names the teaser's UTM slot (``teaser-3``).
    teasers: list[tuple[int, Teaser]]
    nl: NewsletterSettings
    theme: ThemeValues
    colors: Colors
    dark: Colors
    fonts: Fonts
    spacing: Spacing
    layout: Layout
    brand: Brand
    #: The issue's language and direction, and the sides they make the start and the end.
    lang: str
    dir: Literal["ltr", "rtl"]
    start: Literal["left", "right"]
    end: Literal["left", "right"]
    #: The issue's date in its language (Babel, ``[layout] date_format``).
    date: str
    #: ``t("more_from")``: the theme's words in the issue's language, ``{brand}``, ``{name}``
    #: and ``{site}`` filled in, other placeholders from keyword arguments.
    t: Callable[..., str]
    #: Whether straight quotes in the issue's copy are set as typographic ones: the plain
    #: fields of ``issue``, ``lead`` and ``teasers`` already are, and the ``markdown`` and
    #: ``markdown_text`` filters set the body's.
    smart_quotes: bool
    #: ``image_height(img, width)``: the px height of ``img`` shown ``width`` px wide, from its
    #: file; ``None`` for an image on the web (its file is not at hand). The ``height``
    #: attribute that keeps an image's box when a mail client blocks images.
    image_height: Callable[[Image, int], int | None]


def _host(url: str) -> str:
    return urlsplit(url).netloc.removeprefix("www.")


def _cut(body: str, words: int) -> tuple[str, bool]:
    """The Markdown ``body`` up to the paragraph that reaches ``words`` words, and whether
    anything was left out (never when ``words`` is 0). Cut between paragraphs only, so no
    sentence, link or list item is broken."""
    if not words:
        return body, False
    paragraphs = body.strip().split("\n\n")
    count = 0
    for index, paragraph in enumerate(paragraphs):
        count += len(paragraph.split())
        if count >= words and index + 1 < len(paragraphs):
            return "\n\n".join(paragraphs[: index + 1]), True
    return body, False


def _align(direction: str) -> str:
    """The side text of ``direction`` starts on: MJML's ``align`` and CSS ``text-align`` (the
    logical ``start`` is not understood by Outlook)."""
    return "right" if direction == "rtl" else "left"


class _CompiledTemplates(FileSystemBytecodeCache):
    """Jinja's cache of compiled templates, in the tool's own cache folder
    (``~/.cache/newsletter/jinja``) beside the parse cache, and pruned as it is: Jinja's own
    default, a folder in /tmp, keeps an entry for every version of every template in every
    workspace folder ever built and never removes one (a day of test runs left 26,000)."""

    #: The most entries kept, the oldest written going first: a theme is about twenty
    #: templates, and each edit of one, or each new workspace folder, makes another entry.
    ENTRIES = 2048
    #: Writes between two counts of the folder.
    COUNT_EVERY = 64

    def __init__(self, directory: str) -> None:
        super().__init__(directory)
        self._written = 0

    def dump_bytecode(self, bucket: Bucket) -> None:
        super().dump_bytecode(bucket)
        self._written += 1
        with contextlib.suppress(OSError):
            parsed.bound(
                Path(self.directory),
                self._written,
                keep=self.ENTRIES,
                every=self.COUNT_EVERY,
                entry=lambda name: name.endswith(".cache"),
            )


@lru_cache(maxsize=4)
def _bytecode_cache(base: str) -> FileSystemBytecodeCache | None:
    """The compiled templates under the cache folder ``base``, or none where that folder
    cannot be trusted (another user's, or open to others: what it holds is code) or made:
    only slower, never an error."""
    folder = Path(base) / "newsletter" / "jinja"
    try:
        return _CompiledTemplates(str(folder)) if parsed.own_folder(folder) else None
    except OSError:
        return None


def environment(theme_dirs: tuple[Path, ...]) -> Environment:
    """The Jinja2 environment over ``theme_dirs``, made once per theme and reused.

    Its loaded templates are kept between builds, where a new environment per build loaded
    all nine each time (a tenth of a warm build). Jinja checks each file's time on use, so an
    edited template is read again; a file added to or removed from a theme folder (a new
    override) changes the folder's time, and with it the environment.
    """
    return _environment(theme_dirs, _folder_times(theme_dirs))


def _folder_times(theme_dirs: tuple[Path, ...]) -> tuple[tuple[str, int], ...]:
    """Every folder of the theme with its modification time (-1: not there, as a workspace's
    override folder may not be yet). The folders found by the last walk are only looked at,
    and walked again when one of them changed: a file or folder added or removed."""
    known = _folders.get(theme_dirs)
    if known is not None and all(_mtime(folder) == time for folder, time in known):
        return known
    found = []
    for theme_dir in map(os.fspath, theme_dirs):
        found.append((theme_dir, _mtime(theme_dir)))
        found += [(folder, _mtime(folder)) for folder, _, _ in os.walk(theme_dir)][1:]
    _folders[theme_dirs] = times = tuple(found)
    return times


def _mtime(folder: str) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return -1


#: theme folders -> what :func:`_folder_times` found for them last
_folders: dict[tuple[Path, ...], tuple[tuple[str, int], ...]] = {}


class ThemeLoader(FileSystemLoader):
    """Jinja's loader of template files, which refuses a template that is a link leading out
    of its theme folder: a workspace's theme may come from anyone (a clone, a colleague's
    zip), and a ``partials/footer.mjml.j2`` that links to ``~/.ssh/id_rsa`` would otherwise be
    rendered into the email and sent to the list. The link is looked at before the file is
    read. (Loading the workspace reports such a link, and a theme folder that is one, first:
    :func:`newsletter.pipeline.theme.load_theme`.)"""

    def __init__(self, theme_dirs: tuple[Path, ...]) -> None:
        super().__init__([str(d) for d in theme_dirs])
        self._real = {folder: os.path.realpath(folder) for folder in self.searchpath}

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for folder in self.searchpath:
            filename = posixpath.join(folder, *pieces)
            if os.path.isfile(filename):
                outside = link_outside(filename, self._real[folder])
                if outside is not None:
                    raise TemplateError(
                        f"{template} is a link to {outside}, outside its theme folder: "
                        "copy the file into the theme instead"
                    )
                break
        return super().get_source(environment, template)


@lru_cache(maxsize=16)
def _environment(theme_dirs: tuple[Path, ...], _: tuple[tuple[str, int], ...]) -> Environment:
    env = Environment(
        loader=ThemeLoader(theme_dirs),
        autoescape=select_autoescape(enabled_extensions=("mjml.j2", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Compiled templates are kept in the user's cache folder, keyed by their source, so a
        # cold `newsletter build` skips compiling the theme (about 40 ms of a one-second run).
        bytecode_cache=_bytecode_cache(parsed.cache_base()),
    )
    env.filters.update(
        markdown=_markdown_html,
        markdown_text=_markdown_text,
        wrap=markdown.wrap,
        host=_host,
        longdate=lambda day, lang="en": local_date(day, lang),  # the web pages' dates
        direction=text_direction,
        align=_align,
        cut=_cut,
    )
    return env


def _quotes(ctx: Context, lang: str | None) -> tuple[str, str, str, str] | None:
    """The quote marks the Markdown of a story in ``lang`` (default: the issue's) is set
    with, or ``None`` where the issue's quotes stay as written."""
    if not ctx.get("smart_quotes"):
        return None
    return markdown.quote_marks(lang or ctx.get("lang") or "en")


@pass_context
def _markdown_html(ctx: Context, text: str, lang: str | None = None) -> Markup:
    """``{{ lead.body | markdown(lead.lang) }}``: the story's Markdown as sanitised HTML."""
    return Markup(markdown.to_html(text, _quotes(ctx, lang)))


@pass_context
def _markdown_text(ctx: Context, text: str, lang: str | None = None) -> str:
    """``{{ lead.body | markdown_text(lead.lang) }}``: the story's Markdown as plain text."""
    return markdown.to_text(text, quotes=_quotes(ctx, lang))


_Story = TypeVar("_Story", Lead, Teaser)


def _typeset(issue: Issue, lang: str) -> Issue:
    """``issue`` with typographic quotes in every plain field of its copy (the Markdown body
    is set by its filter, which knows code from prose), each story in its own language's
    marks. The subject and preheader stay as written: they are headers and inbox lines that
    the ESPs and the send journal take from the issue itself, and must match it."""

    def story(part: _Story, story_lang: str) -> _Story:
        fields: dict[str, Any] = {
            name: markdown.typographic(value, story_lang)
            for name in ("kicker", "headline", "byline", "summary")
            if isinstance(value := getattr(part, name, None), str)
        }
        if part.image:
            words = {"caption": part.image.caption, "credit": part.image.credit}
            fields["image"] = part.image.model_copy(
                update={k: markdown.typographic(v, story_lang) for k, v in words.items() if v}
            )
        return part.model_copy(update=fields)

    lead = story(issue.lead, issue.lead.lang or lang)
    teasers = [story(teaser, teaser.lang or lang) for teaser in issue.teasers]
    return issue.model_copy(update={"lead": lead, "teasers": teasers})


def _image_heights(root: Path | None) -> Callable[[Image, int], int | None]:
    def image_height(img: Image, width: int) -> int | None:
        if root is None or not is_local_src(img.src):
            return None
        try:
            # the header the assets stage reads next, read once for both (and cached)
            source = read_source(root, img.src)
        except NewsletterError:
            return None  # the assets stage says what is wrong with the file
        if not source.width:
            return None
        return max(1, round(width * source.height / source.width))

    return image_height


@lru_cache(maxsize=64)
def local_date(day: dt.date, lang: str, date_format: str = "long") -> str:
    """``day`` as the issue's language writes it: June 26, 2025; 26 juin 2025; ٢٦ يونيو ٢٠٢٥.

    A language Babel does not know falls back to English rather than failing a build. What
    Babel wrote is kept for the next process (:mod:`newsletter.pipeline.parsed`): loading a
    language's data took more than the rest of a render.
    """
    kind = f"date {parsed.made_by(__file__, libraries=('babel',))}"
    asked = f"{day.isoformat()} {lang} {date_format}"
    kept = parsed.get(kind, asked)
    if isinstance(kept, str):
        return kept
    from babel import Locale, UnknownLocaleError
    from babel.dates import format_date

    try:
        locale = Locale.parse(lang, sep="-")
    except (UnknownLocaleError, ValueError):
        locale = Locale("en")
    written = str(format_date(day, format=date_format, locale=locale))
    parsed.put(kind, asked, written)
    return written


def context(
    issue: Issue, settings: Settings, theme: Theme, *, html: bool = True, root: Path | None = None
) -> EmailContext:
    """What the templates see: the issue, the settings, the theme's values, and what is worked
    out once for all templates. ``html`` escapes the theme's words (off for the text part);
    ``root`` is the workspace that local images are read from for their heights."""
    nl = settings.newsletter
    values = theme.values
    lang = issue.lang or nl.lang
    direction: Literal["ltr", "rtl"] = "rtl" if text_direction("", lang) == "rtl" else "ltr"
    common = {"brand": nl.brand, "name": nl.name, "site": _host(nl.site_url)}
    smart_quotes = values.layout.smart_quotes if issue.smart_quotes is None else issue.smart_quotes
    if smart_quotes:
        issue = _typeset(issue, lang)
    return {
        "issue": issue,
        "lead": issue.lead,
        "teasers": list(enumerate(issue.teasers, start=1)),
        "nl": nl,
        "theme": values,
        "colors": values.colors,
        "dark": values.dark,
        "fonts": values.fonts,
        "spacing": values.spacing,
        "layout": values.layout,
        "brand": values.brand,
        "lang": lang,
        "dir": direction,
        "start": "right" if direction == "rtl" else "left",
        "end": "left" if direction == "rtl" else "right",
        "date": local_date(issue.date, lang, values.layout.date_format),
        "t": _words(theme.strings(lang), common, html=html),
        "smart_quotes": smart_quotes,
        "image_height": _image_heights(root),
    }


def _words(words: dict[str, str], common: dict[str, str], *, html: bool) -> Callable[..., str]:
    def t(key: str, **values: Any) -> str:
        try:
            text = words[key]
        except KeyError:
            raise NewsletterError(
                f"theme.toml: strings: no string {key!r} (known: {', '.join(sorted(words))})"
            ) from None
        filled = {**common, **values}
        try:
            return _filled(text, html, tuple(filled.items()))
        except (KeyError, IndexError) as error:
            raise NewsletterError(
                f"theme.toml: strings.{key}: unknown placeholder {{{error.args[0]}}} in {text!r}"
            ) from None

    return t


@lru_cache(maxsize=256)
def _filled(text: str, html: bool, values: tuple[tuple[str, Any], ...]) -> str:
    """The theme's string ``text`` with its placeholders filled (escaped for HTML): kept, as
    a template asks for the same words with the same values on every build."""
    if html:
        return Markup(escape(text)).format(**dict(values))
    return text.format(**dict(values))


def render(
    template: str,
    issue: Issue | None,
    settings: Settings,
    theme: Theme,
    extra: Mapping[str, Any] | None = None,
    *,
    root: Path | None = None,
) -> str:
    """Render one of the theme's templates for ``issue``; a template error names the file.

    ``extra`` adds to what the template sees: the web target's page URLs and image sizes. A
    template about no one issue (the web archive's index) is rendered with ``issue=None``.
    ``root``, the workspace, gives local images their heights.
    """
    env = environment(theme.dirs)
    html = template.endswith((".mjml.j2", ".html.j2"))
    values = (
        {"nl": settings.newsletter}
        if issue is None
        else context(issue, settings, theme, html=html, root=root)
    )
    try:
        return env.get_template(template).render({**values, **(extra or {})})
    except TemplateError as error:
        place = _template_place(error, theme.dirs) or template
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
