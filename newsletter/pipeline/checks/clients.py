"""Client support: the HTML and CSS features the email uses that the target email clients
(``[check] clients``) do not support, according to caniemail.com's test results.

The data ships with the package (``newsletter/data/caniemail/``, MIT, dated in its README), so
the check works offline. What the check needs of it, every feature's latest result per platform
of a client the check can name where that is "not supported", ships beside it as ``index.json``
(made by :func:`support_index`, which a test keeps in step): 65 KB parsed in a seventeenth of
the time of the whole 650 KB, which every cold build read before. For each client the latest
test result of each of its platforms counts; a feature is reported when that result is "not
supported". Outlook for Windows is judged on what it renders: markup inside ``<!--[if mso]>``
comments is written for it on purpose and is not counted, and markup hidden from it by
``<!--[if !mso]><!-->`` is not counted against it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from newsletter.model.clients import CLIENTS
from newsletter.pipeline.checks.context import Context, Hit

__all__ = [
    "Gap",
    "Support",
    "caniemail",
    "client_support",
    "features",
    "gaps",
    "support_index",
    "unsupported",
]

#: The client that reads Outlook's conditional comments.
CONDITIONAL_CLIENT = "outlook-windows"


class Support(NamedTuple):
    """One caniemail feature: its title, its page, and the platforms of each client that do
    not support it."""

    slug: str
    title: str
    url: str
    unsupported: Mapping[str, tuple[str, ...]]


def caniemail() -> dict[str, Any]:
    """The caniemail.com data shipped with the package, whole."""
    loaded: dict[str, Any] = json.loads(_data_file("caniemail.json"))
    return loaded


def support_index(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the check reads of the caniemail ``data``: every feature's slug, the readable
    platform names, and by slug each feature some platform of a client in :data:`CLIENTS`
    does not support, with its title, page and those platforms by client family (in the
    data's order). Platforms no client counts (legacy webmails, clients the check cannot
    name) are left out: they were most of the index, which every cold check reads."""
    counted: dict[str, set[str]] = {}
    for family, platforms, _ in CLIENTS.values():
        counted.setdefault(family, set()).update(platforms)
    features = {}
    for feature in data["data"]:
        families = {
            family: [
                platform
                for platform, results in stats.items()
                if results
                and platform in counted[family]
                and str(list(results.values())[-1]).startswith("n")
            ]
            for family, stats in feature["stats"].items()
            if family in counted
        }
        families = {family: platforms for family, platforms in families.items() if platforms}
        if families:
            features[feature["slug"]] = [feature["title"], feature["url"], families]
    return {
        "slugs": [feature["slug"] for feature in data["data"]],
        "platforms": {
            platform: name
            for platform, name in data["nicenames"]["platform"].items()
            if any(platform in platforms for platforms in counted.values())
        },
        "unsupported": features,
    }


@cache
def _index() -> dict[str, Any]:
    """The shipped :func:`support_index` of the caniemail data, read once per process."""
    loaded: dict[str, Any] = json.loads(_data_file("index.json"))
    return loaded


def _data_file(name: str) -> bytes:
    # A path beside the package, as the built-in themes are found: importlib.resources took
    # longer to find the file (its readers' first import) than json to read it.
    return (Path(__file__).parents[2] / "data" / "caniemail" / name).read_bytes()


@lru_cache(maxsize=4096)
def _support(slug: str, clients: tuple[str, ...]) -> Support | None:
    """The feature ``slug`` where some of ``clients`` do not support it, else ``None``: worked
    out for the features an email uses, when it first uses them, not for all of caniemail's
    (which was a tenth of a cold build's checks)."""
    entry = _index()["unsupported"].get(slug)
    if entry is None:
        return None
    title, url, families = entry
    platforms_named = _index()["platforms"]
    missing: dict[str, tuple[str, ...]] = {}
    for client in clients:
        family, platforms, _ = CLIENTS[client]
        bad = tuple(
            platforms_named.get(platform, platform)
            for platform in families.get(family, ())
            if platform in platforms
        )
        if bad:
            missing[client] = bad
    return Support(slug, title, url, missing) if missing else None


@cache
def unsupported(clients: tuple[str, ...]) -> dict[str, Support]:
    """Every feature some of ``clients`` do not support, by slug."""
    found = {slug: _support(slug, clients) for slug in _index()["unsupported"]}
    return {slug: support for slug, support in found.items() if support is not None}


