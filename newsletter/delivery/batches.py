"""A list send through an ESP's bulk API: batches, journaled, retried, never twice.

For each batch, :func:`deliver_batches` marks every recipient "sending" in one committed
transaction *before* the call, then records each recipient's answer after it. Whatever stops
the process between the two (``kill -9``, a lost connection), the next run finds the batch
"sending" and the journal turns it into "unknown": reported, and sent again only when the
editor asks. A 429, a 5xx or a connection refused is retried after ``Retry-After`` or an
exponential backoff with jitter, ``retries`` times at most, after which the batch is
"deferred" (a next run tries again); a recipient the ESP refused is "failed". The batches go
no faster than ``rate`` or the ESP's own quota for the account (``transport.rate``, read while
preparing), whichever is lower.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from newsletter.delivery.journal import Journal
from newsletter.delivery.ratelimit import RateLimiter
from newsletter.delivery.send import Delivery, Outcome, Report
from newsletter.delivery.transport import Answer, BatchTransport, Retry, Unknown
from newsletter.errors import NewsletterError

__all__ = ["batched", "deliver_batches"]

#: The longest wait between two tries, whatever ``Retry-After`` says.
MAX_WAIT = 60.0

_UNSAFE = ("\r", "\n", "\0")

T = TypeVar("T")


def deliver_batches(
    deliveries: Iterable[Delivery],
    transport: BatchTransport,
    *,
    issue: str,
    journal: Journal | None,
    rate: float | None,
    retries: int,
    retry_delay: float,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Send every delivery in batches; return the report (a refused send is in its ``error``).

    ``deliveries`` is read one batch at a time, and the report keeps only the outcomes that are
    not "sent" (the others it counts), so that a list's size does not decide the memory a send
    takes."""
    started = time.monotonic()
    report = Report()

    def record(batch: Sequence[Delivery], answers: Sequence[Answer]) -> None:
        if journal is not None:
            journal.mark_many(
                issue,
                ((d.key, a.state, a.code, a.detail) for d, a in zip(batch, answers, strict=True)),
            )
        for delivery, answer in zip(batch, answers, strict=True):
            outcome = Outcome(delivery.to, answer.state, answer.code, answer.detail)
            if outcome.state == "sent":
                report.tallied["sent"] += 1
            else:
                report.outcomes.append(outcome)
            on_outcome(outcome)

    try:
        try:
            _retrying(lambda: _idempotent(transport.prepare), retries, retry_delay, sleep)
        except Retry as retry:
            raise NewsletterError(
                f"{transport.name}: preparing the send failed {retries + 1} times: {retry.detail}; "
                "nothing was sent, try again later"
            ) from None
        limits = [r for r in (rate, transport.rate) if r]  # the ESP's own quota caps ours
        limiter = RateLimiter(min(limits), sleep=sleep) if limits else None
        for batch in batched(deliveries, transport.batch_size):
            unsafe = [d for d in batch if _unsafe(d)]
            if unsafe:  # nothing from a list reaches a header unchecked
                record(
                    unsafe,
                    [Answer("failed", None, "a merge value holds CR, LF or NUL")] * len(unsafe),
                )
                batch = [d for d in batch if not _unsafe(d)]
                if not batch:
                    continue
            if limiter is not None:
                for _ in batch:
                    limiter.wait()
            record(batch, _send(batch, transport, journal, issue, retries, retry_delay, sleep))
    except KeyboardInterrupt:
        report.interrupted = True
    except Exception as error:  # a NewsletterError: the ESP refused the whole send
        report.error = error
    finally:
        transport.close()
    report.seconds = time.monotonic() - started
    return report


def _send(
    batch: Sequence[Delivery],
    transport: BatchTransport,
    journal: Journal | None,
    issue: str,
    retries: int,
    retry_delay: float,
    sleep: Callable[[float], None],
) -> list[Answer]:
    """One batch's answers, retried as the ESP asks; marks the batch "sending" before each try."""

    def mark(state: str, code: int | None = None, detail: str = "") -> None:
        if journal is not None:
            journal.mark_many(issue, ((d.key, state, code, detail) for d in batch))

    def attempt() -> list[Answer]:
        mark("sending", None, f"the {transport.name} API call")  # what a next run recovers
        return transport.send(batch)

    def waiting(retry: Retry) -> None:
        mark("deferred", retry.code, retry.detail)  # not "sending" while waiting

    try:
        return _retrying(attempt, retries, retry_delay, sleep, waiting)
    except Unknown as unknown:
        return [Answer("unknown", None, f"{transport.name}: {unknown}")] * len(batch)
    except Retry as retry:
        return [Answer("deferred", retry.code, f"{transport.name}: {retry.detail}")] * len(batch)
    except NewsletterError:
        mark("pending")  # the ESP refused the whole send: nothing of the batch was sent
        raise
    except BaseException as error:  # Ctrl-C or a surprise mid-call: it may have been sent
        mark("unknown", None, f"{transport.name}: the call stopped: {error!r}")
        raise


def _retrying(
    action: Callable[[], T],
    retries: int,
    retry_delay: float,
    sleep: Callable[[float], None],
    waiting: Callable[[Retry], None] = lambda retry: None,
) -> T:
    """``action()``, tried again after each :class:`Retry` it raises (``Retry-After``, else a
    doubling delay with jitter, at most :data:`MAX_WAIT`), ``retries`` times; the last
    :class:`Retry` is raised."""
    attempt = 0
    while True:
        try:
            return action()
        except Retry as retry:
            if attempt >= retries:
                raise
            waiting(retry)
            backoff = retry_delay * 2**attempt * (0.5 + random.random())
            sleep(min(MAX_WAIT, retry.after if retry.after is not None else backoff))
            attempt += 1


def _idempotent(action: Callable[[], None]) -> None:
    """Run ``action``, which may be repeated: a call of unknown fate is simply tried again."""
    try:
        action()
    except Unknown as unknown:
        raise Retry(str(unknown)) from None


def _unsafe(delivery: Delivery) -> bool:
    return any(c in value for value in (delivery.to, *delivery.values.values()) for c in _UNSAFE)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items``, ``size`` at a time (``itertools.batched`` from Python 3.12 on)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
