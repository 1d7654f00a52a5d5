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
import functools
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from newsletter.delivery.journal import Journal
from newsletter.delivery.ratelimit import RateLimiter
from newsletter.delivery.smtp import Abortable, ConnectionLost, Sender
from newsletter.mail.message import Data, MessageTemplate, Signer

__all__ = ["GRACE", "WINDOW", "WINDOW_SECONDS", "Delivery", "Outcome", "Report", "deliver"]

#: Seconds the workers have, after Ctrl-C, to finish the message in hand before it is cut.
GRACE = 0.7

#: The most recipients one connection claims in the journal at once (see :class:`_Lane`) ...
WINDOW = 32
#: ... and about how many seconds of its sending one claim covers.
WINDOW_SECONDS = 0.01


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
    results: queue.SimpleQueue[list[Outcome] | BaseException | None] = queue.SimpleQueue()
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
                for outcome in result:
                    report.outcomes.append(outcome)
                    on_outcome(outcome)
    except KeyboardInterrupt:
        report.interrupted = True
        options.stop.set()
        _stop(started_workers, options)
        while not results.empty():  # what the workers finished after the interrupt
            late = results.get()
            if isinstance(late, list):
                for outcome in late:
                    report.outcomes.append(outcome)
                    on_outcome(outcome)
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
    results: queue.SimpleQueue[list[Outcome] | BaseException | None],
    connect: Callable[[], Sender],
    options: _Options,
) -> None:
    lane = _Lane(work, results, options)
    sender: Sender | None = None
    try:
        sender = connect()
        with options.senders_lock:
            options.senders.append(sender)
        lane.run(sender)
    except Exception as error:  # a NewsletterError from the sender stops the send
        results.put(error)
    finally:
        try:
            lane.settle()
        except Exception as error:  # the journal could not record the end
            results.put(error)
        if sender is not None:
            sender.close()
        results.put(None)


