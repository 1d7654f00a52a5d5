"""The issue model: one newsletter issue as an editor writes it, validated.

The fields follow the issue format in the README. Every model forbids unknown fields (a typo
must not pass silently), keeps text exactly as written, and checks URLs and local images at
load time so that ``newsletter validate`` catches them before anything is rendered.
"""

import datetime as dt
import os
import re
import stat
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Annotated, Any
from urllib.parse import urlsplit

from newsletter.errors import Problem
from newsletter.files import within
from newsletter.model.base import After, Field, Model
from newsletter.model.settings import http_url
from newsletter.model.validation import Loc, lookup_line, nearest

__all__ = [
    "MAX_IMAGE_BYTES",
    "Image",
    "Issue",
    "Lead",
    "Teaser",
    "is_local_src",
    "local_image",
    "resolved_under",
    "text_direction",
]

_RTL_LANGS = {"ar", "arc", "dv", "fa", "ha", "he", "iw", "khw", "ks", "ku", "ps", "sd", "ur", "yi"}


def text_direction(text: str, lang: str | None = None) -> str:
    """``rtl`` or ``ltr``: from the language when given, else from the first strong character.

    That is the Unicode bidi rule (P2) that ``dir="auto"`` applies in browsers; doing it here
    gives every email client an explicit ``dir``, since many do not honour ``auto``.
    """
    if lang:
        return "rtl" if lang.split("-")[0].lower() in _RTL_LANGS else "ltr"
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def is_local_src(src: str) -> bool:
    """Whether an image ``src`` (or link) names a file of the workspace rather than the web.

    The one place that decides: an absolute URL, a ``data:`` URI, a protocol-relative
    ``//host`` URL, a fragment and a merge-field token are not local; anything else is a path.
    """
    return bool(src) and not (urlsplit(src).scheme or src.startswith(("//", "%%", "#", "*|")))


#: The image formats every mail client shows, by the bytes a file of each starts with. SVG is
#: not among them: Gmail and Outlook do not show it, and it can carry script.
_IMAGE_MAGIC = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}
#: The heaviest local image accepted at all (the image-heavy check warns far below it).
MAX_IMAGE_BYTES = 10 * 1024 * 1024


def _inside(src: str) -> list[str]:
    """The parts of ``src``, a relative path that cannot climb out of the folder it is read in
    (split as text: a ``PurePosixPath`` costs more than the check)."""
    parts = [part for part in src.split("/") if part not in ("", ".")]
    if src.startswith("/") or ".." in parts:
        raise ValueError(
            f"a local image must be a path inside the workspace, like assets/photo.jpg, got {src!r}"
        )
    return parts


def local_image(root: Path, src: str) -> Path:
    """The workspace file a local image ``src`` names, checked to be a real image inside the
    workspace: raises :class:`ValueError` saying why not.

    Whatever a ``src`` says must not turn a secret into an "image" that an export packs or
    the preview serves: the path may not leave the workspace (``..``, or a symlink that points
    out), may not go through a hidden folder (``.newsletter/`` holds the send journal), and the
    file must be a JPEG, PNG, GIF or WebP by its content, not by its name.
    """
    parts = _inside(src)
    if any(part.startswith(".") for part in parts):
        raise ValueError(f"{src}: a local image may not be in a hidden folder or file")
    top = real_root(root)
    path = _resolved(top, parts)
    under = path[len(top.rstrip(os.sep)) + 1 :] if within(path, top) else None
    if under is None and path != top:
        raise ValueError(f"{src} leads outside the workspace (a symlink?): copy the image in")
    if any(part.startswith(".") for part in (under or "").split(os.sep)):
        raise ValueError(f"{src} leads into a hidden folder (a symlink?): copy the image in")
    try:
        with open(path, "rb") as file:
            head = file.read(12)
            size = os.fstat(file.fileno()).st_size
    except FileNotFoundError:
        near = _nearest_file(Path(top), PurePosixPath(*parts))
        hint = f" (did you mean {near}?)" if near else ""
        raise ValueError(f"image file not found: {src}{hint}") from None
    except OSError as error:
        raise ValueError(f"{src}: cannot read the image: {error.strerror or error}") from None
    webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if not webp and not any(head.startswith(magic) for magic in _IMAGE_MAGIC):
        hint = (
            " (SVG is not shown by Gmail or Outlook: export it as PNG)"
            if path.lower().endswith(".svg")
            else ""
        )
        raise ValueError(f"{src} is not a JPEG, PNG, GIF or WebP image by its content{hint}")
    if size > MAX_IMAGE_BYTES:
        raise ValueError(
            f"{src} weighs {size / 1024 / 1024:.0f} MB: resize it (at most 1200 px wide)"
        )
    return Path(path)


def _resolved(top: str, parts: list[str]) -> str:
    """``top`` joined with ``parts``, every link on the way followed, for every image of every
    build and preview: as strings (pathlib's resolve() costs three times as much), and only the
    parts under the workspace looked at (its own folders are resolved once, by
    :func:`real_root`), one ``lstat`` each, unless one is a link."""
    path = top
    for part in parts:
        path = os.path.join(path, part)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return os.path.realpath(os.path.join(top, *parts))
        except OSError:  # missing or unreadable: opening it says which
            return os.path.join(top, *parts)
    return path


