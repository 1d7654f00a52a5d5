"""The interface of a bulk transport: an ESP's API that takes a batch of recipients per call.

A :class:`BatchTransport` turns a batch of :class:`~.send.Delivery` into one API call and
answers per recipient (:class:`Answer`), or raises what the call as a whole came to:

- :class:`Retry`: the ESP took nothing (429, 5xx, a connection refused before the request was
  sent); :func:`~.batches.deliver_batches` waits (``Retry-After``, else an exponential backoff
  with jitter) and tries again, a bounded number of times;
- :class:`Unknown`: the request may have been taken (a timeout or a connection lost after it
  was sent): every recipient of the batch is of unknown fate, as after a lost SMTP DATA;
- a :class:`~newsletter.errors.NewsletterError`: the ESP refused the whole send (a key it does
  not know, a sender it has not verified): the send stops, nothing of the batch was sent.

Transports read their credentials from the environment when they are made, and never put them
in an answer, an error or the journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from newsletter.delivery.send import Delivery

__all__ = ["Answer", "BatchTransport", "Retry", "Unknown"]


@dataclass(frozen=True)
class Answer:
    """What the ESP said about one recipient: ``sent`` (with its message id) or ``failed``."""

    state: str
    code: int | None
    detail: str


class Retry(Exception):
    """The ESP took nothing of the batch; try again (after ``after`` seconds, if it said)."""

    def __init__(self, detail: str, *, code: int | None = None, after: float | None = None):
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.after = after


class Unknown(Exception):
    """The batch may or may not have been taken."""


class BatchTransport(Protocol):
    """One ESP's bulk API."""

    #: the ESP's name, as ``--via`` takes it
    name: str
    #: the most recipients one call takes
    batch_size: int
    #: the most recipients a second the ESP lets this account send (SES's ``MaxSendRate``),
    #: known once :meth:`prepare` has returned; None when the ESP sets no such limit
    rate: float | None
    #: whether each recipient's part of a call carries their own links (SES's replacement data
    #: holds the signed unsubscribe URL); else only ``first_name`` and ``email`` are made
    personal_links: bool

    def prepare(self) -> None:
        """Make what the batches need on the ESP's side (the issue's template), idempotently."""
        ...

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        """Send one batch; one answer per delivery, in order."""
        ...

    def close(self) -> None: ...
