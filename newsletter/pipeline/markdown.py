"""Markdown from issue files, as sanitised HTML for the email and as plain text for its text part.

Editors write the lead story's body in Markdown. Raw HTML in it is not interpreted (it prints as
written), and the HTML markdown-it-py makes still goes through nh3's allow-list, so that nothing
an issue file says can add a script, a style or an event handler to the email. The plain-text
rendering walks the same token stream, so both parts of the email say the same thing.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from newsletter.model import mergefields

__all__ = ["deepest", "to_html", "to_text", "wrap"]

_TAGS = {"p", "a", "em", "strong", "code", "ul", "ol", "li", "blockquote", "br", "h2", "h3", "h4"}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto"}


@cache
def _parser() -> MarkdownIt:
    # "html": False makes markdown-it print raw HTML as text instead of passing it through.
    parser = MarkdownIt("commonmark", {"html": False}).disable("image")
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


@lru_cache(maxsize=32)
def _tokens(text: str) -> tuple[Token, ...]:
    """``text`` parsed once for all three readers of a body (the loader's depth check, the
    HTML and the plain text), which only read the tokens: a build used to parse it four
    times, a tenth of a warm build."""
    return tuple(_parser().parse(text))


def deepest(text: str) -> tuple[int, int]:
    """``(depth, line)``: how deeply the Markdown nests and the line (from 0) where it does.

    markdown-it bounds the nesting of blocks (quotes, lists) itself, but not of emphasis:
    ``***...*word*...***`` nests one ``<em>``/``<strong>`` per pair of stars, and the MJML
    compiler overflows its stack a few thousand levels down. One linear pass over the tokens.
    """
    depth, line = 0, 0
    for token in _tokens(text):
        if token.level > depth:
            depth, line = token.level, (token.map or [line])[0]
        for child in token.children or ():
            if child.level + token.level > depth:
                depth, line = child.level + token.level, (token.map or [line])[0]
    return depth, line


@lru_cache(maxsize=32)
def to_html(text: str) -> str:
    """Markdown as HTML that holds only allow-listed tags, attributes and link schemes (the
    theme and the link checks both ask for it)."""
    parser = _parser()
    rendered = parser.renderer.render(list(_tokens(text)), parser.options, {})
    return nh3.clean(
        rendered, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_URL_SCHEMES, link_rel=None
    )


def wrap(text: str, width: int = 78, indent: str = "") -> str:
    """Wrap one paragraph at ``width`` columns without ever breaking a URL or a word.

    ``indent`` starts the first line (a list marker, quote marks); the lines after it keep the
    quote marks and indent past the list markers. (A greedy fill, as textwrap's with
    ``break_long_words`` and ``break_on_hyphens`` off, at a tenth of its cost.)
    """
    rest = re.sub(r"[^>]", " ", indent)
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = rest + word
        else:
            line = f"{line} {word}" if line else indent + word
    if line:
        lines.append(line)
    return "\n".join(lines)


def to_text(text: str, width: int = 78) -> str:
    """Markdown as plain text: paragraphs wrapped, links written ``text (url)``, lists bulleted."""
    blocks: list[str] = []
    prefix: list[str] = []  # list markers and quote marks of the blocks we are inside
    numbers: list[int] = []
    for token in _tokens(text):
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