# ---- what the email uses ---------------------------------------------------------------------

# Each "anything up to the first END" is written [^e]*(?:e(?!ND)[^e]*)* rather than .*?END, which
# matches the same and takes half the time: the lazy dot tries END again at every character.
_MSO_ONLY = re.compile(
    r"<!--\[if\s+(?!!)[^\]]*\]>[^<]*(?:<(?!!\[endif\]-->)[^<]*)*<!\[endif\]-->", re.IGNORECASE
)
_NOT_MSO = re.compile(
    r"<!--\[if\s+!mso[^\]]*\]><!-->([^<]*(?:<(?!!--<!\[endif\]-->)[^<]*)*)<!--<!\[endif\]-->",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"<!--[^-]*(?:-(?!->)[^-]*)*-->")
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>([^<]*(?:<(?!/style>)[^<]*)*)</style>", re.IGNORECASE)
_TAG = re.compile(r"<[a-zA-Z][^>]*>")  # a start tag: its name, then anything up to >
_TAG_NAME = re.compile(r"<([a-zA-Z][\w:-]*)")
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_AT_RULE = re.compile(r"@([a-z-]+)([^{;]*)", re.IGNORECASE)
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_UNIT = re.compile(r"(?<![\w#-])\d*\.?\d+(px|em|rem|%|vh|vw|vmin|vmax|pt|pc|cm|mm|in|ch|ex)\b")
_PSEUDO = re.compile(r"(::?)([a-z-]+)")

_ELEMENTS = {
    "div": "html-div",
    "p": "html-p",
    "span": "html-span",
    "table": "html-table",
    "img": "html-img",
    "blockquote": "html-blockquote",
    "code": "html-code",
    "pre": "html-pre",
    "hr": "html-hr",
    "strong": "html-strong",
    "small": "html-small",
    "abbr": "html-abbr",
    "acronym": "html-acronym",
    "address": "html-address",
    "del": "html-del",
    "dfn": "html-dfn",
    "bdi": "html-bdi",
    "strike": "html-strike",
    "ul": "html-lists",
    "ol": "html-lists",
    "dl": "html-lists",
    "body": "html-body",
    "style": "html-style",
    "link": "html-link",
    "base": "html-base",
    "form": "html-form",
    "textarea": "html-textarea",
    "select": "html-select",
    "audio": "html-audio",
    "video": "html-video",
    "svg": "html-svg",
    "picture": "html-picture",
    "object": "html-object",
    "dialog": "html-dialog",
    "meter": "html-meter",
    "progress": "html-progress",
    "marquee": "html-marquee",
    "ruby": "html-ruby",
    "rt": "html-rt",
    "rp": "html-rp",
    "wbr": "html-wbr",
    "map": "html-image-maps",
    **{f"h{n}": "html-h1-h6" for n in range(1, 7)},
    **{
        tag: "html-semantics"
        for tag in (
            "article",
            "aside",
            "details",
            "figcaption",
            "figure",
            "footer",
            "header",
            "main",
            "mark",
            "nav",
            "section",
            "summary",
            "time",
        )
    },
}
_ATTRIBUTES = {
    "align": "html-align",
    "valign": "html-valign",
    "width": "html-width",
    "height": "html-height",
    "cellpadding": "html-cellpadding",
    "cellspacing": "html-cellspacing",
    "lang": "html-lang",
    "dir": "html-dir",
    "role": "html-role",
    "background": "html-background",
    "target": "html-target",
    "loading": "html-loading-attribute",
    "srcset": "html-srcset",
    "hidden": "html-hidden",
    "required": "html-required",
    "popover": "html-popover",
    "inert": "css-inert-attribute",
    "aria-hidden": "html-aria-hidden",
    "aria-label": "html-aria-label",
    "aria-labelledby": "html-aria-labelledby",
    "aria-describedby": "html-aria-describedby",
    "aria-live": "html-aria-live",
}
_INPUTS = {
    "checkbox": "html-input-checkbox",
    "hidden": "html-input-hidden",
    "radio": "html-input-radio",
    "reset": "html-input-reset",
    "submit": "html-input-submit",
    "text": "html-input-text",
}
_IMAGE_TYPES = {
    "png": "image-png",
    "jpg": "image-jpg",
    "jpeg": "image-jpg",
    "gif": "image-gif",
    "webp": "image-webp",
    "svg": "image-svg",
    "avif": "image-avif",
    "bmp": "image-bmp",
    "ico": "image-ico",
    "tif": "image-tiff",
    "tiff": "image-tiff",
    "heic": "image-heif",
    "heif": "image-heif",
    "apng": "image-apng",
}
_FUNCTIONS = {
    "linear-gradient(": "css-linear-gradient",
    "radial-gradient(": "css-radial-gradient",
    "conic-gradient(": "css-conic-gradient",
    "rgb(": "css-rgb",
    "rgba(": "css-rgba",
    "calc(": "css-unit-calc",
    "min(": "css-function-min",
    "max(": "css-function-max",
    "clamp(": "css-function-clamp",
    "var(": "css-variables",
    "light-dark(": "css-function-light-dark",
}
_MEDIA_FEATURES = {
    "prefers-color-scheme": "css-at-media-prefers-color-scheme",
    "prefers-reduced-motion": "css-at-media-prefers-reduced-motion",
    "orientation": "css-at-media-orientation",
    "hover": "css-at-media-hover",
    "device-pixel-ratio": "css-at-media-device-pixel-ratio",
}
_AT_RULES = {
    "media": "css-at-media",
    "font-face": "css-at-font-face",
    "import": "css-at-import",
    "keyframes": "css-at-keyframes",
    "supports": "css-at-supports",
}


