"""A send: messages to recipients over parallel reused connections, journaled, rate-limited.

:func:`deliver` runs ``[send] connections`` worker threads, each with its own
:class:`~.smtp.Sender` (one SMTP connection reused for every message it sends), all sharing one
:class:`~.ratelimit.RateLimiter` and, for list sends, one :class:`~.journal.Journal`. For each
recipient a worker makes the message (:class:`~newsletter.message.MessageTemplate`: microseconds),
then sends it: the journal marks the recipient "sending" just before DATA and "sent" after the
server's 250. A 4xx answer at any stage (MAIL, RCPT, DATA or the final dot) or a connection
lost before the final dot was handed over is retried after a delay that doubles each time; a
5xx answer is a failure, recorded and not retried; only a connection lost while waiting for the
answer to the final dot leaves the message's fate unknown, recorded as such. Each result is
committed to the journal the moment the server has answered, before the next message.

Results come back to the calling thread, which reports progress. Ctrl-C there stops the
workers: each may finish the message in hand for :data:`GRACE` seconds, then its connection is
cut (:class:`~.smtp.Abortable`), so the send stops within about a second whatever the server
does; what the workers learnt is recorded, and the journal knows where to resume.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from newsletter.delivery.journal import Journal
from newsletter.delivery.ratelimit import RateLimiter
from newsletter.delivery.smtp import Abortable, ConnectionLost, Sender
from newsletter.mail.message import MessageTemplate, Signer

__all__ = ["GRACE", "Delivery", "Outcome", "Report", "deliver"]

#: Seconds the workers have, after Ctrl-C, to finish the message in hand before it is cut.
GRACE = 0.7


@dataclass(frozen=True)
class Delivery:
    """One message to send: to whom, with which merge values, under which journal key."""

    to: str
    values: Mapping[str, str]
    key: str


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: ``sent``, ``failed``, ``deferred`` or ``unknown``."""

    to: str
    state: str
    code: int | None = None
    detail: str = ""


@dataclass
class Report:
    """The outcomes of a send, and why it stopped early if it did.

    ``tallied`` counts the outcomes that were counted rather than kept: a list send through an
    ESP keeps no object per recipient sent (a list of 100,000 would be held whole), only those
    the editor must read."""

    outcomes: list[Outcome] = field(default_factory=list)
    error: BaseException | None = None
    interrupted: bool = False
    seconds: float = 0.0
    tallied: Counter[str] = field(default_factory=Counter)

    def count(self, state: str) -> int:
        return self.tallied[state] + sum(1 for outcome in self.outcomes if outcome.state == state)


@dataclass(frozen=True)
class _Options:
    template: MessageTemplate
    issue: str
    journal: Journal | None
    limiter: RateLimiter
    retries: int
    retry_delay: float
    sign: Signer | None
    stop: threading.Event
    senders: list[Sender] = field(default_factory=list)
    senders_lock: threading.Lock = field(default_factory=threading.Lock)

    def abort(self) -> None:
        """Cut every connection's message in hand short (those that can be)."""
        with self.senders_lock:
            senders = list(self.senders)
        for sender in senders:
            if isinstance(sender, Abortable):
                sender.abort()


