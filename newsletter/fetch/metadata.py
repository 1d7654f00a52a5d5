"""An article's metadata, read from its page's HTML: pure, no I/O.

News sites describe each article several times over, for different readers: JSON-LD
(``NewsArticle`` for search engines, often inside a Yoast-style ``@graph`` whose parts refer to
each other by ``@id``), Open Graph (``og:*``, for Facebook and most link previews), Twitter
cards (``twitter:*``) and plain HTML (``<title>``, ``<meta name="description">``). They
disagree more often than one would hope (a shorter social headline, a stale description), so
each field is taken from the most careful source that has it, in that order of trust.

Values are cleaned the way a teaser needs them: HTML entities decoded (even the doubly-escaped
``&amp;#8217;`` some CMSs emit), tags and runs of white space removed, and, by :func:`trim`, cut
at a word boundary to the length the theme has room for.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from lxml import etree
from lxml import html as lxml_html

__all__ = ["Article", "ArticleImage", "canonical_url", "extract", "trim"]

#: JSON-LD types that describe an article (schema.org's Article and its news subtypes).
ARTICLE_TYPES = {
    "Article",
    "NewsArticle",
    "AnalysisNewsArticle",
    "BackgroundNewsArticle",
    "OpinionNewsArticle",
    "ReportageNewsArticle",
    "ReviewNewsArticle",
    "BlogPosting",
    "LiveBlogPosting",
    "Report",
}

#: Query parameters that track a click rather than name a page (utm_* is matched by prefix).
TRACKING_PARAMS = {
    "_ga",
    "_gl",
    "cmpid",
    "dclid",
    "fbclid",
    "gclid",
    "gclsrc",
    "igshid",
    "mc_cid",
    "mc_eid",
    "msclkid",
    "ocid",
    "smid",
    "twclid",
    "wt_mc",
    "yclid",
}


@dataclass(frozen=True)
class ArticleImage:
    """The article's main image: an absolute URL and what the page says about it."""

    src: str
    alt: str | None = None
    caption: str | None = None
    credit: str | None = None


@dataclass(frozen=True)
class Article:
    """What a page says about its article; every text cleaned, none trimmed yet."""

    url: str  # canonical, tracking parameters removed
    headline: str | None
    description: str | None
    section: str | None
    author: str | None
    image: ArticleImage | None
    site_name: str | None
    noindex: bool
    lang: str | None = None  # BCP 47, when the page says


def canonical_url(url: str) -> str:
    """``url`` without tracking parameters or fragment, scheme and host lowercased.

    Two links to the same article (one from a newsletter with ``utm_*``, one from a share
    button with ``fbclid``) give the same text, which is what duplicate teasers are found by.
    """
    parts = urlsplit(url.strip())
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not _tracking(unquote_plus(pair.partition("=")[0]))
    )
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, default) else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def _tracking(key: str) -> bool:
    key = key.lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