Uses = tuple[tuple[str, str], ...]  # (feature slug, an example of its use)


def features(html: str) -> dict[str, str]:
    """The caniemail features ``html`` uses -> an example of each as it appears.

    Emails repeat the same tags and style attributes many times over, so each distinct one is
    analysed once (and remembered across emails, which share their theme), and what each
    yields is merged once.
    """
    found: dict[str, str] = {}
    if html.lstrip()[:9].lower() == "<!doctype":
        found["html-doctype"] = "<!doctype>"
    html, comments = _COMMENT.subn("", html)
    if comments:
        found["html-comments"] = "<!-- -->"
    parts = _STYLE_BLOCK.split(html)  # outside, a style block's CSS, outside, ...
    uses = [_css_features(css) for css in parts[1::2]]
    uses.extend(map(_tag_uses, dict.fromkeys(_TAG.findall("<style>".join(parts[::2])))))
    for slug, example in _merged(tuple(dict.fromkeys(uses))).items():
        found.setdefault(slug, example)
    return found


@lru_cache(maxsize=64)
def _merged(uses: tuple[Uses, ...]) -> dict[str, str]:
    """Each feature of ``uses`` with its first example, merged once for every email that
    uses the same (a theme's issues do: their own links' tags use what the theme's do)."""
    merged: dict[str, str] = {}
    for use in uses:
        for slug, example in use:
            merged.setdefault(slug, example)
    return merged


@lru_cache(maxsize=1024)
def _tag_uses(tag: str) -> Uses:
    """What a start tag, as written, uses: each distinct one is looked up by itself, which
    is cheaper than splitting it into its name and attributes first. An email has about 120
    distinct start tags, most of them the theme's and the same in every issue; its links'
    are its own (UTM names the issue), so a larger cache grew by each issue of a batch."""
    name = _TAG_NAME.match(tag)
    assert name is not None, tag  # a match of _TAG
    return _tag_features(name[1].lower(), tag[name.end() : -1])


