"""What parsing a text gave, kept for the next process: issue files' YAML, newsletter.toml and
the themes' theme.toml, so that a command over unchanged files imports no parser and parses
nothing (PyYAML's import alone cost a cold start more than all the models).

The entries are rows of one SQLite file in the user's cache folder
(``$XDG_CACHE_HOME/newsletter/parsed.sqlite3`` or ``~/.cache/newsletter/parsed.sqlite3``, in a
folder of this user's alone), named and signed with HMAC-SHA256 under a key made there for
this user alone (``cache.key``, 0600): an entry that was corrupted, copied from elsewhere or
written by anything else fails its check and the text is parsed again, so no entry is ever
trusted for its looks. They are JSON, never pickle, so that even a forged one could only be
data, and what they hold is validated as a fresh parse is. Only plain data is kept (text,
numbers, true and false, lists, mappings with text keys: what JSON gives back exactly); the
oldest entries go beyond :data:`CACHE_ENTRIES`. A cache that cannot be read or written is no
cache, never an error; a file that is not a database is made again.

One file, not a file an entry: a new issue writes two entries, and in a load of a thousand new
issues their two files cost 0.5 ms of processor time where two rows cost 0.33 (the signing
and the JSON included); and once the cache was full, every 256th write listed and stat-ed its
files and removed 512 of them (46 ms here), where one DELETE does it now. A Python built
without ``sqlite3`` has no cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import os
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "CACHE_ENTRIES",
    "bound",
    "cache_base",
    "get",
    "kept",
    "loads_toml",
    "made_by",
    "own_folder",
    "put",
]

#: The most entries kept (the oldest written go first): a few KB each, about two an issue
#: (its YAML, and its story's Markdown read for depth, as HTML and as text), so that a
#: workspace of a thousand issues and its themes fit: at 256, a build of more than sixty
#: distinct issues pushed out what the next one needed, and every build parsed every issue
#: again (a quarter of a warm batch's time, measured on 300 issues).
CACHE_ENTRIES = 8192

#: How many entries a process writes between two prunings of the oldest: the cache may hold
#: this many more than :data:`CACHE_ENTRIES` until the next one.
_COUNT_EVERY = 256
_written = itertools.count()

#: The file of the entries, in the tool's own cache folder.
DATABASE = "parsed.sqlite3"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries"
    " (seq INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, entry BLOB NOT NULL)"
)


def get(kind: str, text: str) -> Any | None:
    """What :func:`put` kept for ``text`` parsed as ``kind``, or ``None``. ``kind`` names the
    parser and its version, so that another version parses again."""
    cache = _cache()
    if cache is None:
        return None
    store, key = cache
    name = _sign(key, kind.encode(), text.encode())[:40]
    raw = store.read(name)
    if raw is None:
        return None
    mac, _, payload = raw.partition(b"\n")
    if not hmac.compare_digest(mac, _sign(key, name.encode(), payload).encode()):
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


def put(kind: str, text: str, value: Any) -> None:
    """Keep ``value``, what parsing ``text`` as ``kind`` gave, if it is plain data."""
    cache = _cache()
    if cache is None:
        return
    payload = _plain_json(value)
    if payload is None:
        return
    store, key = cache
    name = _sign(key, kind.encode(), text.encode())[:40]
    signed = _sign(key, name.encode(), payload).encode() + b"\n" + payload
    store.write(name, signed, prune=next(_written) % _COUNT_EVERY == 0)


class _Store:
    """The entries' database, opened once per process (never used across a fork: SQLite's
    locks and file handles are the process's own) and by one thread at a time. A write
    replaces the entry of its name, as the newest; every failure is a miss or a write not
    made. A database another process kept locked for a second is not used again by this
    one: a cache is never worth waiting for twice."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._busy = False

    def read(self, name: str) -> bytes | None:
        with self._lock:
            if self._busy:
                return None
            try:
                row = (
                    self._open()
                    .execute("SELECT entry FROM entries WHERE name = ?", (name,))
                    .fetchone()
                )
            except (OSError, ImportError):
                return None
            except _errors() as error:
                self._after(error)
                return None
        return row[0] if row and isinstance(row[0], bytes) else None

    def write(self, name: str, signed: bytes, *, prune: bool) -> None:
        """Keep ``signed`` as the entry ``name``; with ``prune``, drop what is older than
        the newest :data:`CACHE_ENTRIES`."""
        with self._lock:
            if self._busy:
                return
            try:
                db = self._open()
                db.execute(
                    "INSERT OR REPLACE INTO entries (name, entry) VALUES (?, ?)", (name, signed)
                )
                if prune:
                    db.execute(
                        "DELETE FROM entries WHERE seq <= (SELECT max(seq) FROM entries) - ?",
                        (CACHE_ENTRIES,),
                    )
            except (OSError, ImportError):
                return
            except _errors() as error:
                self._after(error)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _open(self) -> sqlite3.Connection:
        """The connection, made on first use; a file that is not a database, or a broken
        one, is made again."""
        if self._db is None:
            import sqlite3

            try:
                self._db = _connect(self.path)
            except sqlite3.DatabaseError as error:
                if not _broken(error):
                    raise
                self._remove()
                self._db = _connect(self.path)
        return self._db

    def _after(self, error: Exception) -> None:
        """After SQLite's ``error``: a broken file (a disk error, anything else's file) is
        removed, so that the next use makes it again; a busy one, which another process is
        using, is left alone, and by this process for good."""
        if _broken(error):
            self._close()
            self._remove()
        elif _code(error) in (_BUSY, _LOCKED):
            self._busy = True

    def _close(self) -> None:
        """:meth:`close`, for a caller that holds the lock."""
        if self._db is not None:
            with contextlib.suppress(_errors()):
                self._db.close()
            self._db = None

    def _remove(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")


def _errors() -> type[Exception]:
    """SQLite's error class, or one nothing raises where there is no sqlite3 (then
    :meth:`_Store._open` raises :class:`ImportError`)."""
    module = sys.modules.get("sqlite3")
    return module.Error if module is not None else _Never


class _Never(Exception):
    """Raised by nothing."""


#: SQLite's result codes for a database file that is damaged, or not one at all, and for one
#: that another connection holds.
_CORRUPT, _NOT_A_DATABASE = 11, 26
_BUSY, _LOCKED = 5, 6


def _code(error: Exception) -> int:
    """SQLite's primary result code of ``error`` (without the extended part), or 0."""
    code = getattr(error, "sqlite_errorcode", 0)
    return code & 0xFF if isinstance(code, int) else 0


def _broken(error: Exception) -> bool:
    """Whether SQLite's ``error`` says the file is damaged or not a database."""
    return _code(error) in (_CORRUPT, _NOT_A_DATABASE)


def _connect(path: Path) -> sqlite3.Connection:
    """The database at ``path``, made (0600) if there is none. Each statement commits by
    itself; readers never wait for a writer (write-ahead log); and nothing is flushed to the
    disk, since an entry lost in a power cut is only parsed again. A writer waits for another
    up to a second, thousands of times what a write takes."""
    import sqlite3

    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    db = sqlite3.connect(path, timeout=1, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(_SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


@cache
def made_by(*files: str, libraries: tuple[str, ...] = ()) -> str:
    """What makes a kept value: the source ``files`` of the code that made it and the
    ``libraries`` it used (found without importing them: the point of a cache), by size and
    modification time, so that an edit or an upgrade of any of them makes every value again.
    Part of a ``kind``; worked out once per process."""
    import importlib.util

    specs = (importlib.util.find_spec(name) for name in libraries)
    found = [*files, *(spec.origin for spec in specs if spec and spec.origin)]
    return repr([(os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in found])


def kept(
    kind: str,
    text: str,
    make: Callable[[], Any],
    *,
    accept: Callable[[Any], bool] = lambda value: value is not None,
) -> Any:
    """What :func:`put` kept for ``text`` as ``kind``, if ``accept`` takes it (it holds what
    ``make`` gives), else what ``make`` gives, kept for the next time."""
    hit = get(kind, text)
    if hit is not None and accept(hit):
        return hit
    value = make()
    put(kind, text, value)
    return value


def loads_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``, from the cache when the same text was parsed before; raises
    ``tomllib.TOMLDecodeError`` (a :class:`ValueError`) for text that is not TOML."""

    def parse() -> dict[str, Any]:
        import tomllib  # only a text not parsed before pays for it

        return tomllib.loads(text)

    data: dict[str, Any] = kept(
        f"toml {sys.version}", text, parse, accept=lambda value: isinstance(value, dict)
    )
    return data


def cache_base() -> str:
    """The user's cache folder, ``$XDG_CACHE_HOME`` or ``~/.cache``, under which the tool
    keeps ``newsletter/``: the parse cache, and Jinja's compiled templates."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, empty or relative: the XDG spec's default instead
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return base


def own_folder(path: Path) -> bool:
    """Make ``path`` (and its parents) for this user alone, and say whether it is this user's
    and closed to everyone else, as a folder whose files are trusted must be."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.mkdir(exist_ok=True, mode=0o700)
    found = os.lstat(path)
    return stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid() and not found.st_mode & 0o077


def bound(
    folder: Path, written: int, *, keep: int, every: int, entry: Callable[[str], bool]
) -> None:
    """After the ``written``-th write (from 0) to the cache ``folder``, whose ``entry`` names
    are its entries: every ``every`` writes, count them, and beyond ``keep`` remove the oldest
    (by modification time). Listing the folder after every write cost more than the write;
    and room is left for the writes until the next count, as many as since the last one, not
    a quarter of the cache at once (removing a file costs milliseconds on a disk that
    discards freed blocks). Raises :class:`OSError` for a folder that cannot be listed."""
    if written % every:
        return
    names = [name for name in os.listdir(folder) if entry(name)]
    if len(names) <= keep:
        return
    aged = sorted(names, key=lambda n: os.stat(folder / n).st_mtime_ns)
    for name in aged[: len(names) - (keep - every)]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / name)


def _cache() -> tuple[_Store, bytes] | None:
    base = cache_base()
    if base not in _opened:
        _opened[base] = _open(base)
    return _opened[base]


#: The cache of each base folder this process has used, or ``None`` where it has none.
_opened: dict[str, tuple[_Store, bytes] | None] = {}


def _open(base: str) -> tuple[_Store, bytes] | None:
    """The entries under ``base`` and their key, read once per process. The folder is this
    user's alone, since SQLite reads the file before any entry's MAC is checked. The folder
    of one file an entry that earlier versions kept is removed (where there is none, that
    is one failed look-up)."""
    folder = Path(base) / "newsletter"
    try:
        if not own_folder(folder):
            return None
        key = _key(folder)
    except OSError:
        return None
    if len(key) != 32:
        return None
    shutil.rmtree(folder / "parsed", ignore_errors=True)
    return _Store(folder / DATABASE), key


def _forget_before_fork() -> None:
    """Close every connection before the process forks: the child opens its own (SQLite's
    locks cannot be shared with a copy of the process), and so does this one, if it reads
    again."""
    for opened in _opened.values():
        if opened is not None:
            opened[0].close()


os.register_at_fork(before=_forget_before_fork)


def _key(folder: Path) -> bytes:
    """The cache's key: 32 random bytes made once, readable by this user only. Two processes
    that make it at once agree on the one that was linked into place first."""
    path = folder / "cache.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    fd, temporary = tempfile.mkstemp(dir=folder)  # 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(32))
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_bytes()


def _sign(key: bytes, *parts: bytes) -> str:
    return hmac.new(key, b"\0".join(parts), hashlib.sha256).hexdigest()


def _plain_json(data: Any) -> bytes | None:
    """``data`` as JSON, if it is what JSON gives back exactly (no bytes, sets, dates, tuples
    or keys other than text), else ``None``. Told by reading the JSON back, in C: walking the
    data in Python to tell it took most of a write's time."""
    try:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return None
    return payload.encode() if json.loads(payload) == data else None
