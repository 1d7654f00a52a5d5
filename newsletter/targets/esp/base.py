"""What every exporter shares: its context, its JSON files, its size limits.

Each exporter is a function ``(artifact, context) -> {file name: bytes}`` that writes nothing;
the ``export`` command writes the files atomically. No exporter reads a secret, so none can
leak one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsletter.errors import NewsletterError
from newsletter.model.artifact import Artifact
from newsletter.model.settings import Settings

__all__ = ["ExportContext", "Exporter", "check_size", "check_subject", "json_file"]


@dataclass(frozen=True)
class ExportContext:
    """What an exporter needs besides the artifact: the settings, where local images are, when."""

    settings: Settings
    root: Path
    now: dt.datetime


Exporter = Callable[[Artifact, ExportContext], dict[str, bytes]]


def json_file(data: object) -> bytes:
    """``data`` as the UTF-8 JSON file an ESP's API or import takes, indented for reading."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def check_size(esp: str, what: str, size: int, limit: int) -> None:
    """Refuse an export the ESP would reject for its size, saying by how much."""
    if size > limit:
        raise NewsletterError(
            f"{esp}: the {what} is {size / 1024:.1f} KB, over {esp}'s limit of "
            f"{limit // 1024} KB; shorten the issue"
        )


def check_subject(esp: str, subject: str, limit: int) -> None:
    """Refuse a subject (as the export writes it, tags included) longer than ``esp`` takes."""
    if len(subject) > limit:
        raise NewsletterError(
            f"{esp}: the subject is {len(subject)} characters with its merge tags, over "
            f"{esp}'s limit of {limit}; shorten the subject"
        )