def _tag_features(tag: str, attributes: str) -> Uses:
    found: list[tuple[str, str]] = []
    if tag in _ELEMENTS:
        found.append((_ELEMENTS[tag], f"<{tag}>"))
    attrs = {name.lower(): (value or "").strip("\"'") for name, value in _ATTR.findall(attributes)}
    for name, value in attrs.items():
        if name in _ATTRIBUTES:
            found.append((_ATTRIBUTES[name], f'{name}="{value}"'))
        elif name == "style":
            found.extend(_declarations(value))
    kind = attrs.get("type", "text")
    if tag == "a":
        href = attrs.get("href", "")
        if href.startswith("mailto:"):
            found.append(("html-mailto-links", "mailto: link"))
        elif href.startswith("#") and len(href) > 1:
            found.append(("html-anchor-links", f'href="{href}"'))
    elif tag == "img":
        src = attrs.get("src", "")
        extension = src.split("?")[0].rpartition(".")[2].lower()
        if src.startswith("data:"):
            found.append(("image-base64", "data: image"))
        elif extension in _IMAGE_TYPES:
            found.append((_IMAGE_TYPES[extension], f".{extension} image"))
    elif tag == "input" and kind in _INPUTS:
        found.append((_INPUTS[kind], f'<input type="{kind}">'))
    elif tag == "button" and kind in ("submit", "reset"):
        found.append((f"html-button-{kind}", f'<button type="{kind}">'))
    elif tag == "meta" and attrs.get("name") in ("color-scheme", "supported-color-schemes"):
        found.append(("html-meta-color-scheme", f'<meta name="{attrs["name"]}">'))
    return tuple(found)


@lru_cache(maxsize=256)
def _css_features(css: str) -> Uses:
    found: list[tuple[str, str]] = []
    if _CSS_COMMENT.search(css):
        found.append(("css-comments", "/* */"))
        css = _CSS_COMMENT.sub("", css)
    for match in _AT_RULE.finditer(css):
        name, query = match[1].lower(), match[2].lower()
        if name in _AT_RULES:
            found.append((_AT_RULES[name], f"@{name}"))
        if name == "media":
            found.extend((slug, f) for f, slug in _MEDIA_FEATURES.items() if f in query)
    for match in _RULE.finditer(css):
        selectors = match[1].strip()
        if not selectors.startswith("@"):
            found.extend(_selector_features(selectors))
            found.extend(_declarations(match[2]))
    return tuple(found)


def _selector_features(group: str) -> Uses:
    # Each pattern is only tried where the character it needs is there: the first check of a
    # process compiles only the patterns the theme's selectors need.
    found: list[tuple[str, str]] = []
    parts = [s.strip() for s in group.split(",") if s.strip()]
    if len(parts) > 1:
        found.append(("css-selector-grouping", group))
    for selector in parts:
        plain = re.sub(r"\[[^\]]*\]", "[]", selector) if "[" in selector else selector
        plain = re.sub(r"\([^)]*\)", "()", plain) if "(" in plain else plain
        for mark, slug in _SELECTOR_MARKS:
            if mark in plain:
                found.append((slug, selector))
        compounds = re.split(r"\s*[>+~]\s*|\s+", plain)
        if re.search(r"[^\s>+~]\s+[^\s>+~]", plain):
            found.append(("css-selector-descendant", selector))
        for compound in compounds:
            if compound[:1].isascii() and compound[:1].isalpha():  # [a-zA-Z]
                found.append(("css-selector-type", selector))
            chained = "." in compound or "#" in compound or "[" in compound
            if chained and re.search(r"[\w\]\-][.#\[]", compound):
                found.append(("css-selector-chaining", selector))
        for colons, name in _PSEUDO.findall(plain):
            kind = "element" if colons == "::" or name in ("before", "after") else "class"
            found.append((f"css-pseudo-{kind}-{name}", f"{colons}{name}"))
    return tuple(found)


_SELECTOR_MARKS = (
    ("[]", "css-selector-attribute"),
    ("#", "css-selector-id"),
    (".", "css-selector-class"),
    (">", "css-selector-child"),
    ("+", "css-selector-adjacent-sibling"),
    ("~", "css-selector-general-sibling"),
    ("*", "css-selector-universal"),
)


@lru_cache(maxsize=8192)
def _declarations(block: str) -> Uses:
    """What a style attribute or a CSS rule's block uses, declaration by declaration."""
    return tuple(use for declaration in block.split(";") for use in _declaration(declaration))


