"""The archive's feeds and sitemap: Atom 1.0 (RFC 4287), JSON Feed 1.1 and sitemap.xml.

Feed readers show an entry without visiting the site, so each entry carries the issue's whole
content as HTML with absolute URLs (a relative link in a feed resolves against the reader's
idea of a base, which differs between readers). XML is written with ElementTree, which escapes
every text and attribute.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

__all__ = ["Entry", "Feed", "atom", "json_feed", "sitemap"]

_ATOM = "http://www.w3.org/2005/Atom"
_SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


@dataclass(frozen=True)
class Entry:
    """One issue as the feeds show it."""

    url: str
    title: str
    summary: str
    day: dt.date
    content_html: str
    image_url: str | None = None


@dataclass(frozen=True)
class Feed:
    """What the feeds say about the newsletter itself."""

    title: str
    home_url: str
    atom_url: str
    json_url: str
    author: str
    lang: str


def _timestamp(day: dt.date) -> str:
    """An issue's date as an RFC 3339 time: midnight UTC of its day."""
    return f"{day.isoformat()}T00:00:00Z"


def atom(feed: Feed, entries: Sequence[Entry]) -> bytes:
    """The Atom feed: id, title, updated and author on the feed, id, title, updated, a link,
    a summary and the content on each entry (the elements RFC 4287 requires, and more)."""
    ET.register_namespace("", _ATOM)
    root = ET.Element(f"{{{_ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": feed.lang})

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
        element.text = text
        return element

    sub(root, "id", feed.home_url)
    sub(root, "title", feed.title)
    newest = max((e.day for e in entries), default=dt.date(1970, 1, 1))
    sub(root, "updated", _timestamp(newest))
    sub(sub(root, "author"), "name", feed.author)
    sub(root, "link", rel="self", type="application/atom+xml", href=feed.atom_url)
    sub(root, "link", rel="alternate", type="text/html", href=feed.home_url)
    for entry in entries:
        item = sub(root, "entry")
        sub(item, "id", entry.url)
        sub(item, "title", entry.title)
        sub(item, "updated", _timestamp(entry.day))
        sub(item, "published", _timestamp(entry.day))
        sub(item, "link", rel="alternate", type="text/html", href=entry.url)
        if entry.summary:
            sub(item, "summary", entry.summary)
        sub(item, "content", entry.content_html, type="html")
    return _xml(root)


def json_feed(feed: Feed, entries: Sequence[Entry]) -> bytes:
    """The JSON Feed 1.1: ``version`` and ``title`` (required), and ``id`` with ``content_html``
    on each item (required), with the optional fields a reader shows."""
    items = []
    for entry in entries:
        item: dict[str, object] = {
            "id": entry.url,
            "url": entry.url,
            "title": entry.title,
            "content_html": entry.content_html,
            "date_published": _timestamp(entry.day),
        }
        if entry.summary:
            item["summary"] = entry.summary
        if entry.image_url:
            item["image"] = entry.image_url
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": feed.home_url,
        "feed_url": feed.json_url,
        "language": feed.lang,
        "authors": [{"name": feed.author}],
        "items": items,
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def sitemap(pages: Sequence[tuple[str, dt.date | None]]) -> bytes:
    """``sitemap.xml``: each page's URL, with the date it last changed where one is known."""
    ET.register_namespace("", _SITEMAP)
    root = ET.Element(f"{{{_SITEMAP}}}urlset")
    for url, day in pages:
        element = ET.SubElement(root, f"{{{_SITEMAP}}}url")
        ET.SubElement(element, f"{{{_SITEMAP}}}loc").text = url
        if day is not None:
            ET.SubElement(element, f"{{{_SITEMAP}}}lastmod").text = day.isoformat()
    return _xml(root)


def _xml(root: ET.Element) -> bytes:
    """The document of ``root``, UTF-8 with its XML declaration."""
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
