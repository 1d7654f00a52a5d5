"""A send: messages to recipients over parallel reused connections, journaled, rate-limited.

:func:`deliver` runs ``[send] connections`` workers, each with its own :class:`~.smtp.Sender`
(one SMTP connection reused for every message it sends), all sharing one
:class:`~.ratelimit.RateLimiter` and one count of the recipients taken. On Linux the workers
live in processes forked for the send, one per core, so that the connections do their own
work on every core instead of waiting for each other's turn at one interpreter; elsewhere in
threads. The workers of a process share a connection to the :class:`~.journal.Journal`. For each recipient a worker makes the message
(:meth:`~newsletter.mail.message.MessageTemplate.data`: microseconds, made while the server
reads the message before), then sends it: the journal has the recipient "sending" before its
message can leave and records the server's answer after it, a window of recipients to a
commit (:class:`_Lane`). A 4xx answer at any stage (MAIL, RCPT, DATA or the final dot) or a
connection lost before the final dot was handed over is retried after a delay that doubles
each time; a 5xx answer is a failure, recorded and not retried; only a connection lost while
waiting for the answer to the final dot leaves the message's fate unknown, recorded as such.

Results come back to the calling thread a committed window at a time, which reports progress.
Ctrl-C or SIGTERM there stops the workers: each may finish the message in hand for
:data:`GRACE` seconds, then its connection is cut (:class:`~.smtp.Abortable`), so the send
stops within about a second whatever the server does; what the workers learnt is recorded,
and the journal knows where to resume. A worker process dies with the process that started it
(a ``kill -9`` of the send stops every connection at once, as it stopped every thread).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import FrameType
from typing import Any

from newsletter.delivery.journal import Journal
from newsletter.delivery.ratelimit import RateLimiter
from newsletter.delivery.smtp import Abortable, ConnectionLost, Sender
from newsletter.errors import NewsletterError
from newsletter.mail.message import Data, MessageTemplate, Signer
from newsletter.processes import die_with_parent

__all__ = ["GRACE", "WINDOW", "WINDOW_SECONDS", "Delivery", "Outcome", "Report", "deliver"]

#: Seconds the workers have, after Ctrl-C, to finish the message in hand before it is cut.
GRACE = 0.7

#: The most recipients one connection claims in the journal at once (see :class:`_Lane`) ...
WINDOW = 32
#: ... and about how many seconds of its sending one claim covers.
WINDOW_SECONDS = 0.05

#: Workers are processes where a child can be made to die with its parent.
_PROCESSES = sys.platform == "linux"


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


#: What a worker sends back: a committed window's outcomes, the error that stopped it, or None
#: when it is done.
_Result = list[Outcome] | BaseException | None


@dataclass(frozen=True)
class _Options:
    """What every worker shares: made before the workers start, so that a forked one has it."""

    deliveries: Sequence[Delivery]
    template: MessageTemplate
    issue: str
    journal: Path | None
    limiter: RateLimiter
    retries: int
    retry_delay: float
    sign: Signer | None
    taken: Any  # a shared count of the deliveries taken (multiprocessing.Value)
    stop: Any  # multiprocessing.Event: take no more
    abort: Any  # multiprocessing.Event: cut the message in hand

    def take(self, count: int) -> Sequence[Delivery]:
        """The next ``count`` deliveries no worker has taken (fewer at the end)."""
        with self.taken.get_lock():
            start = self.taken.value
            self.taken.value = min(start + count, len(self.deliveries))
        return self.deliveries[start : start + count]


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
    sent stay pending in the journal. ``journal`` is the send's (held open, and locked, by the
    caller); each worker process writes to it through a connection of its own.
    """
    started = time.monotonic()
    context = multiprocessing.get_context("fork" if _PROCESSES else None)
    options = _Options(
        deliveries,
        template,
        issue,
        journal.path if journal is not None else None,
        RateLimiter(rate),
        retries,
        retry_delay,
        sign,
        context.Value("q", 0),
        context.Event(),
        context.Event(),
    )
    report = Report()
    count = max(1, min(connections, len(deliveries)))
    pipes = [context.Pipe(duplex=False) for _ in range(count)]
    channels = {reader: writer for reader, writer in pipes}
    workers: list[multiprocessing.process.BaseProcess | threading.Thread] = []
    cut_at: float | None = None  # after Ctrl-C: when to cut the messages in hand, then give up
    with _sigterm_interrupts(), _heap_frozen():
        try:  # from the first worker's start: a Ctrl-C at any moment after it is handled here
            with _signals_held():  # a worker starts with them ignored, never half set up
                workers += _start(context, options, connect, [writer for _, writer in pipes])
            while channels:
                try:
                    for ready in wait(list(channels), timeout=0.1):
                        assert isinstance(ready, Connection)
                        with _signals_held():  # never a result read or reported in part
                            if not _receive(ready, report, options, on_outcome):
                                del channels[ready]
                    if cut_at is not None and time.monotonic() > cut_at:
                        if options.abort.is_set():
                            break  # cut and given their moment: what is left stays "sending"
                        options.abort.set()
                        cut_at = time.monotonic() + 2.0
                except KeyboardInterrupt:
                    if report.interrupted:  # a second Ctrl-C cuts at once
                        cut_at = time.monotonic()
                        continue
                    report.interrupted = True
                    options.stop.set()
                    cut_at = time.monotonic() + GRACE
        finally:
            for worker in workers:
                if channels and isinstance(worker, multiprocessing.process.BaseProcess):
                    worker.kill()  # given up on: what it had in hand stays "sending"
                worker.join(1.0)
    report.seconds = time.monotonic() - started
    return report


