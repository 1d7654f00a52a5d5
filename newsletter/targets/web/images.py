"""Responsive images: each local image of the issues at 1x and 2x the width it is shown at.

The web pages give every local image a ``srcset`` of two sizes, each resized with Pillow and
re-encoded, so a phone loads no more pixels than it shows. The sizes' file names carry a hash
of their bytes (``assets/putin.680w.3f2a9c1b0d.jpg``): a changed image gets a new name, so
caches may keep these files for ever (``publish`` marks them immutable). The original is copied
too, at the path the email links to under ``asset_base_url``.

Each (image, width) is made once per site build however many issues show it, and files are
read only from inside the workspace: a symbolic link that leads out of it is refused.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from newsletter.errors import NewsletterError

__all__ = ["HASHED", "Images", "Picture", "Size"]

#: The file names of the hashed sizes (``.680w.<10 hex>.``), which never change content.
HASHED = re.compile(r"\.\d+w\.[0-9a-f]{10}\.[a-z0-9]+$")

#: How each format is re-encoded; other formats (GIF, SVG ...) are served as they are.
_ENCODE: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 82, "optimize": True, "progressive": True},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 80, "method": 4},
}


@dataclass(frozen=True)
class Size:
    """One resized copy of an image: its file in the site and its pixel size."""

    file: str
    width: int
    height: int


@dataclass(frozen=True)
class Picture:
    """A local image as the site serves it: the original's file and its resized sizes."""

    file: str
    width: int
    height: int
    sizes: tuple[Size, ...] = ()

    @property
    def best(self) -> Size:
        """The size to show where only one can be named (``src``, ``og:image``)."""
        return self.sizes[0] if self.sizes else Size(self.file, self.width, self.height)


class Images:
    """The local images of one site build, each size made once, and the files they make."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        #: site file -> bytes: the originals and every size made so far
        self.files: dict[str, bytes] = {}
        self._pictures: dict[tuple[str, int], Picture] = {}
        self._sources: dict[str, PILImage.Image | None] = {}

    def picture(self, src: str, width: int) -> Picture:
        """The image at workspace path ``src`` for a display ``width`` in CSS pixels.

        Raises :class:`NewsletterError` for a file outside the workspace or one that is not
        an image Pillow can read as such.
        """
        key = (src, width)
        if key not in self._pictures:
            self._pictures[key] = self._make(src, width)
        return self._pictures[key]

    def _source(self, src: str) -> PILImage.Image | None:
        """The image at ``src`` (``None`` for a file Pillow cannot read), its original copied
        into the site the first time."""
        if src not in self._sources:
            path = (self.root / src).resolve()
            if not path.is_relative_to(self.root):
                raise NewsletterError(
                    f"{src} leads outside the workspace (a symbolic link?); copy the image into "
                    "assets/ instead"
                )
            data = path.read_bytes()
            image: PILImage.Image | None
            try:
                image = PILImage.open(io.BytesIO(data))
                image.load()
            except UnidentifiedImageError:
                image = None  # an SVG, say: served as it is
            except (OSError, PILImage.DecompressionBombError) as error:
                raise NewsletterError(f"{src}: not a readable image ({error})") from None
            self._sources[src] = image
            self.files[PurePosixPath(src).as_posix()] = data
        return self._sources[src]

    def _make(self, src: str, width: int) -> Picture:
        image = self._source(src)
        if image is None:
            return Picture(src, width, 0)
        fmt = image.format or ""
        upright = ImageOps.exif_transpose(image)
        natural_w, natural_h = upright.size
        if fmt not in _ENCODE or getattr(image, "is_animated", False):
            return Picture(src, natural_w, natural_h)
        sizes: list[Size] = []
        for wanted in dict.fromkeys((min(width, natural_w), min(2 * width, natural_w))):
            height = max(1, round(natural_h * wanted / natural_w))
            sizes.append(self._resized(src, upright, fmt, wanted, height))
        return Picture(src, natural_w, natural_h, tuple(sizes))

    def _resized(self, src: str, image: PILImage.Image, fmt: str, width: int, height: int) -> Size:
        resized = (
            image
            if image.size == (width, height)
            else image.resize((width, height), PILImage.Resampling.LANCZOS)
        )
        if fmt == "JPEG" and resized.mode not in ("RGB", "L"):
            resized = resized.convert("RGB")
        out = io.BytesIO()
        resized.save(out, format=fmt, **_ENCODE[fmt])
        data = out.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:10]
        path = PurePosixPath(src)
        file = str(path.with_name(f"{path.stem}.{width}w.{digest}{path.suffix.lower()}"))
        self.files[file] = data
        return Size(file, width, height)