@lru_cache(maxsize=8192)
def _declaration(declaration: str) -> Uses:
    """What one CSS declaration uses: an email's style attributes are made of the same few
    hundred, so each is read once, not once for every style attribute it is in (about a
    thousand times in the first check of a process)."""
    found: list[tuple[str, str]] = []
    prop, _, value = declaration.partition(":")
    prop, value = prop.strip().lower(), value.strip().lower()
    if not prop or not value:
        return ()
    example = f"{prop}: {value}"[:60]
    if "!important" in value:
        found.append(("css-important", "!important"))
    if prop.startswith("--"):
        found.append(("css-variables", prop))
        return tuple(found)
    if prop.startswith(("-", "mso-")):
        return tuple(found)
    found.append((_property_slug(prop), example))
    if prop == "display":
        found.append(("css-display", example))
        kind = value.replace("!important", "").strip()
        if kind in ("flex", "inline-flex", "grid", "inline-grid", "none"):
            found.append((f"css-display-{kind.removeprefix('inline-')}", example))
    if "(" in value:
        found.extend((slug, example) for function, slug in _FUNCTIONS.items() if function in value)
    found.extend(
        (f"css-unit-{'percent' if unit == '%' else unit}", example) for unit in _UNIT.findall(value)
    )
    if value == "initial":
        found.append(("css-unit-initial", example))
    return tuple(found)


@lru_cache(maxsize=1024)
def _property_slug(prop: str) -> str:
    exact = f"css-{prop}"
    if exact in _slugs():
        return exact
    if prop.startswith(("margin-", "padding-")) and "inline" not in prop and "block" not in prop:
        return f"css-{prop.split('-')[0]}"
    if prop.startswith("border-") and prop.endswith("radius"):
        return "css-border-radius"
    if prop.startswith("border-"):
        return "css-border"
    return exact


@cache
def _slugs() -> frozenset[str]:
    return frozenset(_index()["slugs"])


def _visible_to(html: str) -> tuple[str, str]:
    """``(what every client renders, what every client but Outlook for Windows renders)``."""
    parts = _NOT_MSO.split(_MSO_ONLY.sub("", html))  # outside, hidden from Outlook, outside ...
    return "".join(parts[::2]), "".join(parts[1::2])


class Gap(NamedTuple):
    """A feature the email uses that some target clients lack: the feature, an example of its
    use in the email, and each lacking client with the platforms that lack it."""

    support: Support
    example: str
    clients: Mapping[str, tuple[str, ...]]


def gaps(html: str, clients: tuple[str, ...]) -> list[Gap]:
    """What of ``html`` some of ``clients`` do not support, in the order the email uses it.

    One reading for the ``client-support`` check and the preview's client x feature matrix.
    """
    if not clients:
        return []
    everyone, not_outlook = _visible_to(html)
    used = features(everyone)
    used_but_outlook = features(not_outlook) if not_outlook else {}
    found = []
    for slug, example in {**used_but_outlook, **used}.items():
        support = _support(slug, clients)
        if support is None:
            continue
        lacking = {
            client: platforms
            for client, platforms in support.unsupported.items()
            if slug in used or client != CONDITIONAL_CLIENT
        }
        if lacking:
            found.append(Gap(support, example, lacking))
    return found


def client_support(ctx: Context) -> Iterator[Hit]:
    """Features of the email that some target clients do not support (the theme's concern)."""
    clients = tuple(ctx.settings.clients)
    for gap in gaps(ctx.email.html, clients):
        yield Hit(
            _message(gap.support.slug, gap.example, clients, tuple(gap.clients)),
            _place(ctx, gap.example),
        )


@lru_cache(maxsize=4096)
def _message(slug: str, example: str, clients: tuple[str, ...], lacking: tuple[str, ...]) -> str:
    """What to say of the feature ``slug`` used as ``example``, which the ``lacking`` of
    ``clients`` lack: the same for every issue of a theme, so written once."""
    support = _support(slug, clients)
    assert support is not None, slug  # a gap's
    names = [
        CLIENTS[client][2] + _platforms(client, support.unsupported[client]) for client in lacking
    ]
    shown = "" if example.lower() in support.title.lower() else f" ({example})"
    return (
        f"{support.title}{shown} is not supported by {', '.join(names)}: make sure the "
        f"email still reads well without it ({support.url})"
    )


def _place(ctx: Context, example: str) -> str:
    """The first line of email.html where ``example`` (or its property name) is used."""
    html = ctx.email.html
    index = html.find(example.rstrip(">") if example.startswith("<") else example)
    if index < 0 and ":" in example:
        index = html.find(example.split(":")[0] + ":")
    return ctx.at_offset(index)


def _platforms(client: str, platforms: tuple[str, ...]) -> str:
    """`` (iOS)`` when only some of the client's platforms lack the feature."""
    return "" if len(platforms) == len(CLIENTS[client][1]) else f" ({', '.join(platforms)})"