def _receive(
    reader: Connection,
    report: Report,
    options: _Options,
    on_outcome: Callable[[Outcome], None],
) -> bool:
    """Take one result from a worker; False when it is done (or gone)."""
    try:
        result: _Result = reader.recv()
    except (EOFError, OSError):
        if not report.interrupted and report.error is None:
            report.error = NewsletterError("a sending worker stopped unexpectedly")
            options.stop.set()
        return False
    if result is None:
        return False
    if isinstance(result, BaseException):
        report.error = report.error or result
        options.stop.set()
        return True
    for outcome in result:
        report.outcomes.append(outcome)
        on_outcome(outcome)
    return True


def _start(
    context: Any, options: _Options, connect: Callable[[], Sender], channels: list[Connection]
) -> list[multiprocessing.process.BaseProcess | threading.Thread]:
    """Start a worker per channel, in hosts: as many processes as there are cores, each with
    its share of the connections (more processes than cores would take turns at the cores
    with a server on the same machine), or one thread where processes cannot be used."""
    if not _PROCESSES:
        thread = threading.Thread(target=_host, args=(options, connect, channels), daemon=True)
        thread.start()
        return [thread]
    count = min(len(channels), os.cpu_count() or 1)
    processes = []
    for number in range(count):
        share = channels[number::count]
        process = context.Process(
            target=_host, args=(options, connect, share, os.getpid()), daemon=True
        )
        process.start()
        for channel in share:  # the workers' ends: the parent reads EOF once they are gone
            channel.close()
        processes.append(process)
    return processes


