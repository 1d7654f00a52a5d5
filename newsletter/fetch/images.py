"""A downloaded image made fit for the email: checked by its content, resized to the theme.

The Content-Type a server sends and the extension of its URL prove nothing, so the type is
read from the file's first bytes (JPEG, PNG, GIF or WebP; nothing else is kept) and Pillow
must then decode it as that type. A picture wider than the theme's column (600 px) is scaled
down to it, which keeps the email light; WebP, which Outlook does not show, is saved as JPEG
(or PNG when it has transparency). An animated GIF is kept as it is, frames and all.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

__all__ = ["THEME_WIDTH", "Picture", "prepare", "sniff"]

#: The width of the theme's column, in px: the widest an image is ever shown.
THEME_WIDTH = 600
#: More pixels than this is refused before decoding (a decompression bomb).
_MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class Picture:
    """An image ready to save under ``assets/``."""

    data: bytes
    extension: str  # "jpg", "png" or "gif"
    width: int


def sniff(data: bytes) -> str | None:
    """The image type of ``data`` by its magic bytes: "jpeg", "png", "gif", "webp" or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def prepare(data: bytes) -> Picture:
    """``data`` checked and resized; ValueError says in a few words why it cannot be used."""
    kind = sniff(data)
    if kind is None:
        raise ValueError("is not a JPEG, PNG, GIF or WebP image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if (image.format or "").lower() != kind:
                raise ValueError(f"says it is {kind.upper()} but does not decode as one")
            if image.width * image.height > _MAX_PIXELS:  # checked before decoding a pixel
                raise ValueError(f"is {image.width}x{image.height} px, too large to be a photo")
            if kind == "gif" and getattr(image, "n_frames", 1) > 1:
                return Picture(data, "gif", min(image.width, THEME_WIDTH))
            image.load()
            return _resized(image, kind)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        reason = re.sub(r"\s+", " ", str(error)).strip()
        raise ValueError(f"cannot be read as an image ({reason})") from None


def _resized(image: Image.Image, kind: str) -> Picture:
    """The image at most THEME_WIDTH wide, in a format every mail client shows."""
    if image.width > THEME_WIDTH:
        height = max(1, round(image.height * THEME_WIDTH / image.width))
        image = image.resize((THEME_WIDTH, height), Image.Resampling.LANCZOS)
    alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
    out = io.BytesIO()
    if kind == "png" or (kind == "webp" and alpha):
        image.save(out, "PNG", optimize=True)
        extension = "png"
    elif kind == "gif":
        image.save(out, "GIF")
        extension = "gif"
    else:
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True, progressive=True)
        extension = "jpg"
    return Picture(out.getvalue(), extension, image.width)
