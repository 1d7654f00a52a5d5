"""What every rule looks at, worked out once: the parsed HTML, its links and images, the issue's
own text and URLs, and how to point at the place a finding comes from.

Rules are small functions of a :class:`Context`; anything two rules need (the parsed HTML,
the list of links, the URLs the editor wrote) is a cached property here, so the HTML is parsed
once however many rules run.

The HTML is parsed with lexbor (selectolax), which reads an email in a tenth of a millisecond
and imports in a third of the time lxml takes: lxml's import alone was more than a cold
build's whole budget for the checks. Lexbor keeps no line numbers, so :meth:`Context.line`
finds an element's start tag in the source when a finding needs one (rarely: most places are
fields of the issue file), on the line that lxml reported, where its ``>`` is.
"""

from __future__ import annotations

import html as htmllib
import re
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, NamedTuple

from newsletter.mail.message import header_block, plain_header
from newsletter.model.artifact import Artifact
from newsletter.model.settings import CheckSettings
from newsletter.model.validation import Loc, field_path, strings
from newsletter.model.workspace import Workspace
from newsletter.pipeline import markdown

if TYPE_CHECKING:
    from email.message import EmailMessage

    from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["Context", "Hit", "Link", "attribute", "mangled_by_urlsplit", "origin", "text_of"]


class Hit(NamedTuple):
    """What a rule found and where; the runner adds the rule's id and configured severity."""

    message: str
    location: str


class Link(NamedTuple):
    """An ``<a href>`` of the email: its target as written, its visible text, its element."""

    href: str
    text: str
    element: LexborNode


_MD_HREF = re.compile(r'href="([^"]*)"')
_LINE_END = re.compile(r"\r\n|\r|\n")
# Compiled when first needed (rarely: for a finding in the theme's markup), not by every
# process that imports the checks.
_COMMENT = r"<!--[^-]*(?:-(?!->)[^-]*)*-->"  # <!--.*?--> in half the time
_START_TAG = r"<([a-zA-Z][^\s/>]*)[^>]*>"


