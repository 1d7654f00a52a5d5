"""The send journal: who was sent which issue, kept in SQLite so that a send can be resumed.

One row per issue and recipient (the address in lower case), with its state:

========== ===============================================================================
pending    not yet sent
sending    the message is being handed over (marked before DATA): if a run finds this state,
           the run before it died in the middle, and the message's fate is unknown
unknown    the fate of the message is unknown (the connection broke after DATA, or the
           process died): reported, and sent again only when the editor asks
sent       the server took the message (250 after DATA)
deferred   the server said "try later" (4xx) more times than ``[send] retries``: a next run
           tries again
failed     the server refused the message (5xx): not sent again
========== ===============================================================================

A recipient is "sending", committed, before their message can leave, and the answer is
committed before that claim is given up, so that whatever kills the process (Ctrl-C, ``kill
-9``, a lost connection), a next run sends to exactly those who were not yet sent the issue
and knows whom it cannot be sure of. An SMTP send commits a window of recipients at a time
(the answers of one, the claims of the next), an ESP's API call a batch at a time. The journal holds addresses, states and the server's replies;
never a password. Since it holds every subscriber's address, it is created readable by its
owner only (0600, in a folder of mode 0700); where it lives is
:func:`newsletter.delivery.plan.journal_path`'s to say.

A journal that cannot be read or written (damaged, a full disk, a read-only folder) is a
:class:`NewsletterError` of one line that says what to do, never a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from newsletter.errors import NewsletterError

__all__ = ["STATES", "IssueRow", "Journal", "JournalRow", "sent_counts", "started_elsewhere"]

STATES = ("pending", "sending", "unknown", "sent", "deferred", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    issue TEXT NOT NULL,
    recipient TEXT NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'unknown', 'sent', 'deferred', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    code INTEGER,
    detail TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL,
    PRIMARY KEY (issue, recipient)
);
CREATE TABLE IF NOT EXISTS issues (
    slug TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    source TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS issues_identity ON issues (identity);
CREATE TABLE IF NOT EXISTS workspace (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    root TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class IssueRow:
    """An issue the journal has sent: its slug, content hash, file, and when it was first sent."""

    slug: str
    identity: str
    source: str
    created: str


@dataclass(frozen=True)
class JournalRow:
    recipient: str
    state: str
    attempts: int
    code: int | None
    detail: str
    updated: str


@contextlib.contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite's and the file system's errors about the journal as one line with what to do."""
    try:
        yield
    except sqlite3.Error as error:
        raise NewsletterError(_explain(path, str(error))) from None
    except OSError as error:
        raise NewsletterError(_explain(path, error.strerror or str(error))) from None


def _explain(path: Path, reason: str) -> str:
    lowered = reason.lower()
    if "full" in lowered or "no space" in lowered or "too large" in lowered:
        return (
            f"{path}: the disk is full ({reason}); free some space and run the same command "
            "again: it resumes where the journal stopped"
        )
    if "i/o error" in lowered:
        return (
            f"{path}: cannot write the send journal ({reason}): is the disk full? free some "
            "space and run the same command again: it resumes where the journal stopped"
        )
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return (
            f"{path}: the send journal is damaged ({reason}); it records who was sent what, so "
            "restore it from a backup rather than delete it (without it everyone is sent the "
            "issue again)"
        )
    if "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
        return f"{path}: cannot write the send journal ({reason}); make it writable"
    return f"{path}: the send journal cannot be used ({reason})"