class _Lane:
    """One connection's share of a send: the recipients it took from the queue, which of them
    the journal has as "sending", and the outcomes it has not committed yet.

    A recipient is claimed ("sending", committed) before its message can leave, and its outcome
    is committed before the claim is given up; but a commit costs more than making a message,
    so one commit records the outcomes of a window and claims the next one: as many
    recipients as this connection sends in :data:`WINDOW_SECONDS` (so a slow server still gets
    one at a time), at most :data:`WINDOW`. A kill leaves at most that window unknown; a
    send that stops cleanly gives the claims of the messages that never left back.
    """

    def __init__(
        self,
        work: queue.SimpleQueue[Delivery],
        results: queue.SimpleQueue[list[Outcome] | BaseException | None],
        options: _Options,
    ) -> None:
        self._work, self._results, self._options = work, results, options
        self._queued: deque[Delivery] = deque()  # taken from the queue, not sent yet
        self._claimed: set[str] = set()  # committed as "sending", no outcome yet
        self._handed: str | None = None  # claimed and handed to the sender: may have left
        self._marks: list[tuple[str, str, int | None, str]] = []  # not committed yet
        self._outcomes: list[Outcome] = []  # recorded in the marks, not reported yet
        self._size = 1  # how many recipients to take next
        self._since = time.monotonic()  # the last claim
        self._done = 0  # outcomes since the last claim

    def run(self, sender: Sender) -> None:
        options = self._options
        item = self._take()
        message = self._make(item) if item is not None else None
        while item is not None and message is not None and not options.stop.is_set():
            following = self._peek()
            ahead: list[Data | bytes] = []
            meanwhile = functools.partial(self._prepare, following, ahead)
            self._send(item, message, sender, following, meanwhile)
            item = self._take()
            if item is None:
                break
            message = ahead[0] if ahead and item is following else self._make(item)

    def _prepare(self, item: Delivery | None, into: list[Data | bytes]) -> None:
        """Make ``item``'s message while the server reads the one before it (once, however
        often that one is tried)."""
        if item is not None and not into:
            into.append(self._make(item))

    def _make(self, item: Delivery) -> Data | bytes:
        """The message as DATA carries it; or, when it holds what may not go on the wire, the
        message itself, which the sender refuses with what and where."""
        template, now = self._options.template, dt.datetime.now(dt.UTC)
        try:
            return template.data(item.to, item.values, date=now, sign=self._options.sign)
        except ValueError:
            return template.message(item.to, item.values, date=now, sign=self._options.sign)

    def _take(self) -> Delivery | None:
        if not self._queued:
            self._refill()
        return self._queued.popleft() if self._queued else None

    def _peek(self) -> Delivery | None:
        if not self._queued:
            self._refill()
        return self._queued[0] if self._queued else None

    def _refill(self) -> None:
        if self._options.stop.is_set():
            return
        for _ in range(self._size):
            try:
                self._queued.append(self._work.get_nowait())
            except queue.Empty:
                return

    def _send(
        self,
        item: Delivery,
        message: Data | bytes,
        sender: Sender,
        following: Delivery | None,
        meanwhile: Callable[[], None],
    ) -> None:
        options = self._options

        def before_data() -> None:
            if item.key not in self._claimed:
                self._claim(item)
            self._handed = item.key

        attempt = 0
        while True:
            options.limiter.wait()
            try:
                reply = sender.send(
                    options.template.mail_from,
                    item.to,
                    message,
                    before_data,
                    following=following.to if following is not None else None,
                    meanwhile=meanwhile,
                )
            except ConnectionLost as lost:
                if lost.fate_unknown:
                    self._record(item, "unknown", None, f"connection lost after DATA: {lost}")
                    return
                kind, code, detail = "temporary", None, f"connection lost: {lost}"
            else:
                kind, code, detail = reply.kind, reply.code, reply.text
            if kind == "sent":
                self._record(item, "sent", code, detail)
                return
            if kind == "permanent":
                self._record(item, "failed", code, detail)
                return
            if attempt >= options.retries:
                self._record(item, "deferred", code, detail)
                return
            # not "sending" while waiting: a kill now loses nothing
            self._marks.append((item.key, "deferred", code, detail))
            self._claimed.discard(item.key)
            self._handed = None
            self._commit()
            if options.stop.wait(options.retry_delay * 2**attempt):
                self._record(item, "deferred", code, detail)
                return
            attempt += 1

    def _record(self, item: Delivery, state: str, code: int | None, detail: str) -> None:
        self._marks.append((item.key, state, code, detail))
        self._outcomes.append(Outcome(item.to, state, code, detail))
        self._claimed.discard(item.key)
        self._handed = None
        self._done += 1

    def _claim(self, item: Delivery) -> None:
        """Commit the outcomes so far and claim ``item`` and as many taken after it as make a
        window, sized by how fast the last one went."""
        now = time.monotonic()
        if self._done:
            per = max(now - self._since, 1e-9) / self._done
            self._size = max(1, min(WINDOW, int(WINDOW_SECONDS / per)))
        self._since, self._done = now, 0
        later = [d.key for d in self._queued if d.key not in self._claimed]
        keys = [item.key, *later[: self._size - 1]]
        self._marks.extend((key, "sending", None, "") for key in keys)
        self._commit()
        self._claimed.update(keys)

    def _commit(self) -> None:
        """Write the marks in one transaction; then report the outcomes they record."""
        journal = self._options.journal
        if journal is not None and self._marks:
            journal.mark_many(self._options.issue, self._marks)
        self._marks = []
        if self._outcomes:
            self._results.put(self._outcomes)
            self._outcomes = []

    def settle(self) -> None:
        """Commit what is left, and give back the claims of messages that never left (one
        handed to the sender when it failed otherwise stays "sending": unknown to a next run)."""
        self._marks.extend(
            (key, "pending", None, "") for key in self._claimed if key != self._handed
        )
        self._claimed.clear()
        self._commit()