class Context:
    """One email under review, with everything the rules share computed on first use."""

    def __init__(
        self,
        artifact: Artifact,
        workspace: Workspace,
        *,
        message: EmailMessage | None = None,
    ) -> None:
        self.artifact = artifact
        self.email = artifact.email
        self.issue = artifact.issue
        self.workspace = workspace
        self.settings: CheckSettings = workspace.settings.check
        self._message = message
        self._originals: dict[str, str] = {}  # a link of the email -> its href before UTM

    # ---- the email -------------------------------------------------------------------------

    @cached_property
    def html_size(self) -> int:
        """The HTML's size in bytes, as it is sent (UTF-8)."""
        return len(self._html_bytes)

    @cached_property
    def _html_bytes(self) -> bytes:
        """The HTML in UTF-8, made once for its size and for lexbor, which reads bytes as
        UTF-8 and would otherwise encode the text again itself."""
        return self.email.html.encode()

    @cached_property
    def tree(self) -> LexborHTMLParser:
        """The email's HTML, parsed once."""
        from selectolax.lexbor import LexborHTMLParser

        return LexborHTMLParser(self._html_bytes)

    def header(self, name: str) -> str:
        """The first ``name`` header of the message whose headers are checked (the one given,
        else the artifact's own, made for the sample subscriber), as ``str()`` of the default
        policy's header object gives it; ``""`` where there is none."""
        if self._message is not None:
            return str(self._message.get(name) or "")
        value = self._own_headers.get(name.lower())
        return "" if value is None else _header_text(name, value)

    @cached_property
    def _own_headers(self) -> dict[str, str]:
        """The artifact's message's headers: lower-cased name -> the first value, unfolded as
        the default policy hands it to its header factory. The email parser's own pass over
        them (line by line in Python, then a header object each) was most of what the header
        checks took; this keeps its reading of every line."""
        head = header_block(self.artifact.message)
        found: dict[str, list[str]] = {}
        current: list[str] = []
        for line in _LINE_END.split(head.decode("ascii", "surrogateescape")):
            if line[:1] in (" ", "\t"):
                current.append(line)
            elif ":" in line:
                name, _, value = line.partition(":")
                current = [value.lstrip(" \t")]
                found.setdefault(name.lower(), current)
        return {name: "".join(lines) for name, lines in found.items()}

    @cached_property
    def links(self) -> list[Link]:
        """Every ``<a>`` with an ``href``, in document order."""
        return [
            Link(attribute(a, "href") or "", text_of(a), a)
            for a in self.tree.css("a")
            if "href" in a.attrs
        ]

    @cached_property
    def images(self) -> list[LexborNode]:
        return self.tree.css("img")

    @cached_property
    def utm_keys(self) -> tuple[str, ...]:
        """The UTM parameters every content link should carry (none when UTM is off)."""
        return tuple(key for key, value in self.workspace.settings.newsletter.utm.items() if value)

    # ---- the issue -------------------------------------------------------------------------

    @cached_property
    def source(self) -> str:
        """The issue file as an editor names it."""
        path = self.issue.source
        return self.workspace.display(path) if path is not None else f"issues/{self.issue.slug}"

    @cached_property
    def source_lines(self) -> list[str]:
        path = self.issue.source
        if path is None:
            return []
        try:
            return path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []

    @cached_property
    def issue_strings(self) -> list[tuple[Loc, str]]:
        """Every text field of the issue with its field path, in file order."""
        return list(strings(self.issue.model_dump(exclude={"slug", "date"})))

    @cached_property
    def content_urls(self) -> dict[str, Loc]:
        """The links the editor wrote (lead, teasers, Markdown body) -> the field holding each."""
        urls: dict[str, Loc] = {}
        if self.issue.lead.url:
            urls[self.issue.lead.url] = ("lead", "url")
        for href in _MD_HREF.findall(markdown.rendered_html(self.issue.lead.body)):
            urls.setdefault(htmllib.unescape(href), ("lead", "body"))
        for index, teaser in enumerate(self.issue.teasers):
            urls.setdefault(teaser.url, ("teasers", index, "url"))
        return urls

    def content_field(self, href: str) -> Loc | None:
        """The issue field an email link comes from, if the editor wrote it (UTM aside)."""
        return self.content_urls.get(self.without_utm(href))

    def without_utm(self, href: str) -> str:
        """``href`` as it was before the UTM stage added its parameters: looked up once per
        link, though the link rules ask for each link many times (the rewrites are a list)."""
        original = self._originals.get(href)
        if original is None:
            original = self._originals[href] = self.artifact.rewrites.original_link(href)
        return original

    # ---- places ----------------------------------------------------------------------------

    def at_field(self, *loc: str | int, needle: str | None = None) -> str:
        """``issues/x.yaml:12: lead.body``: the field, on the line that holds ``needle`` if any."""
        line = self.issue.line_of(*loc)
        if needle and line:
            line = self._line_with(needle, line) or line
        where = f"{self.source}:{line}" if line else self.source
        return f"{where}: {field_path(loc)}" if loc else where

    def at_text(self, text: str) -> str:
        """Where ``text`` was written: the issue field holding it, else the line of email.html."""
        for loc, value in self.issue_strings:
            if text in value:
                return self.at_field(*loc, needle=text)
        return self.at_html(text)

    def at_html(self, text: str) -> str:
        """``email.html:123``: the theme's output, where the issue holds no such text."""
        return self.at_offset(self.email.html.find(text))

    def at_offset(self, index: int) -> str:
        """``email.html:123``: the line of the HTML's character ``index`` (-1: no line)."""
        if index < 0:
            return "email.html"
        return f"email.html:{self.email.html.count(chr(10), 0, index) + 1}"

    def at_element(self, element: LexborNode, what: str) -> str:
        """An element of the email: its issue field when its ``what`` came from the issue."""
        for loc, value in self.issue_strings:
            if what and what in value:
                return self.at_field(*loc, needle=what)
        return self.at_line(element)

    def at_line(self, element: LexborNode) -> str:
        """``email.html:123``: the line of an element's start tag."""
        line = self.line(element)
        return f"email.html:{line}" if line else "email.html"

    def line(self, element: LexborNode) -> int | None:
        """The line of email.html where ``element``'s start tag ends, if it has one there (the
        parser makes ``<tbody>`` and the like without one): the ``n``-th element of its name
        is the ``n``-th such start tag outside comments. (A name like ``o:p`` is no CSS
        selector, so the elements are counted by walking the tree.)"""
        tag, number = element.tag, 0
        for node in self.tree.root.traverse() if self.tree.root is not None else ():
            if node.mem_id == element.mem_id:
                lines = self._start_tag_lines.get(tag or "", [])
                return lines[number] if number < len(lines) else None
            if node.tag == tag:
                number += 1
        return None

    @cached_property
    def _start_tag_lines(self) -> dict[str, list[int]]:
        """Tag name -> the line each of its start tags in email.html ends on, in order."""
        html = self.email.html
        blank = re.sub(_COMMENT, lambda m: " " * len(m[0]), html)
        lines: dict[str, list[int]] = {}
        for match in re.finditer(_START_TAG, blank):
            line = html.count("\n", 0, match.end()) + 1
            lines.setdefault(match[1].lower(), []).append(line)
        return lines

    def _line_with(self, needle: str, start: int) -> int | None:
        """The first line at or after ``start`` that contains ``needle``."""
        for number in range(start, len(self.source_lines) + 1):
            if needle in self.source_lines[number - 1]:
                return number
        return None


def origin(url: str) -> str:
    """``url`` up to the end of its host (``https://host:8000``) where it is an http(s) URL
    that urlsplit reads as written (no tab or line break for it to delete first), else all
    of it: what depends on a link's scheme and host alone is worked out once per host, though
    every issue's links are new (the UTM parameters name the issue)."""
    if url.startswith(("https://", "http://")) and not mangled_by_urlsplit(url):
        end = len(url)  # the network location as urlsplit reads it: to the first /, ? or #
        for mark in "/?#":
            found = url.find(mark, url.index("//") + 2, end)
            end = end if found < 0 else found
        return url[:end]
    return url


def mangled_by_urlsplit(url: str) -> bool:
    """Whether urlsplit reads ``url`` other than as written: it deletes tabs and line breaks
    first."""
    return "\t" in url or "\r" in url or "\n" in url


@lru_cache(maxsize=256)
def _header_text(name: str, value: str) -> str:
    """``str()`` of the default policy's header object: parsed once per distinct header, and
    From and List-Unsubscribe-Post are the same in every issue. A plain header is its own
    text, read without the email package."""
    if plain_header(name, value):
        return value
    from email import policy

    return str(policy.default.header_factory(name, value))


def attribute(element: LexborNode, name: str) -> str | None:
    """An attribute's value, ``""`` for one written without a value, ``None`` when absent."""
    attributes = element.attrs
    if name not in attributes:
        return None
    return attributes.get(name) or ""


def text_of(element: LexborNode) -> str:
    """The visible text of an element, whitespace collapsed, images standing by their alt."""
    parts: list[str] = []
    for node in element.traverse(include_text=True):
        tag = node.tag
        if tag == "-text":
            parts.append(node.text_content or "")
        elif tag == "img":
            parts.append(attribute(node, "alt") or "")
    return " ".join(" ".join(parts).split())