def _private(path: Path) -> None:
    """Make the journal's folder (0700) and file (0600) before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))


class Journal:
    """The journal at ``path``, opened by one send at a time (a lock file says which).

    ``workspace``, when given, is recorded as the workspace the journal belongs to, for the
    message that tells another workspace where an issue was started.
    """

    def __init__(
        self, path: Path, *, exclusive: bool = True, workspace: Path | None = None
    ) -> None:
        self.path = path
        self._lock_fd: int | None = None
        self._closed = False
        with _translated(path):
            _private(path)
            if exclusive:
                fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    raise NewsletterError(
                        f"{path}: another send is running in this workspace; wait for it to end"
                    ) from None
                self._lock_fd = fd
            try:
                self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA busy_timeout = 5000")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
                self._db.executescript(_SCHEMA)
                if workspace is not None:
                    self._db.execute(
                        "INSERT OR IGNORE INTO workspace (id, root) VALUES (1, ?)",
                        (str(workspace),),
                    )
            except BaseException:
                self._release()
                raise
        self._lock = threading.Lock()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()
        self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextlib.contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The database, for one statement or transaction at a time, errors translated."""
        with self._lock, _translated(self.path):
            if self._closed:  # a worker cut short after the send ended: nothing to record
                raise NewsletterError(f"{self.path}: the send journal is closed")
            yield self._db

    def identity(self, slug: str) -> IssueRow | None:
        """The issue the journal knows by ``slug``, if any."""
        with self._use() as db:
            row = db.execute(
                "SELECT slug, identity, source, created FROM issues WHERE slug = ?", (slug,)
            ).fetchone()
        return IssueRow(*row) if row else None

    def slug_of(self, identity: str) -> IssueRow | None:
        """The issue the journal knows with this content hash, under whatever slug."""
        with self._use() as db:
            row = db.execute(
                "SELECT slug, identity, source, created FROM issues WHERE identity = ? LIMIT 1",
                (identity,),
            ).fetchone()
        return IssueRow(*row) if row else None

    def claim(self, slug: str, identity: str, source: str, *, replace: bool = False) -> None:
        """Record that ``slug`` is the issue with ``identity`` (``replace``: it was edited)."""
        with self._use() as db:
            if replace:
                db.execute(
                    "UPDATE issues SET identity = ?, source = ? WHERE slug = ?",
                    (identity, source, slug),
                )
            else:
                db.execute(
                    "INSERT INTO issues (slug, identity, source, created) VALUES (?, ?, ?, ?)",
                    (slug, identity, source, _now()),
                )

    def add(self, issue: str, recipients: Iterable[str]) -> None:
        """Put ``recipients`` in the journal as pending, leaving those already there alone."""
        now = _now()
        with self._use() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                start = db.execute(
                    "SELECT COALESCE(MAX(position), -1) + 1 FROM sends WHERE issue = ?", (issue,)
                ).fetchone()[0]
                db.executemany(
                    "INSERT OR IGNORE INTO sends (issue, recipient, position, state, updated) "
                    "VALUES (?, ?, ?, 'pending', ?)",
                    ((issue, r, start + i, now) for i, r in enumerate(recipients)),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def recover(self, issue: str) -> int:
        """Mark messages a dead run left "sending" as unknown; return how many. The reason
        names what was under way, as the "sending" mark's detail said (an ESP batch names its
        API call), else the SMTP transaction."""
        with self._use() as db:
            cursor = db.execute(
                "UPDATE sends SET state = 'unknown', detail = 'the send stopped during ' || "
                "CASE detail WHEN '' THEN 'the SMTP transaction' ELSE detail END, updated = ? "
                "WHERE issue = ? AND state = 'sending'",
                (_now(), issue),
            )
            return cursor.rowcount

    def states(self, issue: str) -> dict[str, str]:
        """Every recipient of ``issue`` in the journal and their state."""
        with self._use() as db:
            rows = db.execute(
                "SELECT recipient, state FROM sends WHERE issue = ?", (issue,)
            ).fetchall()
        return dict(rows)

    def states_of(self, issue: str, recipients: Sequence[str]) -> dict[str, str]:
        """The states of those of ``recipients`` (a batch of a list) the journal knows: a send
        reads its list a batch at a time, never the whole journal at once."""
        found: dict[str, str] = {}
        with self._use() as db:
            for start in range(0, len(recipients), 500):  # IN uses the key's index
                chunk = recipients[start : start + 500]
                found.update(
                    db.execute(
                        "SELECT recipient, state FROM sends WHERE issue = ? AND "
                        f"recipient IN ({','.join('?' * len(chunk))})",
                        (issue, *chunk),
                    ).fetchall()
                )
        return found

    def mark_many(self, issue: str, marks: Iterable[tuple[str, str, int | None, str]]) -> None:
        """Record many recipients' new states (``(recipient, state, code, detail)``) in one
        transaction, committed before this returns: a batch sent through an ESP's API, a window
        of an SMTP send.
        Recipients given the same state, code and detail are updated by one statement."""
        groups: dict[tuple[str, int | None, str], list[str]] = {}
        for recipient, state, code, detail in marks:
            groups.setdefault((state, code, detail), []).append(recipient)
        now = _now()
        with self._use() as db:
            db.execute("BEGIN")
            try:
                singles = []
                for (state, code, detail), recipients in groups.items():
                    attempt = 1 if state == "sending" else 0
                    if len(recipients) == 1:  # a message id of its own, say
                        singles.append((state, code, detail, attempt, now, issue, recipients[0]))
                        continue
                    for start in range(0, len(recipients), 500):  # IN uses the key's index
                        chunk = recipients[start : start + 500]
                        db.execute(
                            "UPDATE sends SET state = ?, code = ?, detail = ?, "
                            "attempts = attempts + ?, updated = ? WHERE issue = ? AND "
                            f"recipient IN ({','.join('?' * len(chunk))})",
                            (state, code, detail, attempt, now, issue, *chunk),
                        )
                db.executemany(
                    "UPDATE sends SET state = ?, code = ?, detail = ?, attempts = attempts + ?, "
                    "updated = ? WHERE issue = ? AND recipient = ?",
                    singles,
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def counts(self, issue: str) -> dict[str, int]:
        with self._use() as db:
            rows = db.execute(
                "SELECT state, COUNT(*) FROM sends WHERE issue = ? GROUP BY state", (issue,)
            ).fetchall()
        found = dict(rows)
        return {state: found.get(state, 0) for state in STATES}

    def rows(self, issue: str, states: Iterable[str] = STATES) -> list[JournalRow]:
        wanted = tuple(states)
        marks = ",".join("?" * len(wanted))
        with self._use() as db:
            rows = db.execute(
                "SELECT recipient, state, attempts, code, detail, updated FROM sends "
                f"WHERE issue = ? AND state IN ({marks}) ORDER BY position",
                (issue, *wanted),
            ).fetchall()
        return [JournalRow(*row) for row in rows]


def started_elsewhere(path: Path, identity: str) -> tuple[str, int] | None:
    """Whether the journal at ``path`` (another workspace's) has started a send of the issue
    with ``identity``: the workspace it belongs to and how many were sent, or None.

    Read-only, and silent about a journal it cannot read: the question is only ever asked to
    refuse a send, never to allow one.
    """
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM sends JOIN issues ON sends.issue = issues.slug "
                "WHERE issues.identity = ? AND sends.state != 'pending'",
                (identity,),
            ).fetchone()
            if not row or not row[0]:
                return None
            try:
                owner = db.execute("SELECT root FROM workspace WHERE id = 1").fetchone()
            except sqlite3.Error:  # a journal from before the workspace table
                owner = None
            return (owner[0] if owner else str(path.parent.parent)), int(row[0])
    except sqlite3.Error:
        return None


def sent_counts(path: Path) -> dict[str, int]:
    """How many recipients each issue (by slug) was sent to, from the journal at ``path``.

    Read-only and without the send lock, so that the preview can show "sent to N" while a
    send runs; a missing or unreadable journal has sent nothing.
    """
    if not path.is_file():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT issue, COUNT(*) FROM sends WHERE state = 'sent' GROUP BY issue"
            ).fetchall()
    except sqlite3.Error:
        return {}
    return {str(issue): int(count) for issue, count in rows}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
