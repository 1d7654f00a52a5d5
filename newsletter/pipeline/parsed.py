"""What parsing a text gave, kept for the next process: issue files' YAML, newsletter.toml and
the themes' theme.toml, so that a command over unchanged files imports no parser and parses
nothing (PyYAML's import alone cost a cold start more than all the models).

The entries live in the user's cache folder (``$XDG_CACHE_HOME/newsletter/parsed`` or
``~/.cache/newsletter/parsed``), named and signed with HMAC-SHA256 under a key made there for
this user alone (``cache.key``, 0600): an entry that was corrupted, copied from elsewhere or
written by anything else fails its check and the text is parsed again, so no entry is ever
trusted for its looks. They are JSON, never pickle, so that even a forged one could only be
data, and what they hold is validated as a fresh parse is. Only plain data is kept (text,
numbers, true and false, lists, mappings with text keys: what JSON gives back exactly); the
oldest entries go beyond :data:`CACHE_ENTRIES`. A cache that cannot be read or written is no
cache, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from newsletter.files import write_all, write_whole

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

#: How many entries a process writes between two counts of the folder: listing thousands of
#: names after every write cost more than the write, so the folder may hold this many more
#: than :data:`CACHE_ENTRIES` until the next count prunes it.
_COUNT_EVERY = 256
_written = itertools.count()


def get(kind: str, text: str) -> Any | None:
    """What :func:`put` kept for ``text`` parsed as ``kind``, or ``None``. ``kind`` names the
    parser and its version, so that another version parses again."""
    cache = _cache()
    if cache is None:
        return None
    folder, key = cache
    name = _sign(key, kind.encode(), text.encode())[:40]
    try:
        raw = (folder / name).read_bytes()
    except OSError:
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
    folder, key = cache
    name = _sign(key, kind.encode(), text.encode())[:40]
    signed = _sign(key, name.encode(), payload).encode() + b"\n" + payload
    try:
        _store(folder / name, signed)
    except OSError:
        return
    with contextlib.suppress(OSError):
        bound(
            folder,
            next(_written),
            keep=CACHE_ENTRIES,
            every=_COUNT_EVERY,
            entry=lambda name: not name.startswith("."),
        )


def _store(path: Path, signed: bytes) -> None:
    """Write the entry at ``path``: new, or over an entry that failed its check or held
    fewer readings. Raises :class:`OSError` when it cannot."""
    try:
        _write_new(path, signed)
    except FileExistsError:  # renamed over it: a reader sees the old entry or the new one
        write_whole(path, signed, mode=0o600)


_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _write_new(path: Path, signed: bytes) -> None:
    """Write a new entry under its own name, where there is none yet (the usual case). A
    temporary file renamed into place cost three times as much, and a reader needs no
    atomic rename here: an entry read half-written, or cut off by a killed write, fails its
    check like any corrupt one (and, being there, is replaced whole once parsed again)."""
    handle = os.open(path, _NEW, 0o600)  # an existing name, a link too, is never opened
    try:
        write_all(handle, signed)
    except OSError:
        os.unlink(path)  # this process's own file, never read whole
        raise
    finally:
        os.close(handle)


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


def _cache() -> tuple[Path, bytes] | None:
    return _open(cache_base())


@lru_cache(maxsize=4)
def _open(base: str) -> tuple[Path, bytes] | None:
    """The cache folder under ``base`` and its key, read once per process."""
    folder = Path(base) / "newsletter" / "parsed"
    try:
        key = _key(folder)
    except OSError:
        return None
    return (folder, key) if len(key) == 32 else None


def _key(folder: Path) -> bytes:
    """The cache's key: 32 random bytes made once, readable by this user only. Two processes
    that make it at once agree on the one that was linked into place first. (The entries
    need no folder closed to others: the key's MAC vouches for each.)"""
    own_folder(folder)
    path = folder.parent / "cache.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    fd, temporary = tempfile.mkstemp(dir=folder.parent)  # 0600
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
