"""The typed result of building one issue, which every later step reads.

An :class:`Artifact` carries forward everything a build learnt: the issue it came from, the
email, the sample subscriber's message, the checks' findings, how long each stage took, and
:class:`Rewrites`, what the transforms changed (each link's URL before and after the UTM step,
each image's ``src`` before and after the assets step). The checks, the exporters, the preview,
a send's preflight and ``meta.json`` all read it, so nothing later re-parses a file or repeats a
transform's regex backwards to find out what it did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path

from newsletter.errors import Problem
from newsletter.model.email import Email
from newsletter.model.findings import Finding
from newsletter.model.issue import Issue
from newsletter.record import Record

__all__ = ["Artifact", "BuildResult", "ImageRewrite", "LinkRewrite", "Rewrites"]


class LinkRewrite(Record):
    """A link the UTM step changed: where it pointed, where it points now, and its slot."""

    original: str
    final: str
    slot: str


class ImageRewrite(Record):
    """An image ``src`` the assets step changed, and the workspace file it shows."""

    original: str
    final: str
    path: Path | None = None
    #: the width in px of the resized copy ``final`` links (``None``: the original file)
    width: int | None = None


class Rewrites(Record):
    """What the transforms changed in the HTML, for the steps after them."""

    links: tuple[LinkRewrite, ...] = ()
    images: tuple[ImageRewrite, ...] = ()

    def original_link(self, href: str) -> str:
        """The URL ``href`` had before the UTM step (``href`` itself when untouched)."""
        for link in self.links:
            if link.final == href:
                return link.original
        return href

    def original_image(self, src: str) -> str:
        """The ``src`` an image had in the issue before the assets step."""
        for image in self.images:
            if image.final == src:
                return image.original
        return src

    def image_file(self, src: str) -> Path | None:
        """The workspace file an (already rewritten) image ``src`` shows, if it is local."""
        for image in self.images:
            if src in (image.final, image.original):
                return image.path
        return None

    def __add__(self, other: Rewrites) -> Rewrites:
        return Rewrites(self.links + other.links, self.images + other.images)


class Artifact(Record):
    """One built issue: its email and everything its build found out on the way."""

    source: Path
    display: str
    issue: Issue
    email: Email
    message: bytes
    built_at: dt.datetime
    findings: tuple[Finding, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    rewrites: Rewrites = field(default_factory=Rewrites)

    @property
    def slug(self) -> str:
        return self.email.slug

    @property
    def checked(self) -> bool:
        """Whether the checks ran (the stage times say which stages did): ``newsletter build``
        leaves them to ``newsletter check`` unless asked, and no findings of an artifact
        nobody checked would say nothing was wrong."""
        return "check" in self.timings

    def errors(self) -> tuple[Finding, ...]:
        """The findings a send must not go out with."""
        return tuple(f for f in self.findings if f.severity == "error")


class BuildResult(Record):
    """What building one issue file gave: an artifact, or the problems in its way."""

    source: Path
    artifact: Artifact | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.artifact is not None

    @property
    def slug(self) -> str:
        return self.artifact.slug if self.artifact else ""

    @property
    def email(self) -> Email | None:
        return self.artifact.email if self.artifact else None

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.artifact.findings if self.artifact else ()
