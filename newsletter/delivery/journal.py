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

Every change is committed before the next step of the SMTP transaction, so that whatever
kills the process (Ctrl-C, ``kill -9``, a lost connection), a next run sends to exactly those
who were not yet sent the issue. The journal holds addresses, states and the server's replies;
never a password. It lives in the workspace at ``.newsletter/sends.sqlite`` (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from newsletter.errors import NewsletterError

__all__ = ["STATES", "IssueRow", "Journal", "JournalRow"]

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


class Journal:
    """The journal at ``path``, opened by one send at a time (a lock file says which)."""

    def __init__(self, path: Path, *, exclusive: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock_fd: int | None = None
        if exclusive:
            fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise NewsletterError(
                    f"{path}: another send is running in this workspace; wait for it to end"
                ) from None
            self._lock_fd = fd
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
        self._db.executescript(_SCHEMA)
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
        self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def identity(self, slug: str) -> IssueRow | None:
        """The issue the journal knows by ``slug``, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT slug, identity, source, created FROM issues WHERE slug = ?", (slug,)
            ).fetchone()
        return IssueRow(*row) if row else None

    def slug_of(self, identity: str) -> IssueRow | None:
        """The issue the journal knows with this content hash, under whatever slug."""
        with self._lock:
            row = self._db.execute(
                "SELECT slug, identity, source, created FROM issues WHERE identity = ? LIMIT 1",
                (identity,),
            ).fetchone()
        return IssueRow(*row) if row else None

    def claim(self, slug: str, identity: str, source: str, *, replace: bool = False) -> None:
        """Record that ``slug`` is the issue with ``identity`` (``replace``: it was edited)."""
        with self._lock:
            if replace:
                self._db.execute(
                    "UPDATE issues SET identity = ?, source = ? WHERE slug = ?",
                    (identity, source, slug),
                )
            else:
                self._db.execute(
                    "INSERT INTO issues (slug, identity, source, created) VALUES (?, ?, ?, ?)",
                    (slug, identity, source, _now()),
                )

    def add(self, issue: str, recipients: Iterable[str]) -> None:
        """Put ``recipients`` in the journal as pending, leaving those already there alone."""
        now = _now()
        with self._lock:
            self._db.execute("BEGIN")
            start = self._db.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM sends WHERE issue = ?", (issue,)
            ).fetchone()[0]
            self._db.executemany(
                "INSERT OR IGNORE INTO sends (issue, recipient, position, state, updated) "
                "VALUES (?, ?, ?, 'pending', ?)",
                ((issue, r, start + i, now) for i, r in enumerate(recipients)),
            )
            self._db.execute("COMMIT")

    def recover(self, issue: str) -> int:
        """Mark messages a dead run left "sending" as unknown; return how many."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE sends SET state = 'unknown', detail = ?, updated = ? "
                "WHERE issue = ? AND state = 'sending'",
                ("the send stopped during the SMTP transaction", _now(), issue),
            )
            return cursor.rowcount

    def states(self, issue: str) -> dict[str, str]:
        """Every recipient of ``issue`` in the journal and their state."""
        with self._lock:
            rows = self._db.execute(
                "SELECT recipient, state FROM sends WHERE issue = ?", (issue,)
            ).fetchall()
        return dict(rows)

    def mark(
        self, issue: str, recipient: str, state: str, code: int | None = None, detail: str = ""
    ) -> None:
        """Record ``recipient``'s new state, committed before this returns."""
        attempt = 1 if state == "sending" else 0
        with self._lock:
            self._db.execute(
                "UPDATE sends SET state = ?, code = ?, detail = ?, attempts = attempts + ?, "
                "updated = ? WHERE issue = ? AND recipient = ?",
                (state, code, detail, attempt, _now(), issue, recipient),
            )

    def mark_many(self, issue: str, marks: Iterable[tuple[str, str, int | None, str]]) -> None:
        """Record many recipients' new states (``(recipient, state, code, detail)``) in one
        transaction, committed before this returns: a batch sent through an ESP's API.
        Recipients given the same state, code and detail are updated by one statement."""
        groups: dict[tuple[str, int | None, str], list[str]] = {}
        for recipient, state, code, detail in marks:
            groups.setdefault((state, code, detail), []).append(recipient)
        now = _now()
        with self._lock:
            self._db.execute("BEGIN")
            singles = []
            for (state, code, detail), recipients in groups.items():
                attempt = 1 if state == "sending" else 0
                if len(recipients) == 1:  # a message id of its own, say
                    singles.append((state, code, detail, attempt, now, issue, recipients[0]))
                    continue
                for start in range(0, len(recipients), 500):  # an IN list uses the key's index
                    chunk = recipients[start : start + 500]
                    self._db.execute(
                        "UPDATE sends SET state = ?, code = ?, detail = ?, "
                        "attempts = attempts + ?, updated = ? WHERE issue = ? AND recipient IN "
                        f"({','.join('?' * len(chunk))})",
                        (state, code, detail, attempt, now, issue, *chunk),
                    )
            self._db.executemany(
                "UPDATE sends SET state = ?, code = ?, detail = ?, attempts = attempts + ?, "
                "updated = ? WHERE issue = ? AND recipient = ?",
                singles,
            )
            self._db.execute("COMMIT")

    def counts(self, issue: str) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) FROM sends WHERE issue = ? GROUP BY state", (issue,)
            ).fetchall()
        found = dict(rows)
        return {state: found.get(state, 0) for state in STATES}

    def rows(self, issue: str, states: Iterable[str] = STATES) -> list[JournalRow]:
        wanted = tuple(states)
        marks = ",".join("?" * len(wanted))
        with self._lock:
            rows = self._db.execute(
                "SELECT recipient, state, attempts, code, detail, updated FROM sends "
                f"WHERE issue = ? AND state IN ({marks}) ORDER BY position",
                (issue, *wanted),
            ).fetchall()
        return [JournalRow(*row) for row in rows]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
