"""Markdown from issue files, as sanitised HTML for the email and as plain text for its text part.

Editors write the lead story's body in Markdown. Raw HTML in it is not interpreted (it prints as
written), and the HTML markdown-it-py makes still goes through nh3's allow-list, so that nothing
an issue file says can add a script, a style or an event handler to the email. The plain-text
rendering walks the same token stream, so both parts of the email say the same thing.

Straight quotes become typographic ones (curly double and single quotes, U+2019 for an
apostrophe, guillemets in French, low-high ones in German ...) when ``smart_quotes`` is on: markdown-it's typographer
in the Markdown, and :func:`typographic`, the same rule over the same tokens, in the plain
fields (headline, kicker, summary ...). Code, link targets, attributes and merge fields
(``%%first_name|y'all%%``) are left as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from newsletter.model import mergefields
from newsletter.pipeline import parsed

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_core.state_core import StateCore
    from markdown_it.token import Token

__all__ = [
    "deepest",
    "quote_marks",
    "rendered_html",
    "to_html",
    "to_text",
    "typographic",
    "wrap",
]

_TAGS = {"p", "a", "em", "strong", "code", "ul", "ol", "li", "blockquote", "br", "h2", "h3", "h4"}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto"}


#: The quote marks of a language (by its first subtag): double open, double close, single open,
#: single close. A language not listed gets the English ones.
QUOTES: dict[str, tuple[str, str, str, str]] = {
    "en": ("“", "”", "‘", "’"),
    "ar": ("«", "»", "‹", "›"),
    "de": ("„", "“", "‚", "‘"),
    "es": ("«", "»", "“", "”"),
    "fr": ("«\u202f", "\u202f»", "“", "”"),  # with the narrow no-break space French sets inside
    "it": ("«", "»", "“", "”"),
    "ru": ("«", "»", "„", "“"),
}


#: A language's four marks, or ``None``: the quotes left as written.
Quotes = tuple[str, str, str, str] | None


def quote_marks(lang: str) -> tuple[str, str, str, str]:
    """The typographic quotes of ``lang`` (``fr-CA`` as ``fr``), English's by default."""
    return QUOTES.get(lang.split("-")[0].lower(), QUOTES["en"])


@cache
def _parser(quotes: Quotes = None) -> MarkdownIt:
    """The Markdown parser, with typographic ``quotes`` (``None``: quotes left as written)."""
    from markdown_it import MarkdownIt

    # "html": False makes markdown-it print raw HTML as text instead of passing it through.
    options = {"html": False, "typographer": quotes is not None, "quotes": list(quotes or "“”‘’")}
    parser = MarkdownIt("commonmark", options).disable("image")
    if quotes is not None:
        parser.enable("smartquotes")
        parser.core.ruler.before("smartquotes", "merge_fields", _merge_fields)
    encode = parser.normalizeLink

    def normalize(url: str) -> str:
        """A link whose target is one merge field (``[Unsubscribe](%%unsubscribe_url%%)``) is
        kept as written, for the send to fill; percent-encoded it would be ``%25%25...``."""
        field = next(mergefields.find(url), None)
        if field is not None and field.start == 0 and field.end == len(url):
            return url
        return encode(url)

    parser.normalizeLink = normalize  # type: ignore[method-assign]
    return parser


def _split_merge_fields(tokens: list[Token]) -> list[Token]:
    """``tokens`` with each merge field in a text token made a token of its own, of a type the
    typographer passes over (``text_special``, which markdown-it joins back into the text after
    it): a fallback's apostrophe (``%%first_name|y'all%%``) is the merge field's, not prose."""
    from markdown_it.token import Token

    out: list[Token] = []
    for token in tokens:
        fields = list(mergefields.find(token.content)) if token.type == "text" else []
        start = 0
        for field in fields:
            for kind, content in (
                ("text", token.content[start : field.start]),
                ("text_special", token.content[field.start : field.end]),
            ):
                if content:
                    out.append(Token(kind, "", 0, content=content, level=token.level))
            start = field.end
        if not fields:
            out.append(token)
        elif token.content[start:]:
            out.append(Token("text", "", 0, content=token.content[start:], level=token.level))
    return out


def _merge_fields(state: StateCore) -> None:
    for token in state.tokens:
        if token.type == "inline" and token.children and "%%" in token.content:
            token.children = _split_merge_fields(token.children)