def resolved_under(top: str, src: str) -> str:
    """The file the relative path ``src`` names under the folder ``top`` (its own links
    resolved: :func:`real_root`), every link on the way followed: what
    ``os.path.realpath(os.path.join(top, src))`` gives, one ``lstat`` a part under ``top``
    (realpath looks at every folder above it as well, for every image of every build)."""
    try:
        parts = _inside(src)
    except ValueError:  # ".." or absolute: only realpath knows where that leads
        return os.path.realpath(os.path.join(top, src))
    return _resolved(top, parts)


@lru_cache(maxsize=8)
def real_root(root: Path) -> str:
    """The workspace folder with its own links resolved, once per process: every image of
    every issue is checked against it."""
    return os.path.realpath(os.path.abspath(root))


def _check_image_src(src: str, context: Mapping[str, Any]) -> str:
    parts = urlsplit(src)
    if parts.scheme in ("http", "https"):
        if not parts.netloc:
            raise ValueError(f"expected a URL like https://example.com/a.jpg, got {src!r}")
        return src
    if parts.scheme or src.startswith("//"):
        raise ValueError(f"expected an https URL or a path like assets/photo.jpg, got {src!r}")
    root = context.get("root")
    if root is not None:
        local_image(Path(root), src)
    else:
        _inside(src)
    return src


def _nearest_file(root: Path, path: PurePosixPath) -> str | None:
    """The file name in the missing file's folder (or ``assets/``) closest to its name."""
    folder = root / path.parent if (root / path.parent).is_dir() else root / "assets"
    if not folder.is_dir():
        return None
    names = [entry.name for _, entry in zip(range(1000), folder.iterdir(), strict=False)]
    stem = path.stem.lower()
    containing = sorted(name for name in names if stem and stem in name.lower())
    close = containing[0] if containing else nearest(path.name, names)
    return (folder / close).relative_to(root).as_posix() if close else None


def _check_slug(slug: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", slug):
        raise ValueError(f"use lowercase letters, digits, '-', '.' and '_', got {slug!r}")
    return slug


_text = Annotated[str, Field(min_length=1)]


class _Model(Model, strip=True, numbers_to_str=True):
    """A part of an issue: text as written but for the spaces around it, a number typed where
    text is wanted taken as that text, and unknown fields refused."""


class Image(_Model):
    """An image: a file under the workspace or an https URL, always with a text alternative."""

    src: Annotated[str, After(_check_image_src, context=True)] = Field(
        description="A workspace path (assets/photo.jpg) or an https URL."
    )
    alt: str = Field(description='What the image shows, for screen readers; "" if decorative.')
    caption: str | None = Field(None, description="A line under the image.")
    credit: str | None = Field(None, description="Who took it, e.g. Reuters.")
    width: int | None = Field(None, gt=0, le=1200, description="Display width in px.")


class Lead(_Model):
    """The lead story."""

    kicker: str | None = Field(None, description="A small label above the headline.")
    headline: _text
    byline: str | None = None
    url: http_url | None = Field(None, description="Where the headline and Read more link to.")
    image: Image | None = None
    body: _text = Field(description="The story, in Markdown.")
    lang: str | None = Field(None, description="The story's language when not the issue's.")


class Teaser(_Model):
    """One card of the "More from {brand}" row."""

    headline: str | None = None
    url: http_url
    summary: _text
    image: Image | None = None
    lang: str | None = Field(None, description="The teaser's language when not the issue's.")


class Issue(_Model):
    """One issue of the newsletter."""

    subject: _text
    preheader: str = Field("", description="The line inboxes show after the subject.")
    date: dt.date
    slug: Annotated[str, After(_check_slug)] = Field(
        description="Names out/<slug>/; defaults to the file name without its extension."
    )
    lang: str | None = Field(None, description="Overrides [newsletter] lang for this issue.")
    draft: bool = Field(
        False, description="A draft is built and previewed but left out of the web archive."
    )
    smart_quotes: bool | None = Field(
        None,
        description="Typographic quotes (“ ” ’) for straight ones in this issue's copy; "
        "default: the theme's [layout] smart_quotes.",
    )
    lead: Lead
    teasers: list[Teaser] = Field(default_factory=list)

    # What the loader knows beyond the fields (set by newsletter.pipeline.load).
    _source: Path | None = None
    _lines: Mapping[Loc, int] = MappingProxyType({})
    _warnings: tuple[Problem, ...] = ()

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """What the loader found allowed but probably not meant (an empty field ...)."""
        return self._warnings

    @property
    def source(self) -> Path | None:
        """The file the issue was loaded from, if any."""
        return self._source

    def line_of(self, *loc: str | int) -> int | None:
        """The line in the source file where the field at ``loc`` was written."""
        return lookup_line(self._lines, loc)
