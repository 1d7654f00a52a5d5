"""What every rule looks at, worked out once: the parsed HTML, its links and images, the issue's
own text and URLs, and how to point at the place a finding comes from.

Rules are small functions of a :class:`Context`; anything two rules need (the lxml tree, the
list of links, the URLs the editor wrote) is a cached property here, so the HTML is parsed once
however many rules run.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cached_property
from typing import TYPE_CHECKING

from newsletter.model.artifact import Artifact
from newsletter.model.settings import CheckSettings
from newsletter.model.validation import Loc, field_path, strings
from newsletter.model.workspace import Workspace
from newsletter.pipeline import markdown

if TYPE_CHECKING:
    from lxml.html import HtmlElement

__all__ = ["Context", "Hit", "Link", "text_of"]


@dataclass(frozen=True)
class Hit:
    """What a rule found and where; the runner adds the rule's id and configured severity."""

    message: str
    location: str


@dataclass(frozen=True)
class Link:
    """An ``<a href>`` of the email: its target as written, its visible text, its element."""

    href: str
    text: str
    element: HtmlElement


_SPACE = re.compile(r"\s+")
_MD_HREF = re.compile(r'href="([^"]*)"')


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

    # ---- the email -------------------------------------------------------------------------

    @cached_property
    def tree(self) -> HtmlElement:
        """The email's HTML, parsed once with lxml."""
        from lxml import html as lxml_html

        return lxml_html.document_fromstring(self.email.html)

    @cached_property
    def message(self) -> EmailMessage:
        """The message whose headers are checked: the one given, else the artifact's own,
        made for the sample subscriber."""
        if self._message is not None:
            return self._message
        from newsletter.mail.message import headers

        return headers(self.artifact.message)

    @cached_property
    def links(self) -> list[Link]:
        """Every ``<a>`` with an ``href``, in document order."""
        return [
            Link(str(a.get("href")), text_of(a), a)
            for a in self.tree.iter("a")
            if "href" in a.attrib
        ]

    @cached_property
    def images(self) -> list[HtmlElement]:
        return list(self.tree.iter("img"))

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
        for href in _MD_HREF.findall(markdown.to_html(self.issue.lead.body)):
            urls.setdefault(htmllib.unescape(href), ("lead", "body"))
        for index, teaser in enumerate(self.issue.teasers):
            urls.setdefault(teaser.url, ("teasers", index, "url"))
        return urls

    def content_field(self, href: str) -> Loc | None:
        """The issue field an email link comes from, if the editor wrote it (UTM aside)."""
        return self.content_urls.get(self.without_utm(href))

    def without_utm(self, href: str) -> str:
        """``href`` as it was before the UTM stage added its parameters."""
        return self.artifact.rewrites.original_link(href)

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
        index = self.email.html.find(text)
        if index < 0:
            return "email.html"
        return f"email.html:{self.email.html.count(chr(10), 0, index) + 1}"

    def at_element(self, element: HtmlElement, what: str) -> str:
        """An element of the email: its issue field when its ``what`` came from the issue."""
        for loc, value in self.issue_strings:
            if what and what in value:
                return self.at_field(*loc, needle=what)
        line = element.sourceline
        return f"email.html:{line}" if line else "email.html"

    def _line_with(self, needle: str, start: int) -> int | None:
        """The first line at or after ``start`` that contains ``needle``."""
        for number in range(start, len(self.source_lines) + 1):
            if needle in self.source_lines[number - 1]:
                return number
        return None


def text_of(element: HtmlElement) -> str:
    """The visible text of an element, whitespace collapsed, images standing by their alt."""
    parts: list[str] = []
    for node in element.iter():
        if node.tag == "img":
            parts.append(str(node.get("alt") or ""))
        elif isinstance(node.tag, str) and node.text:
            parts.append(node.text)
        if node is not element and node.tail:
            parts.append(node.tail)
    return _SPACE.sub(" ", " ".join(parts)).strip()
