"""Resized copies of a local image: which widths, and the one place their file names are decided.

The email links each local image at 2x the width it shows it at, and the web pages give it a
``srcset`` of 1x and 2x; both name a copy with :func:`sized`, so the name the email links is
the name of a file ``newsletter site`` makes. A name carries a hash of what the copy is made
from (the original's bytes, the width, the encoder's settings and Pillow's version):
``assets/putin.1200w.3f2a9c1b0d.jpg``. It is known before any pixel is resized, so a build
links the copy without making it, and a site build that finds the file in its previous output
never resizes it again; a changed image gets a new name, so caches may keep these files for
ever (``publish`` marks them immutable).

Files are read only from inside the workspace: a symbolic link that leads out of it is
refused.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from functools import lru_cache
from pathlib import Path, PurePosixPath

import PIL  # the package alone, for its version: Pillow itself loads only to read pixels
from PIL import UnidentifiedImageError

from newsletter.errors import NewsletterError
from newsletter.files import within
from newsletter.model.issue import real_root, resolved_under
from newsletter.pipeline import parsed
from newsletter.record import Record

__all__ = ["HASHED", "Size", "Source", "encode", "read_source", "sized"]

#: The file names of the resized copies (``.680w.<10 hex>.``), which never change content.
HASHED = re.compile(r"\.\d+w\.[0-9a-f]{10}\.[a-z0-9]+$")

#: How each format is re-encoded; other formats (GIF, SVG ...) are served as they are.
_ENCODE: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 82, "optimize": True, "progressive": True},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 80, "method": 4},
}


class Size(Record):
    """One copy of an image: its file in the site and its pixel size."""

    file: str
    width: int
    height: int


class Source(Record):
    """A local image as read from the workspace: its bytes and what resizing needs to know."""

    src: str
    #: the file, links resolved
    path: str
    #: Pillow's name of the format; "" for a file Pillow cannot read (an SVG, say)
    format: str
    #: the size it is shown at, turned upright as its EXIF orientation says
    width: int
    height: int
    #: whether copies are made (a still JPEG, PNG or WebP); else it is served as it is
    resizable: bool
    digest: str

    def read(self) -> bytes:
        """The file's bytes, as they were when its header was read (else an error: it was
        saved again since, and the copies would not be what their names say)."""
        try:
            data = Path(self.path).read_bytes()
        except OSError as error:
            raise NewsletterError(f"{self.src}: cannot read the image ({error.strerror})") from None
        if hashlib.sha256(data).hexdigest() != self.digest:
            raise NewsletterError(f"{self.src} changed while it was being used: build again")
        return data


def read_source(root: Path, src: str) -> Source:
    """The image at workspace path ``src``, its header read (not yet its pixels).

    Raises :class:`NewsletterError` for a file outside the workspace or one that is not an
    image Pillow can read as such.
    """
    base = real_root(root)
    path = resolved_under(base, src)  # every link on the way followed, now
    if not within(path, base):
        raise NewsletterError(
            f"{src} leads outside the workspace (a symbolic link?); copy the image into "
            "assets/ instead"
        )
    try:
        stat = os.stat(path)
        found = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        return Source(src, path, *_header(path, *found))
    except OSError as error:
        raise NewsletterError(f"{src}: cannot read the image ({error.strerror})") from None
    except _NotAnImage as error:
        raise NewsletterError(f"{src}: not a readable image ({error})") from None


class _NotAnImage(Exception):
    """A file Pillow knows the format of but cannot read (truncated, say, or a bomb)."""


#: What :func:`_header` finds: format, width, height, whether resizable, digest.
_Header = tuple[str, int, int, bool, str]


@lru_cache(maxsize=32)
def _header(path: str, mtime_ns: int, size: int, inode: int) -> _Header:
    """What the image file at ``path`` is, as it was at ``mtime_ns``, ``size`` and ``inode``:
    found once per process however many issues (a site of a thousand) show it, and kept for
    the next process (:mod:`newsletter.pipeline.parsed`), which then neither reads the file
    nor imports Pillow to link it."""
    fmt, width, height, resizable, digest = parsed.kept(
        f"image header {parsed.made_by(__file__, PIL.__file__)}",
        f"{path}\0{mtime_ns}\0{size}\0{inode}",
        lambda: list(_read_header(path)),
        accept=lambda value: isinstance(value, list) and len(value) == 5,
    )
    return str(fmt), int(width), int(height), bool(resizable), str(digest)


def _read_header(path: str) -> _Header:
    from PIL import Image as PILImage

    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        # Opened by name, not from ``data``: Pillow then loads the one plugin the file's
        # extension names, not its five common ones (GIF's alone imports half of Pillow),
        # and falls back to trying them all for a file misnamed.
        with PILImage.open(path) as image:
            width, height = image.size
            if image.getexif().get(0x0112) in (5, 6, 7, 8):  # rotated a quarter turn
                width, height = height, width
            fmt = image.format or ""
            resizable = fmt in _ENCODE and not getattr(image, "is_animated", False)
    except UnidentifiedImageError:
        return "", 0, 0, False, digest  # served as it is
    except (OSError, PILImage.DecompressionBombError) as error:
        raise _NotAnImage(error) from None
    return fmt, width, height, resizable, digest


def sized(source: Source, width: int) -> Size:
    """The copy of ``source`` ``width`` px wide (never wider than the original), named by what
    it is made from; the original itself for an image that is served as it is."""
    if not source.resizable:
        return Size(PurePosixPath(source.src).as_posix(), source.width, source.height)
    return _copy(source.src, source.format, source.width, source.height, source.digest, width)


@lru_cache(maxsize=1024)
def _copy(src: str, fmt: str, natural_w: int, natural_h: int, digest: str, width: int) -> Size:
    """:func:`sized` of a resizable image, from what names it (not its bytes, which are not
    kept here), once per process."""
    wanted = max(1, min(width, natural_w))
    height = max(1, round(natural_h * wanted / natural_w))
    recipe = f"{wanted}:{fmt}:{sorted(_ENCODE[fmt].items())}:{PIL.__version__}:{digest}"
    name = hashlib.sha256(recipe.encode()).hexdigest()[:10]
    path = PurePosixPath(src)
    return Size(
        str(path.with_name(f"{path.stem}.{wanted}w.{name}{path.suffix.lower()}")), wanted, height
    )


def encode(source: Source, size: Size) -> bytes:
    """The bytes of the copy ``size`` of ``source``: resized (Lanczos) and re-encoded."""
    if not source.resizable:
        return source.read()
    from PIL import Image as PILImage
    from PIL import ImageOps  # only when copies are made: the site, not the email

    try:
        image = PILImage.open(io.BytesIO(source.read()))
        image.load()
    except (OSError, PILImage.DecompressionBombError) as error:
        raise NewsletterError(f"{source.src}: not a readable image ({error})") from None
    upright = ImageOps.exif_transpose(image)
    resized = (
        upright
        if upright.size == (size.width, size.height)
        else upright.resize((size.width, size.height), PILImage.Resampling.LANCZOS)
    )
    if source.format == "JPEG" and resized.mode not in ("RGB", "L"):
        resized = resized.convert("RGB")
    out = io.BytesIO()
    resized.save(out, format=source.format, **_ENCODE[source.format])
    return out.getvalue()