@lru_cache(maxsize=256)
def typographic(text: str, lang: str) -> str:
    """A plain field (a headline, a summary) with the typographic quotes of ``lang``: the
    typographer's own rule run over the field as one text, merge fields kept apart as in the
    Markdown, so that a headline and the body beside it are set alike."""
    if "'" not in text and '"' not in text:
        return text
    return str(_kept("typographic", (text, lang), lambda: _typeset(text, lang)))


def _typeset(text: str, lang: str) -> str:
    from markdown_it.rules_core.smartquotes import process_inlines
    from markdown_it.rules_core.state_core import StateCore
    from markdown_it.token import Token

    tokens = _split_merge_fields([Token("text", "", 0, content=text)])
    process_inlines(tokens, StateCore(text, _parser(quote_marks(lang)), {}))
    return "".join(token.content for token in tokens)


def _kept(name: str, args: tuple[object, ...], make: Callable[[], Any]) -> Any:
    """What ``make`` gives for ``args``, kept for the next process as well
    (:mod:`newsletter.pipeline.parsed`): a build of a story written before then imports
    neither markdown-it nor nh3, as much of a cold start as Jinja itself."""
    return parsed.kept(f"markdown {name} {_made_by()}", json.dumps(args, ensure_ascii=False), make)


def _made_by() -> str:
    return parsed.made_by(__file__, mergefields.__file__, libraries=("markdown_it", "nh3"))


def _readings_kind() -> str:
    return f"markdown readings {_made_by()}"


#: How deeply a body may nest (the loader refuses a deeper one: ``pipeline.load``); what is
#: read of a body nested deeper is its depth alone, never its HTML.
MAX_NESTING = 20

#: The text part's columns by default.
_DEFAULT_WIDTH = 78


@lru_cache(maxsize=32)
def _readings(text: str) -> dict[str, Any]:
    """Every reading of the body ``text`` made so far (its depth, its HTML and its plain text
    under given quotes), kept as one parse-cache entry. The first read of a body makes the
    three a build makes under the default settings (English quotes, 78 columns), whichever
    reader asks first: a new issue then writes one entry, not three, each a new file (about
    a quarter of a millisecond of processor time each, measured on a thousand issues)."""
    hit = parsed.get(_readings_kind(), text)
    if isinstance(hit, dict):
        return hit
    default = QUOTES["en"]
    readings: dict[str, Any] = {"deepest": list(_deepest(text))}
    if readings["deepest"][0] <= MAX_NESTING:
        readings[_name("html", default)] = _html(text, default)
        readings[_name("text", _DEFAULT_WIDTH, default)] = _text(text, _DEFAULT_WIDTH, default)
    parsed.put(_readings_kind(), text, readings)
    return readings


def _name(reading: str, *args: object) -> str:
    return f"{reading} {json.dumps(args, ensure_ascii=False)}"


def _reading(text: str, name: str, make: Callable[[], Any], kind: type) -> Any:
    """The reading ``name`` of ``text``: kept, else made by ``make`` and kept with the rest.
    A kept value not of ``kind`` is made again, as a fresh parse would be."""
    readings = _readings(text)
    value = readings.get(name)
    if not isinstance(value, kind):
        value = readings[name] = make()
        parsed.put(_readings_kind(), text, readings)
    return value


@lru_cache(maxsize=32)
def _tokens(text: str, quotes: Quotes) -> tuple[Token, ...]:
    """``text`` parsed once for all three readers of a body (the loader's depth check, the
    HTML and the plain text), which only read the tokens: a build used to parse it four
    times, a tenth of a warm build."""
    return tuple(_parser(quotes).parse(text))


@lru_cache(maxsize=32)
def deepest(text: str) -> tuple[int, int]:
    """``(depth, line)``: how deeply the Markdown nests and the line (from 0) where it does.

    markdown-it bounds the nesting of blocks (quotes, lists) itself, but not of emphasis:
    ``***...*word*...***`` nests one ``<em>``/``<strong>`` per pair of stars, and the MJML
    compiler overflows its stack a few thousand levels down. One linear pass over the tokens.
    """
    found = _reading(text, "deepest", lambda: list(_deepest(text)), list)
    return int(found[0]), int(found[1])


def _deepest(text: str) -> tuple[int, int]:
    depth, line = 0, 0
    for token in _tokens(text, QUOTES["en"]):  # the quotes change no nesting: the default's
        if token.level > depth:
            depth, line = token.level, (token.map or [line])[0]
        for child in token.children or ():
            if child.level + token.level > depth:
                depth, line = child.level + token.level, (token.map or [line])[0]
    return depth, line