def deliver(
    deliveries: Sequence[Delivery],
    template: MessageTemplate,
    *,
    connect: Callable[[], Sender],
    connections: int,
    rate: float,
    retries: int,
    retry_delay: float,
    issue: str = "",
    journal: Journal | None = None,
    sign: Signer | None = None,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
) -> Report:
    """Send every delivery; return the report (it never raises for one recipient's failure).

    A :class:`~newsletter.problems.NewsletterError` from a sender (cannot connect, login
    refused) stops every worker and is returned in ``report.error``; the recipients not yet
    sent stay pending in the journal.
    """
    started = time.monotonic()
    work: queue.SimpleQueue[Delivery] = queue.SimpleQueue()
    for item in deliveries:
        work.put(item)
    results: queue.SimpleQueue[Outcome | BaseException | None] = queue.SimpleQueue()
    options = _Options(
        template,
        issue,
        journal,
        RateLimiter(rate),
        retries,
        retry_delay,
        sign,
        threading.Event(),
    )
    count = max(1, min(connections, len(deliveries)))
    workers = [
        threading.Thread(target=_worker, args=(work, results, connect, options), daemon=True)
        for _ in range(count)
    ]
    report = Report()
    started_workers: list[threading.Thread] = []
    running = len(workers)
    try:  # from the first worker's start: a Ctrl-C at any moment after it is handled here
        for worker in workers:
            worker.start()
            started_workers.append(worker)
        while running:
            try:
                result = results.get(timeout=0.25)  # a timeout keeps Ctrl-C responsive
            except queue.Empty:
                continue
            if result is None:
                running -= 1
            elif isinstance(result, BaseException):
                report.error = report.error or result
                options.stop.set()
            else:
                report.outcomes.append(result)
                on_outcome(result)
    except KeyboardInterrupt:
        report.interrupted = True
        options.stop.set()
        _stop(started_workers, options)
        while not results.empty():  # what the workers finished after the interrupt
            late = results.get()
            if isinstance(late, Outcome):
                report.outcomes.append(late)
                on_outcome(late)
    report.seconds = time.monotonic() - started
    return report


def _stop(workers: list[threading.Thread], options: _Options) -> None:
    """Let the workers finish the message in hand for :data:`GRACE` seconds, then cut their
    connections and give them a moment to record what became of it. A second Ctrl-C cuts at
    once."""
    deadline = time.monotonic() + GRACE
    try:
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        pass
    options.abort()
    deadline = time.monotonic() + 2.0
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))


def _worker(
    work: queue.SimpleQueue[Delivery],
    results: queue.SimpleQueue[Outcome | BaseException | None],
    connect: Callable[[], Sender],
    options: _Options,
) -> None:
    sender = connect()
    with options.senders_lock:
        options.senders.append(sender)
    try:
        while not options.stop.is_set():
            try:
                item = work.get_nowait()
            except queue.Empty:
                break
            results.put(_send_one(item, sender, options))
    except Exception as error:  # a NewsletterError from the sender stops the send
        results.put(error)
    finally:
        sender.close()
        results.put(None)


def _send_one(item: Delivery, sender: Sender, options: _Options) -> Outcome:
    journal, issue = options.journal, options.issue
    message = options.template.message(
        item.to, item.values, date=dt.datetime.now(dt.UTC), sign=options.sign
    )

    def before_data() -> None:
        if journal is not None:
            journal.mark(issue, item.key, "sending")

    attempt = 0
    while True:
        options.limiter.wait()
        try:
            reply = sender.send(options.template.mail_from, item.to, message, before_data)
        except ConnectionLost as lost:
            if lost.fate_unknown:
                return _record(
                    options, item, "unknown", None, f"connection lost after DATA: {lost}"
                )
            kind, code, detail = "temporary", None, f"connection lost: {lost}"
        else:
            kind, code, detail = reply.kind, reply.code, reply.text
        if kind == "sent":
            return _record(options, item, "sent", code, detail)
        if kind == "permanent":
            return _record(options, item, "failed", code, detail)
        if attempt >= options.retries:
            return _record(options, item, "deferred", code, detail)
        if journal is not None:  # not "sending" while waiting: a kill now loses nothing
            journal.mark(issue, item.key, "deferred", code, detail)
        if options.stop.wait(options.retry_delay * 2**attempt):
            return _record(options, item, "deferred", code, detail)
        attempt += 1


def _record(
    options: _Options, item: Delivery, state: str, code: int | None, detail: str
) -> Outcome:
    if options.journal is not None:
        options.journal.mark(options.issue, item.key, state, code, detail)
    return Outcome(item.to, state, code, detail)
