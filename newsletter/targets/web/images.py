"""Responsive images: each local image of the issues at 1x and 2x the width it is shown at.

The web pages give every local image a ``srcset`` of two sizes, so a phone loads no more
pixels than it shows; the email links the 2x copy of the width it shows the image at. Which
copies there are and what they are called is :mod:`newsletter.pipeline.transforms.sizes`, the
one place that names them for the email and the site. The original is copied too, at the path
the email links it to when it is not resized.

Each original is read once per site build however many issues show it, and each copy is
resized once: copies are only named while the pages are made, and made at the end, except
those the previous site already holds (``reuse``), which are taken from it as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from newsletter.pipeline.transforms.sizes import Size, Source, encode, read_source, sized

__all__ = ["Images", "Picture", "Size"]


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
    """The local images of one site build, and the files they make.

    ``reuse(file)`` gives the bytes the previous site holds under that name, if any: a copy's
    name says what it is made from, so a file of that name is that copy.
    """

    def __init__(self, root: Path, reuse: Callable[[str], bytes | None] | None = None) -> None:
        self.root = root.resolve()
        self._reuse = reuse or (lambda file: None)
        self._sources: dict[str, Source] = {}
        #: site file -> the copy to make of which original
        self._copies: dict[str, tuple[Source, Size]] = {}
        self._pictures: dict[tuple[str, int], Picture] = {}
        self._sizes: dict[tuple[str, int], Size] = {}

    def source(self, src: str) -> Source:
        """The original at workspace path ``src``, read once.

        Raises :class:`NewsletterError` for a file outside the workspace or one that is not
        an image Pillow can read as such.
        """
        if src not in self._sources:
            self._sources[src] = read_source(self.root, src)
        return self._sources[src]

    def copy(self, src: str, width: int) -> Size:
        """The copy of ``src`` ``width`` px wide (or the original, for an image served as it
        is), to be made with the site's files."""
        key = (src, width)
        if key not in self._sizes:
            source = self.source(src)
            size = self._sizes[key] = sized(source, width)
            if source.resizable:
                self._copies.setdefault(size.file, (source, size))
        return self._sizes[key]

    def picture(self, src: str, width: int) -> Picture:
        """The image at workspace path ``src`` for a display ``width`` in CSS pixels."""
        key = (src, width)
        if key not in self._pictures:
            self._pictures[key] = self._picture(src, width)
        return self._pictures[key]

    def _picture(self, src: str, width: int) -> Picture:
        source = self.source(src)
        if not source.format:
            return Picture(src, width, 0)  # an SVG, say: served as it is
        if not source.resizable:
            return Picture(src, source.width, source.height)
        wanted = dict.fromkeys((min(width, source.width), min(2 * width, source.width)))
        sizes = tuple(self.copy(src, w) for w in wanted)
        return Picture(src, source.width, source.height, sizes)

    def files(self) -> dict[str, bytes]:
        """Every original read and every copy named so far: site file -> bytes.

        Raises :class:`NewsletterError` for an original whose pixels cannot be read.
        """
        files = {PurePosixPath(src).as_posix(): s.read() for src, s in self._sources.items()}
        for file, (source, size) in self._copies.items():
            files[file] = self._reuse(file) or encode(source, size)
        return files
