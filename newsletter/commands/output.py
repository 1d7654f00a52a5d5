"""Writing a command's files: a whole folder replaced at once, or not at all.

Files are composed in memory first (targets write nothing); :func:`replace_folder` writes them
into a new hidden folder beside the old one and then swaps the two in one step (on Linux;
elsewhere with two renames), so that a build killed at any moment leaves either the previous
``out/<slug>/`` or the new one, never a mix of the two.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from newsletter.errors import NewsletterError
from newsletter.files import UMASK, write_all, write_whole

__all__ = [
    "flush_disk",
    "replace_file",
    "replace_folder",
    "replace_folder_keeping_spare",
    "stage_folder",
    "swap_in",
]


def replace_folder(folder: Path, files: Mapping[str, bytes], *, keep: Iterable[str] = ()) -> None:
    """Make ``folder`` hold exactly ``files`` (names may have folders: ``assets/a.jpg``); the
    entries named in ``keep`` (the ``export/`` folder beside a build's files) are carried over
    from the old folder."""
    swap_in(folder, stage_folder(folder, files), keep=keep)


def stage_folder(
    folder: Path, files: Mapping[str, bytes], *, flush: bool = True, reuse: bool = False
) -> Path:
    """Write ``files`` into a new hidden folder beside ``folder``, ready for :func:`swap_in`;
    a build worker does this part, so that many write at once.

    Each file is flushed to the disk (fsync) unless ``flush`` is false: a build of many issues
    flushes them all at once with :func:`flush_disk` instead (five fsyncs an issue were a
    fifth of its time), before anything records them as built. With ``reuse``, the new folder
    is the one a swap put aside (``swap_in(..., spare=True)``), its files written over where
    they lie: on a disk that discards freed blocks at once (``-o discard``, common on cloud
    machines) removing an old folder's files cost 4 ms each, more than building the issue.
    The files are opened relative to the folder, held open while they are written (so that
    nothing can swap a link in for it meanwhile), one name for the system to look up each.
    """
    try:
        claimed = _claim_spare(folder) if reuse else None
        if claimed is None:
            staging = _made_staging(folder)
            claimed = staging, _open_folder(staging)
    except OSError as error:
        raise NewsletterError(f"cannot write {folder}: {error.strerror or error}") from None
    staging, into = claimed
    try:
        for name, data in files.items():
            _write_over(_target(staging, name, folder), data, flush=flush, into=into)
        if reuse:
            _prune(staging, files)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise NewsletterError(f"cannot write {folder}: {error.strerror or error}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        os.close(into)
    return staging


def _open_folder(path: Path) -> int:
    """A handle on the folder ``path`` itself: an error for a link or anything not a folder."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC)


def _target(into: Path, name: str, folder: Path) -> str:
    """Where the file ``name`` (``assets/a.jpg``) of ``folder`` goes in the folder ``into``
    being made, relative to it, its own folder made; a name that would lead out of it is
    refused."""
    if ".." in Path(name).parts or Path(name).is_absolute():
        raise NewsletterError(f"refusing to write {name!r} outside {folder}")
    if "/" in name:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
    return name


def _spare(folder: Path) -> Path:
    """``.<name>.spare``: the folder a swap put aside for the next write to reuse."""
    return folder.parent / f".{folder.name}.spare"


def _staging_name(folder: Path) -> Path:
    """A new name for a staging folder of ``folder``, of this process's own."""
    return folder.parent / f"{_prefix(folder, 'new')}{secrets.token_hex(4)}"


def _made_staging(folder: Path) -> Path:
    """A new, empty staging folder of ``folder``, an ordinary folder from the start (the mode
    the umask gives, where ``mkdtemp`` makes 0700 and a ``chmod`` more changed it again)."""
    for _ in range(8):
        staging = _staging_name(folder)
        try:
            os.mkdir(staging, 0o777)
        except FileExistsError:  # four random bytes that one of this process's has
            continue
        except FileNotFoundError:  # the first write into a new out/: made once, not tried
            folder.parent.mkdir(parents=True, exist_ok=True)  # by every issue of a batch
            continue
        return staging
    raise FileExistsError(errno.EEXIST, "no free name for a staging folder", str(folder))


def _claim_spare(folder: Path) -> tuple[Path, int] | None:
    """The spare of ``folder`` renamed to a staging folder of this process's own (one rename:
    of two writers, one gets it), and a handle on it; ``None`` when there is none, or it is
    not a folder."""
    staging = _staging_name(folder)
    try:
        os.rename(_spare(folder), staging)  # a link is renamed, never followed
    except OSError:
        return None
    try:
        return staging, _open_folder(staging)
    except OSError:  # a link (ELOOP) or a file (ENOTDIR) where the spare was
        _remove(staging)
        return None


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | _CLOEXEC


def _write_over(target: str, data: bytes, *, flush: bool, into: int) -> None:
    """Write ``data`` into the file ``target`` of the folder ``into`` (a handle), over the
    bytes already there (not freed and allocated again). Plain system calls, no buffered
    file object: an open, a stat, one write, and a truncate only where the old file was
    longer."""
    handle, size = _open_own(target, into)
    try:
        write_all(handle, data)
        if size > len(data):
            os.ftruncate(handle, len(data))
        if flush:
            os.fsync(handle)
    finally:
        os.close(handle)


def _open_own(name: str, into: int) -> tuple[int, int]:
    """A handle for writing on the file ``name`` of the folder ``into``, made if need be, and
    the file's size; a link, or a file with other names, is replaced by a file of its own,
    so that nothing outside the folder is ever written through it."""
    try:
        handle = os.open(name, _WRITE, 0o666, dir_fd=into)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
    else:
        found = os.fstat(handle)
        if stat.S_ISREG(found.st_mode) and found.st_nlink == 1:
            return handle, found.st_size
        os.close(handle)
    os.unlink(name, dir_fd=into)
    return os.open(name, _WRITE | os.O_EXCL, 0o666, dir_fd=into), 0


@cache
def _libc(name: str) -> Any:
    """The C library's function ``name``, looked up once per process (a build swaps a
    thousand folders), or ``None`` where there is none."""
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None


def flush_disk(folder: Path) -> None:
    """Flush everything written to the file system ``folder`` is on to the disk: one
    ``syncfs`` (Linux) for the many files a build wrote unflushed; elsewhere ``sync``."""
    syncfs = _libc("syncfs")
    if syncfs is None:
        os.sync()
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(handle) != 0:
            os.sync()
    finally:
        os.close(handle)


def swap_in(folder: Path, staging: Path, *, keep: Iterable[str] = (), spare: bool = False) -> None:
    """Put the folder :func:`stage_folder` wrote in the place of ``folder`` in one step,
    carrying ``keep`` over from the old one, and remove the old one, or with ``spare`` put it
    aside for the next :func:`stage_folder` to reuse. The staging folders a killed write left
    are cleared first (``staging`` is named for a live process: the worker that wrote it, or
    this one)."""
    moved: list[str] = []
    parked: Path | None = None
    swapped = False
    try:
        _clear_abandoned(folder, keep, current=staging)
        for name in keep:
            if (folder / name).exists():
                os.replace(folder / name, staging / name)
                moved.append(name)
        if not folder.exists():
            os.replace(staging, folder)
        elif not _exchange(staging, folder):  # staging now holds the old folder
            parked = Path(tempfile.mkdtemp(dir=folder.parent, prefix=_prefix(folder, "old")))
            os.replace(folder, parked / folder.name)
            os.replace(staging, folder)
        swapped = True
    except OSError as error:
        _restore(folder, staging, parked, moved)
        raise NewsletterError(f"cannot write {folder}: {error.strerror or error}") from None
    finally:
        old = staging if parked is None else parked / folder.name
        if not (swapped and spare and _set_aside(old, folder)):
            shutil.rmtree(staging, ignore_errors=True)
        if parked is not None:
            shutil.rmtree(parked, ignore_errors=True)


def _set_aside(old: Path, folder: Path) -> bool:
    """Keep the folder ``old`` as the spare of ``folder``; False when there already is one."""
    try:
        os.rename(old, _spare(folder))
    except OSError:
        return False
    return True


def _prefix(folder: Path, kind: str) -> str:
    """``.<name>.new-<pid>-``: hidden, and naming the process that owns it."""
    return f".{folder.name}.{kind}-{os.getpid()}-"


def _clear_abandoned(folder: Path, keep: Iterable[str], current: Path | None = None) -> None:
    """Remove the staging folders of a write whose process is gone (killed mid-way), after
    putting back a kept entry (``export/``) it had moved out of ``folder``. A live process's
    staging folder is left alone: another build may be writing this very issue; so is
    ``current``, the one about to be swapped in, whose worker may have ended already."""
    left = _left_behind(folder.parent).get(folder.name, ())
    for kind in ("old", "new"):  # the old folder back first, then what was moved out of it
        for name, of_kind, pid in left:
            stale = folder.parent / name
            if of_kind != kind or not stale.exists():
                continue
            if stale == current or not pid.isdigit() or _alive(int(pid)):
                continue
            if kind == "old" and (stale / folder.name).is_dir() and not folder.exists():
                os.replace(stale / folder.name, folder)  # killed between the two renames
            for kept in keep if kind == "new" and folder.is_dir() else ():
                if (stale / kept).exists() and not (folder / kept).exists():
                    os.replace(stale / kept, folder / kept)
            shutil.rmtree(stale, ignore_errors=True)


@cache
def _left_behind(parent: Path) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """The hidden staging folders in ``parent`` when this process first wrote there: the only
    ones a killed write can have left (those made since are this run's, or a live one's), so
    a build of a thousand issues lists ``out/`` once, not twice per issue. Each is filed under
    the folder it was for, as ``(name, kind, pid)``: ``.<folder>.<kind>-<pid>-...``, the kind
    being the last ``.new-`` or ``.old-`` in the name (what follows it has no dot), so that
    a swap looks at its own folder's only."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    try:
        with os.scandir(parent) as entries:
            names = [e.name for e in entries if e.name.startswith(".")]
    except OSError:
        return {}
    for name in names:
        at = max(name.rfind(".new-"), name.rfind(".old-"))
        if at > 1:
            pid = name[at + 5 :].split("-", 1)[0]
            found.setdefault(name[1:at], []).append((name, name[at + 1 : at + 4], pid))
    return {folder: tuple(entries) for folder, entries in found.items()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def replace_folder_keeping_spare(
    folder: Path, files: Mapping[str, bytes], *, unchanged: Collection[str] = ()
) -> None:
    """Make ``folder`` hold exactly ``files``, as :func:`replace_folder` does, but keep the
    folder it replaces beside it as a spare (``.<name>.spare``), which the next call updates
    into the new folder instead of making one from nothing.

    For a folder of many files of which few change (the web archive): only the files that
    differ from the spare are written (or linked from the current folder), and no folder is
    made or removed but those of files added or gone, which on a busy disk costs more than
    the writing. Readers never see the spare: it is swapped in whole, in one step (on Linux),
    so a kill at any moment leaves ``folder`` as it was, and a spare left half-updated is
    put right file by file the next time. Files are not flushed to the disk one by one: this
    is for output that is checked before it is used again (the site's files, by their hash).
    ``unchanged`` names the files whose bytes the caller read from ``folder`` itself, which
    are linked without being compared again.
    """
    spare = _spare(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with _locked(folder.parent):  # one spare: two writes at once take turns
            _clear_abandoned(folder, ())
            _update_and_swap(spare, folder, files, set(unchanged))
    except OSError as error:
        raise NewsletterError(f"cannot write {folder}: {error.strerror or error}") from None


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (advisory; where there is no ``flock``, none)."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _update_and_swap(
    spare: Path, folder: Path, files: Mapping[str, bytes], unchanged: set[str]
) -> None:
    """Update the spare into the new folder, then swap it in; the old one is the spare."""
    for attempt in (1, 2):
        try:
            _update(spare, folder, files, unchanged)
            break
        except OSError:
            if attempt == 2:
                raise
            _remove(spare)  # something unexpected in the spare: start it afresh
    if not folder.exists():
        os.replace(spare, folder)
    elif not _exchange(spare, folder):  # the spare now holds the old folder
        parked = Path(tempfile.mkdtemp(dir=folder.parent, prefix=_prefix(folder, "old")))
        os.replace(folder, parked / folder.name)
        os.replace(spare, folder)
        os.replace(parked / folder.name, spare)
        parked.rmdir()


def _update(spare: Path, folder: Path, files: Mapping[str, bytes], unchanged: set[str]) -> None:
    """Make ``spare`` hold exactly ``files``, writing only what differs."""
    if spare.is_symlink() or (spare.exists() and not spare.is_dir()):
        spare.unlink()
    spare.mkdir(mode=0o777 & ~UMASK, exist_ok=True)
    for name, data in files.items():
        target = spare / _target(spare, name, folder)
        if name in unchanged and _linked(target, folder / name):
            continue
        if name not in unchanged and _same(target, data):
            continue
        # Never written in place: the spare's file may be a link to one that readers see.
        target.unlink(missing_ok=True)
        if name in unchanged or _same(folder / name, data):
            try:
                os.link(folder / name, target)
                continue
            except OSError:
                pass  # a file system without hard links: written below
        with open(target, "xb") as out:
            out.write(data)
    _prune(spare, files)


def _prune(spare: Path, files: Mapping[str, bytes]) -> None:
    """Remove from ``spare`` every file and folder that ``files`` does not name (one listing
    when they are all at its top and it holds nothing else, as a build's five are)."""
    if all("/" not in name for name in files) and set(os.listdir(spare)) <= files.keys():
        return
    wanted = {os.path.join(spare, name) for name in files}
    emptied: set[str] = set()
    for where, folders, names in os.walk(spare, topdown=False):
        kept = 0
        for name in names:
            path = os.path.join(where, name)
            if path in wanted:
                kept += 1
            else:
                os.unlink(path)
        for name in folders:
            path = os.path.join(where, name)
            if path in emptied:
                continue
            if os.path.islink(path):
                os.unlink(path)
            else:
                kept += 1
        if not kept and where != str(spare):
            os.rmdir(where)
            emptied.add(where)


def _linked(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are the same file (one a hard link of the other)."""
    try:
        return os.path.samefile(a, b) and not a.is_symlink()
    except OSError:
        return False


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _same(path: Path, data: bytes) -> bool:
    """Whether the regular file at ``path`` holds exactly ``data``."""
    try:
        if path.is_symlink() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole (:func:`newsletter.files.write_whole`), or say why not."""
    try:
        write_whole(path, data)
    except OSError as error:
        raise NewsletterError(f"cannot write {path}: {error.strerror or error}") from None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux's ``renameat2(RENAME_EXCHANGE)``), so that there is
    no moment without ``b``; False where the system cannot, and the caller renames twice."""
    renameat2 = _libc("renameat2") if sys.platform == "linux" else None
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(done == 0)


def _restore(folder: Path, staging: Path, parked: Path | None, moved: list[str]) -> None:
    """Put the old folder back as it was after a write that failed half-way."""
    if parked is not None and (parked / folder.name).exists() and not folder.exists():
        os.replace(parked / folder.name, folder)
    for name in moved:
        if (staging / name).exists():
            os.replace(staging / name, folder / name)