def clean(value: Any) -> str | None:
    """Text fit for a teaser: entities decoded, tags dropped, white space collapsed."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = str(value)
    if re.search(r"<[a-zA-Z/!]", text):  # markup in a description: keep its text only
        with contextlib.suppress(etree.ParserError, ValueError):
            text = lxml_html.fragment_fromstring(text, create_parent="div").text_content()
    for _ in range(3):  # "&amp;#8217;" is an apostrophe escaped twice; stop when stable
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    # control characters, soft hyphens, zero-width spaces and BOMs; joiners stay (Persian needs them)
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f\u00ad\u200b\ufeff]", "", text)
    text = unicodedata.normalize("NFC", re.sub(r"\s+", " ", text)).strip()
    return text or None


def trim(text: str | None, limit: int) -> str | None:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if text is None or len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def extract(body: bytes, url: str, charset: str | None = None) -> Article:
    """The metadata of the page ``body`` fetched from ``url`` (``charset`` from its headers)."""
    root = _parse(body, charset)
    meta = _meta(root)
    ld = _json_ld_article(root)

    site_name = clean(meta.get("og:site_name")) or clean(_name(ld.get("publisher")))
    title = _strip_site(clean(_first(root.xpath("//title/text()"))), site_name)
    headline = _pick(ld.get("headline"), ld.get("name"), meta.get("og:title"))
    headline = headline or _pick(meta.get("twitter:title"), title)
    description = _pick(
        ld.get("description"),
        meta.get("og:description"),
        meta.get("twitter:description"),
        meta.get("description"),
    )
    section = _pick(_first(ld.get("articleSection")), meta.get("article:section"))
    author = _authors(ld.get("author")) or _pick(
        _not_url(meta.get("article:author")), _not_url(meta.get("author"))
    )
    canonical = _first(root.xpath("//link[@rel='canonical']/@href"))
    entity = ld.get("mainEntityOfPage")
    page_url = (
        _absolute(canonical, url)
        or _absolute(meta.get("og:url"), url)
        or _absolute(ld.get("url"), url)
        or _absolute(entity.get("@id") if isinstance(entity, dict) else entity, url)
        or url
    )
    robots = " ".join(meta.get(name, "") for name in ("robots", "googlebot")).lower()
    return Article(
        url=canonical_url(page_url),
        headline=headline,
        description=description,
        section=section,
        author=author,
        image=_image(ld.get("image"), meta, url),
        site_name=site_name,
        noindex="noindex" in robots or "none" in robots.replace(",", " ").split(),
        lang=_lang(_name(ld.get("inLanguage")), root.get("lang"), meta.get("og:locale")),
    )


def _lang(*values: Any) -> str | None:
    """The first value that is a language tag (``og:locale``'s ``en_US`` becomes ``en-US``)."""
    for value in values:
        if isinstance(value, str):
            tag = value.strip().replace("_", "-")
            if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", tag):
                return tag
    return None


def _parse(body: bytes, charset: str | None) -> Any:
    """The page as an lxml tree, decoded by the header's charset, else its own, else UTF-8."""
    encoding = charset
    if not encoding:
        declared = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_.:-]+)", body[:4096], re.I)
        encoding = declared[1].decode("ascii") if declared else "utf-8"
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses str with an XML declaration
    return lxml_html.document_fromstring(text or "<html></html>")


def _meta(root: Any) -> dict[str, str]:
    """``<meta>`` values by lowercased ``property`` or ``name``; the first of each wins."""
    found: dict[str, str] = {}
    for element in root.iter("meta"):
        key = (element.get("property") or element.get("name") or "").strip().lower()
        value = element.get("content")
        if key and value and value.strip() and key not in found:
            found[key] = value
    for alias, key in (
        ("og:image:url", "og:image"),
        ("og:image:secure_url", "og:image"),
        ("twitter:image:src", "twitter:image"),
    ):
        if alias in found:
            found.setdefault(key, found[alias])
    return found


def _json_ld_article(root: Any) -> dict[str, Any]:
    """The page's own Article-like JSON-LD object, its ``@id`` references resolved."""
    nodes: list[Any] = []
    for script in root.xpath("//script[@type]"):
        if script.get("type", "").split(";")[0].strip().lower() != "application/ld+json":
            continue
        text = (script.text or "").strip()
        text = re.sub(r"^(<!--|/\*<!\[CDATA\[\*/|<!\[CDATA\[)|(-->|/\*\]\]>\*/|\]\]>)$", "", text)
        try:
            nodes.append(json.loads(text.strip().rstrip(";")))
        except (ValueError, RecursionError):
            continue  # a broken block is the page's problem; the other sources still count
    found = list(_objects(nodes))
    by_id = {obj["@id"]: obj for _, obj in found if isinstance(obj.get("@id"), str)}
    articles = [(depth, obj) for depth, obj in found if _types(obj) & ARTICLE_TYPES]
    if not articles:
        return {}
    # The page's own article sits highest; a related story in an ItemList is nested deeper.
    _, article = min(articles, key=lambda pair: pair[0])
    return {key: _resolve(value, by_id) for key, value in article.items()}


