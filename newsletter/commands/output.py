"""Writing a command's files: a whole folder replaced at once, or not at all.

Files are composed in memory first (targets write nothing); :func:`replace_folder` writes them
into a new hidden folder beside the old one and then swaps the two in one step (on Linux;
elsewhere with two renames), so that a build killed at any moment leaves either the previous
``out/<slug>/`` or the new one, never a mix of the two.
"""

from __future__ import annotations

import ctypes
import glob
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from newsletter.errors import NewsletterError

__all__ = ["replace_file", "replace_folder", "stage_folder", "swap_in"]

_UMASK = os.umask(0)
os.umask(_UMASK)


def replace_folder(folder: Path, files: Mapping[str, bytes], *, keep: Iterable[str] = ()) -> None:
    """Make ``folder`` hold exactly ``files`` (names may have folders: ``assets/a.jpg``); the
    entries named in ``keep`` (the ``export/`` folder beside a build's files) are carried over
    from the old folder."""
    swap_in(folder, stage_folder(folder, files), keep=keep)


def stage_folder(folder: Path, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` into a new hidden folder beside ``folder``, on disk (fsync'ed) and
    ready for :func:`swap_in`; a build worker does this part, so that many write at once."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=_prefix(folder, "new")))
    except OSError as error:
        raise NewsletterError(f"cannot write {folder}: {error.strerror or error}") from None
    try:
        staging.chmod(0o777 & ~_UMASK)  # mkdtemp makes 0700; outputs are ordinary folders
        for name, data in files.items():
            target = staging / name
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise NewsletterError(f"refusing to write {name!r} outside {folder}")
            if "/" in name:
                target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise NewsletterError(f"cannot write {folder}: {error.strerror or error}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def swap_in(folder: Path, staging: Path, *, keep: Iterable[str] = ()) -> None:
    """Put the folder :func:`stage_folder` wrote in the place of ``folder`` in one step,
    carrying ``keep`` over from the old one, and remove the old one. The staging folders a
    killed write left are cleared first (``staging`` is named for a live process: the worker
    that wrote it, or this one)."""
    moved: list[str] = []
    parked: Path | None = None
    try:
        _clear_abandoned(folder, keep)
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
    except OSError as error:
        _restore(folder, staging, parked, moved)
        raise NewsletterError(f"cannot write {folder}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if parked is not None:
            shutil.rmtree(parked, ignore_errors=True)


def _prefix(folder: Path, kind: str) -> str:
    """``.<name>.new-<pid>-``: hidden, and naming the process that owns it."""
    return f".{folder.name}.{kind}-{os.getpid()}-"


def _clear_abandoned(folder: Path, keep: Iterable[str]) -> None:
    """Remove the staging folders of a write whose process is gone (killed mid-way), after
    putting back a kept entry (``export/``) it had moved out of ``folder``. A live process's
    staging folder is left alone: another build may be writing this very issue."""
    for kind in ("old", "new"):  # the old folder back first, then what was moved out of it
        for stale in folder.parent.glob(f".{glob.escape(folder.name)}.{kind}-*-*"):
            pid = stale.name.removeprefix(f".{folder.name}.{kind}-").split("-", 1)[0]
            if not pid.isdigit() or _alive(int(pid)):
                continue
            if kind == "old" and (stale / folder.name).is_dir() and not folder.exists():
                os.replace(stale / folder.name, folder)  # killed between the two renames
            for name in keep if kind == "new" and folder.is_dir() else ():
                if (stale / name).exists() and not (folder / name).exists():
                    os.replace(stale / name, folder / name)
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name and rename it over the old file."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, 0o666 & ~_UMASK)
        os.replace(temp, path)
    except OSError as error:
        raise NewsletterError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        Path(temp).unlink(missing_ok=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux's ``renameat2(RENAME_EXCHANGE)``), so that there is
    no moment without ``b``; False where the system cannot, and the caller renames twice."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        at_fdcwd, rename_exchange = -100, 2
        done = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    except (OSError, AttributeError):
        return False
    return bool(done == 0)


def _restore(folder: Path, staging: Path, parked: Path | None, moved: list[str]) -> None:
    """Put the old folder back as it was after a write that failed half-way."""
    if parked is not None and (parked / folder.name).exists() and not folder.exists():
        os.replace(parked / folder.name, folder)
    for name in moved:
        if (staging / name).exists():
            os.replace(staging / name, folder / name)
