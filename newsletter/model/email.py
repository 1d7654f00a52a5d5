"""The finished email: both parts and the lines an inbox shows, merge fields still neutral."""

from __future__ import annotations

from newsletter.record import Record

__all__ = ["Email"]


class Email(Record):
    """A finished email, still holding ESP-neutral merge fields (``%%first_name|there%%``).

    Everything a target needs to turn it into files or messages, and nothing about how it was
    made: the timings, rewrites and findings of its build are on the
    :class:`~newsletter.model.artifact.Artifact` that carries it.
    """

    slug: str
    subject: str
    preheader: str
    html: str
    text: str
    mjml: str
    lang: str
