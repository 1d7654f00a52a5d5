"""Writing a file whole or not at all: the one way the tool replaces a file it does not stage
in a folder of its own (the build cache, the site's state, a diff page, an edited issue file,
a published page, a fetched image).

The bytes go to a temporary name beside the file, then take its name in one step, so that a
reader (an editor's text editor, a web server, the next command) sees the old file or the new
one and never half of either, and a write that fails leaves no stray file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["UMASK", "link_outside", "new_file_mode", "within", "write_all", "write_whole"]

#: The process's umask, read once (reading it means setting it).
UMASK = os.umask(0)
os.umask(UMASK)


def new_file_mode() -> int:
    """The permission bits the umask gives a file made the usual way (0644 under umask 022):
    a temporary file is made 0600, which the file it becomes should not keep."""
    return 0o666 & ~UMASK


def write_whole(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    durable: bool = False,
    replace: bool = True,
) -> bool:
    """Write ``data`` to ``path`` in one step; raises :class:`OSError` on failure.

    ``mode`` is the file's permission bits (:func:`new_file_mode` by default); ``durable``
    waits until the bytes are on the disk before they take the name, for a file that only
    the editor has (an issue file); with ``replace=False`` an existing file is never
    written over, and the answer is False when one was there (a fetched image, named while
    another command may name one the same).
    """
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(temporary, new_file_mode() if mode is None else mode)
        if not replace:
            try:
                os.link(temporary, path)  # fails if the name was taken meanwhile
            except FileExistsError:
                return False
            return True
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return True


def write_all(handle: int, data: bytes) -> None:
    """Write all of ``data`` to the open file ``handle``, however many writes it takes (a
    write may take less than it is given): plain system calls, no buffered file object."""
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


def link_outside(path: str, folder: str) -> str | None:
    """Where ``path`` leads, its links followed, if that is outside ``folder`` (a real path:
    its own links resolved); ``None`` when it stays inside. A workspace's files may come from
    anyone, and a link in one must not carry what is outside the workspace into an email."""
    real = os.path.realpath(path)
    return None if within(real, folder) else real


def within(path: str, folder: str) -> bool:
    """Whether the absolute ``path`` lies under the absolute ``folder``, by name: ``/ws2``
    is not under ``/ws``, and everything is under ``/``. Links are the caller's to resolve
    (or not) first."""
    return path.startswith(folder.rstrip(os.sep) + os.sep)
