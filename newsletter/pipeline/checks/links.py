"""Links: where they go (https, nowhere, script, a file on the editor's disk), what they say,
whether they carry the campaign's UTM parameters, and whether one of them unsubscribes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from newsletter.pipeline.checks.context import Context, Hit, Link, mangled_by_urlsplit, origin

__all__ = ["empty", "insecure", "javascript", "local", "unsubscribe", "utm", "vague_text"]

#: Link texts that say nothing out of context (screen readers list links by their text alone).
VAGUE = frozenset(
    {
        "here",
        "click here",
        "click",
        "read more",
        "more",
        "learn more",
        "link",
        "this link",
        "this",
        "go",
        "continue",
        "details",
        "more info",
        "info",
        "see more",
        "find out more",
    }
)

_BARE_URL = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]")


def _is_merge_field(href: str) -> bool:
    return href.startswith("%%")


def _unique(links: list[Link]) -> Iterator[Link]:
    seen: set[str] = set()
    for link in links:
        if link.href not in seen:
            seen.add(link.href)
            yield link


def _where(ctx: Context, link: Link) -> str:
    field = ctx.content_field(link.href)
    if field is not None:
        return ctx.at_field(*field, needle=ctx.without_utm(link.href))
    return ctx.at_element(link.element, link.href)


def insecure(ctx: Context) -> Iterator[Hit]:
    """``http://`` links: browsers warn, and some filters score them as suspicious."""
    for link in _unique(ctx.links):
        if link.href.strip().lower().startswith("http://"):
            yield Hit(
                f"link {ctx.without_utm(link.href)} is not secure: use https://",
                _where(ctx, link),
            )


def empty(ctx: Context) -> Iterator[Hit]:
    """Links that go nowhere: an empty ``href`` or a bare ``#``."""
    for link in _unique(ctx.links):
        if link.href.strip() in ("", "#"):
            yield Hit(
                f"link {link.text or '(no text)'!r} goes nowhere (href={link.href!r}): "
                "give it a URL",
                ctx.at_element(link.element, link.text),
            )


def javascript(ctx: Context) -> Iterator[Hit]:
    """``javascript:`` links: no email client runs them, and filters flag them."""
    for link in _unique(ctx.links):
        if link.href.strip().lower().startswith("javascript:"):
            yield Hit(
                f"link {link.text or '(no text)'!r} runs a script ({link.href[:40]}); "
                "email clients never run scripts: link to a page instead",
                ctx.at_element(link.element, link.href),
            )


def local(ctx: Context) -> Iterator[Hit]:
    """Relative links and links to local files or hosts: they only work on the editor's
    machine."""
    for link in _unique(ctx.links):
        href = link.href.strip()
        problem = _local(href)
        if problem is None:
            continue
        yield Hit(
            f"link {href} {problem}: subscribers cannot open it; use a full https:// URL",
            _where(ctx, link),
        )


def _local(href: str) -> str | None:
    """What makes ``href`` work only on this computer, if anything: for an http(s) link, its
    host alone decides, so the answer is worked out once per host."""
    return _local_url(origin(href))


@lru_cache(maxsize=4096)
def _local_url(href: str) -> str | None:
    """What makes ``href`` work only on this computer, as urlsplit reads it."""
    if not href or href.startswith(("#", "%%")):
        return None
    parts = urlsplit(href)
    if parts.scheme in ("mailto", "tel", "sms"):
        return None
    if not parts.scheme and not href.startswith("//"):
        return "is relative"
    if parts.scheme == "file":
        return "is a file on this computer"
    if parts.hostname and parts.netloc.split("@")[-1].split(":")[0] in _LOCAL_HOSTS:
        return "points at this computer"
    return None


def vague_text(ctx: Context) -> Iterator[Hit]:
    """Link text that says nothing on its own ("click here", "read more", a bare URL)."""
    seen: set[tuple[str, str]] = set()
    for link in ctx.links:
        if _is_merge_field(link.href) or link.href.strip() in ("", "#"):
            continue
        text = link.text.strip(" .:!\u00bb\u203a\u2192").lower()
        if text in VAGUE:
            problem = f"link text {link.text!r} says nothing on its own"
        elif _BARE_URL.match(link.text):
            problem = f"link text is a bare URL ({link.text[:50]})"
        elif not text:
            problem = "link has no text (and no image alt text)"
        else:
            continue
        if (problem, link.href) in seen:
            continue
        seen.add((problem, link.href))
        where = _label_where(ctx, link)
        yield Hit(
            f"{problem}: say where it goes, e.g. 'Read the full report on NATO spending'",
            where,
        )


def _label_where(ctx: Context, link: Link) -> str:
    """Where a link's text was written: the Markdown ``[label]`` of a body link, the headline
    of the story it belongs to, else wherever its target came from."""
    field = ctx.content_field(link.href)
    label = f"[{link.text}]("
    in_teaser = field is not None and field[0] == "teasers"
    if link.text and label in ctx.issue.lead.body and not in_teaser:
        return ctx.at_field("lead", "body", needle=label)
    if field:
        for loc, value in ctx.issue_strings:
            if loc[:-1] == field[:-1] and value == link.text:
                return ctx.at_field(*loc)
        return ctx.at_field(*field)
    return ctx.at_text(label) if link.text else _where(ctx, link)


def utm(ctx: Context) -> Iterator[Hit]:
    """Content links without the ``[newsletter.utm]`` parameters: their clicks go uncounted."""
    if not ctx.utm_keys:
        return
    seen: set[str] = set()
    for link in ctx.links:
        field = ctx.content_field(link.href)
        if field is None or link.href in seen:
            continue
        seen.add(link.href)
        missing = _missing(link.href, ctx.utm_keys)
        if missing and urlsplit(link.href).scheme in ("http", "https"):
            yield Hit(
                f"link {link.href} lacks {', '.join(missing)}: turn on [transforms] utm "
                "or add the parameters",
                ctx.at_field(*field, needle=link.href),
            )


def _missing(href: str, keys: tuple[str, ...]) -> list[str]:
    """Which of ``keys`` the query of ``href`` lacks. A link the UTM stage made holds each as
    written (``&utm_source=``), which settles it without parsing the query (every content
    link of every issue is new, so no cache helps); any other is parsed."""
    if not mangled_by_urlsplit(href):
        query = "&" + href.partition("#")[0].partition("?")[2]
        if all(f"&{key}=" in query for key in keys):
            return []
    have = {key for key, _ in parse_qsl(urlsplit(href).query, keep_blank_values=True)}
    return [key for key in keys if key not in have]


def unsubscribe(ctx: Context) -> Iterator[Hit]:
    """No unsubscribe link in the HTML: required by law (CAN-SPAM, GDPR) and by Gmail/Yahoo."""
    configured = ctx.workspace.settings.send.unsubscribe_url
    prefix = configured.split("{", 1)[0] if configured else None
    for link in ctx.links:
        href = link.href.strip()
        if (
            href.startswith("%%unsubscribe_url")
            or (prefix and href.startswith(prefix))
            or "unsubscribe" in link.text.lower()
        ):
            return
    yield Hit(
        'the email has no unsubscribe link: add <a href="%%unsubscribe_url%%">Unsubscribe</a> '
        "to the theme's footer",
        "email.html",
    )