def _host(
    options: _Options,
    connect: Callable[[], Sender],
    channels: list[Connection],
    parent: int | None = None,
) -> None:
    """A worker process (``parent`` is the sending one) or thread: one connection's send per
    channel, each in a thread, sharing one journal connection. Shared, its lock takes turns;
    one each, they would wait for each other's commits in SQLite's busy handler, which
    sleeps a millisecond or more at a time."""
    if parent is not None:
        _die_with(parent)
    try:
        journal = Journal(options.journal, exclusive=False) if options.journal else None
    except Exception as error:  # a journal that cannot be opened: nothing is sent
        for channel in channels:
            _send(channel, error)
            _send(channel, None)
        return
    try:
        threads = [
            threading.Thread(target=_worker, args=(options, journal, connect, c), daemon=True)
            for c in channels[1:]
        ]
        for thread in threads:
            thread.start()
        _worker(options, journal, connect, channels[0])
        for thread in threads:
            thread.join()
    finally:
        if journal is not None:
            journal.close()


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """The heap as it is when the workers are forked (the list, the template, every module)
    left out of garbage collection for the send (:func:`gc.freeze`), in the workers and here:
    it was most of what a worker's collections traversed, and each object they visited cost
    a page copied from this process (copy on write). Thawed when the send ends; a heap frozen
    before is left as it is."""
    if not _PROCESSES or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM for a moment: while the workers start (a forked worker
    inherits the mask and ignores both before it lets them in), and while a result is read
    and reported (an interrupt halfway through would leave the rest of it in the pipe, or
    out of the report); the held one comes the moment this ends."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the send as Ctrl-C does (cleanly, resumable), not the process at once;
    in the main thread only, where Python runs signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _worker(
    options: _Options, journal: Journal | None, connect: Callable[[], Sender], channel: Connection
) -> None:
    """One connection's send; its results go back through ``channel``."""
    lane = _Lane(options, journal, channel)
    sender: Sender | None = None
    try:
        sender = connect()
        if isinstance(sender, Abortable):
            threading.Thread(target=_abort_on, args=(options, sender), daemon=True).start()
        lane.run(sender)
    except Exception as error:  # a NewsletterError from the sender stops the send
        _send(channel, error)
    finally:
        try:
            lane.settle()
        except Exception as error:  # the journal could not record the end
            _send(channel, error)
        if sender is not None:
            sender.close()
        _send(channel, None)
        channel.close()


def _send(channel: Connection, result: _Result) -> None:
    """Send ``result`` to the parent; an error that does not pickle as its message."""
    try:
        channel.send(result)
    except (TypeError, AttributeError, ValueError) as unpicklable:  # pickle's own errors
        channel.send(NewsletterError(f"the send stopped: {result} ({unpicklable})"))


def _abort_on(options: _Options, sender: Abortable) -> None:
    options.abort.wait()
    sender.abort()


def _die_with(parent: int) -> None:
    """Ignore Ctrl-C and SIGTERM (the parent stops the workers) and die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    die_with_parent(parent)


class _Lane:
    """One connection's share of a send: the recipients it took from the list, which of them
    the journal has as "sending", and the outcomes it has not committed yet.

    A recipient is claimed ("sending", committed) before its message can leave, and its outcome
    is committed before the claim is given up; but a commit costs more than making a message,
    so one commit records the outcomes of a window and claims the next one: as many
    recipients as this connection sends in :data:`WINDOW_SECONDS` (so a slow server still gets
    one at a time), at most :data:`WINDOW`. A kill leaves at most that window unknown; a
    send that stops cleanly gives the claims of the messages that never left back.
    """

    def __init__(self, options: _Options, journal: Journal | None, channel: Connection) -> None:
        self._options, self._journal, self._channel = options, journal, channel
        self._queued: deque[Delivery] = deque()  # taken from the list, not sent yet
        self._claimed: set[str] = set()  # committed as "sending", no outcome yet
        self._handed: str | None = None  # claimed and handed to the sender: may have left
        self._marks: list[tuple[str, str, int | None, str]] = []  # not committed yet
        self._outcomes: list[Outcome] = []  # recorded in the marks, not reported yet
        self._size = 1  # how many recipients to take next
        self._since = time.monotonic()  # the last claim
        self._done = 0  # outcomes since the last claim

    def run(self, sender: Sender) -> None:
        item = self._take()
        message = self._make(item) if item is not None else b""
        while item is not None and not self._options.stop.is_set():
            following = self._peek()
            ahead: list[Data | bytes] = []  # the following message, made while this one goes
            meanwhile = functools.partial(self._prepare, following, ahead)
            self._send(item, message, sender, following, meanwhile)
            item = self._take()
            if item is not None:
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
        if not self._options.stop.is_set():
            self._queued.extend(self._options.take(self._size))

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
        if self._journal is not None and self._marks:
            self._journal.mark_many(self._options.issue, self._marks)
        self._marks = []
        if self._outcomes:
            self._channel.send(self._outcomes)
            self._outcomes = []

    def settle(self) -> None:
        """Commit what is left, and give back the claims of messages that never left (one
        handed to the sender when it failed otherwise stays "sending": unknown to a next run)."""
        self._marks.extend(
            (key, "pending", None, "") for key in self._claimed if key != self._handed
        )
        self._claimed.clear()
        self._commit()