def _types(obj: dict[str, Any]) -> set[str]:
    types = obj.get("@type")
    return {types} if isinstance(types, str) else {t for t in types or () if isinstance(t, str)}


def _objects(value: Any, depth: int = 0, level: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every JSON object in ``value`` with how deep it is nested (lists and ``@graph`` add no
    depth, so every object of a graph counts as top level); ``level`` bounds the walk."""
    if level > 24:
        return
    if isinstance(value, list):
        for item in value:
            yield from _objects(item, depth, level + 1)
    elif isinstance(value, dict):
        yield depth, value
        for key, item in value.items():
            if isinstance(item, dict | list):
                yield from _objects(item, depth if key == "@graph" else depth + 1, level + 1)


def _resolve(value: Any, by_id: dict[str, dict[str, Any]]) -> Any:
    """A ``{"@id": ...}`` reference replaced by the object it names (one level deep)."""
    if isinstance(value, list):
        return [_resolve(item, by_id) for item in value]
    if isinstance(value, dict) and set(value) == {"@id"} and value["@id"] in by_id:
        return by_id[value["@id"]]
    return value


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else (None if value == [] else value)


def _pick(*values: Any) -> str | None:
    """The first value that cleans to some text."""
    for value in values:
        text = clean(value)
        if text:
            return text
    return None


def _name(value: Any) -> Any:
    """The ``name`` of a Person or Organization, or the value when it is already text."""
    value = _first(value)
    return value.get("name") if isinstance(value, dict) else value


def _not_url(value: str | None) -> str | None:
    """None for a link (``article:author`` is often a profile URL, not a name)."""
    return None if value is None or re.match(r"\s*https?://", value) else value


def _authors(value: Any) -> str | None:
    """JSON-LD ``author`` (text, a Person, or a list of them) as "A, B and C"."""
    items = value if isinstance(value, list) else [value]
    names = list(dict.fromkeys(n for n in (clean(_name(item)) for item in items) if n))
    names = [n for n in names if not re.match(r"https?://", n)]
    if not names:
        return None
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _absolute(value: Any, base: str) -> str | None:
    """``value`` resolved against ``base`` when it is an http(s) URL, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    url = urljoin(base, html.unescape(value.strip()))
    return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc else None


def _strip_site(title: str | None, site_name: str | None) -> str | None:
    """A ``<title>`` without the " | Site" or " - Site" most sites append to it."""
    if not title:
        return None
    parts = re.split(r"\s+[|–—·-]\s+", title)
    if len(parts) > 1 and site_name and parts[-1].lower() == site_name.lower():
        return title[: title.rfind(parts[-1])].rstrip(" |–—·-")
    bars = title.split(" | ")
    if len(bars) > 1 and len(bars[-1]) < 30:  # "Headline | Site", the site not named elsewhere
        return " | ".join(bars[:-1])
    return title


def _image(value: Any, meta: dict[str, str], base: str) -> ArticleImage | None:
    """The article's image: JSON-LD's, else Open Graph's, else the Twitter card's."""
    value = _first(value)
    if isinstance(value, dict):
        src = _absolute(value.get("url") or value.get("contentUrl"), base)
        if src:
            credit = _pick(
                value.get("creditText"),
                _name(value.get("copyrightHolder")),
                _name(value.get("creator")),
                _name(value.get("author")),
            )
            return ArticleImage(
                src=src,
                alt=_pick(meta.get("og:image:alt"), value.get("description"), value.get("caption")),
                caption=_pick(value.get("caption")),
                credit=credit,
            )
    src = _absolute(value, base) if isinstance(value, str) else None
    if src:
        return ArticleImage(src=src, alt=_pick(meta.get("og:image:alt")))
    for prefix in ("og:image", "twitter:image"):
        src = _absolute(meta.get(prefix), base)
        if src:
            return ArticleImage(src=src, alt=_pick(meta.get(f"{prefix}:alt")))
    return None