@lru_cache(maxsize=32)
def to_html(text: str, quotes: Quotes = QUOTES["en"]) -> str:
    """Markdown as HTML that holds only allow-listed tags, attributes and link schemes, with
    typographic ``quotes`` (:func:`quote_marks`; English by default, as the theme's default
    is on) or the quotes as written (``None``)."""
    html = str(_reading(text, _name("html", quotes), lambda: _html(text, quotes), str))
    _latest_html.pop(text, None)
    _latest_html[text] = html
    if len(_latest_html) > 32:
        del _latest_html[next(iter(_latest_html))]
    return html


#: Markdown text -> the HTML :func:`to_html` last made of it, under whichever quotes, oldest
#: first: what :func:`rendered_html` hands the link checks.
_latest_html: dict[str, str] = {}


def rendered_html(text: str) -> str:
    """``text`` as HTML under the quotes the theme last rendered it with, else the default
    ones: for readers of its links and tags, which the quotes never change (the typographer
    sets only text). The checks read the body's links here rather than render it again,
    which was a tenth of their time, and wrote a parse-cache file per issue besides."""
    found = _latest_html.get(text)
    return to_html(text) if found is None else found


def _html(text: str, quotes: Quotes) -> str:
    import nh3

    parser = _parser(quotes)
    rendered = parser.renderer.render(list(_tokens(text, quotes)), parser.options, {})
    return nh3.clean(
        rendered, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_URL_SCHEMES, link_rel=None
    )


_WORD = re.compile(r"[^ \t\n\r\f\v]+")


@lru_cache(maxsize=256)
def wrap(text: str, width: int = 78, indent: str = "") -> str:
    """Wrap one paragraph at ``width`` columns without ever breaking a URL or a word.

    ``indent`` starts the first line (a list marker, quote marks); the lines after it keep the
    quote marks and indent past the list markers. (A greedy fill, as textwrap's with
    ``break_long_words`` and ``break_on_hyphens`` off, at a tenth of its cost.) Only ASCII
    spaces break: a no-break space (French « quotes », ``10\u00a0km``) holds its words together.
    """
    rest = re.sub(r"[^>]", " ", indent)
    lines: list[str] = []
    line = ""
    for word in _WORD.findall(text):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = rest + word
        else:
            line = f"{line} {word}" if line else indent + word
    if line:
        lines.append(line)
    return "\n".join(lines)


@lru_cache(maxsize=32)
def to_text(text: str, width: int = _DEFAULT_WIDTH, quotes: Quotes = QUOTES["en"]) -> str:
    """Markdown as plain text: paragraphs wrapped, links written ``text (url)``, lists bulleted;
    ``quotes`` as for :func:`to_html`."""
    return str(
        _reading(text, _name("text", width, quotes), lambda: _text(text, width, quotes), str)
    )


def _text(text: str, width: int, quotes: Quotes) -> str:
    blocks: list[str] = []
    prefix: list[str] = []  # list markers and quote marks of the blocks we are inside
    numbers: list[int] = []
    for token in _tokens(text, quotes):
        if token.type == "bullet_list_open":
            numbers.append(0)
        elif token.type == "ordered_list_open":
            numbers.append(int(str(token.attrGet("start") or 1)))
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            numbers.pop()
        elif token.type == "list_item_open":
            number = numbers[-1]
            prefix.append(f"{number}. " if number else "- ")
            if number:
                numbers[-1] += 1
        elif token.type == "list_item_close":
            prefix.pop()
        elif token.type == "blockquote_open":
            prefix.append("> ")
        elif token.type == "blockquote_close":
            prefix.pop()
        elif token.type == "inline":
            lead = "".join(prefix)
            body = _inline_text(token)
            blocks.append(wrap(body, width, lead))
            if prefix and prefix[-1] != "> ":
                # a list item's first paragraph carries the marker, later ones are indented
                prefix[-1] = " " * len(prefix[-1])
        elif token.type == "fence" or token.type == "code_block":
            blocks.append(token.content.rstrip("\n"))
    return "\n\n".join(blocks)


def _inline_text(token: Token) -> str:
    out: list[str] = []
    hrefs: list[tuple[str, int]] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "link_open":
            hrefs.append((str(child.attrGet("href") or ""), len(out)))
        elif child.type == "link_close" and hrefs:
            href, start = hrefs.pop()
            label = "".join(out[start:]).strip()
            if href and href != label and not href.startswith("mailto:"):
                out.append(f" ({href})")
        elif child.type == "html_inline":
            out.append(child.content)
    return "".join(out)
