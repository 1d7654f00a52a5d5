"""Watch the files an email is made of, and mark the preview's builds stale when they change.

Two watchfiles threads:

- the *top* of the workspace, not recursively, so that a workspace holding a ``.venv`` or
  ``out/`` costs nothing: ``newsletter.toml``, an issue given from elsewhere, and the
  creation of ``issues/``, ``templates/`` or ``assets/``;
- the *tree*: ``issues/``, ``templates/``, ``assets/`` and the theme in use, each of their
  folders on its own (symlinks are not followed out of the workspace). It starts over
  whenever the top changes or a folder is added, so a folder made later, or another theme
  chosen in ``newsletter.toml``, is watched from then on.

Folders are watched rather than files, so editors that save by writing a new file and renaming
it over the old one are seen too. watchfiles groups a burst of changes (an editor's save is
often several events) and yields once the files have been quiet for ``STEP_MS``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

from newsletter.errors import NewsletterError
from newsletter.model.workspace import CONFIG_NAME, builtin_themes
from newsletter.workspace import load_workspace

__all__ = ["Watcher", "watched_folders"]

#: milliseconds of quiet that end a burst of changes, and the longest a burst is grouped: an
#: editor's save (a write, or a temporary file renamed over the issue) is over in less than
#: one, and every millisecond here is one the page waits (50 kept save -> page at ~120 ms, 10
#: at ~40 ms)
STEP_MS = 5
DEBOUNCE_MS = 400
FOLDERS = ("issues", "templates", "assets")


def watched_folders(root: Path) -> set[Path]:
    """The folders whose files make the emails, as they are now."""
    folders = {root / name for name in FOLDERS}
    try:
        folders.update(load_workspace(root).theme_dirs)
    except NewsletterError:  # a broken newsletter.toml: the built-in themes are watched whole
        folders.add(builtin_themes())
    return {folder.resolve() for folder in folders if folder.is_dir()}


class Watcher:
    """Threads that call ``on_change`` after each burst of changes, until :meth:`stop`, with
    the files that changed (``None``: something changed, which is not known)."""

    def __init__(
        self,
        root: Path,
        on_change: Callable[[set[Path] | None], None],
        *,
        extra_issue: Path | None = None,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.root = root.resolve()
        self.on_change = on_change
        self.log = log
        top = {self.root / CONFIG_NAME, *(self.root / name for name in FOLDERS)}
        if extra_issue is not None:
            top.add(extra_issue.resolve())
        self._top = top
        self._stop = threading.Event()
        self._rescan = threading.Event()
        self._threads = [
            threading.Thread(target=self._watch_top, name="preview-watch-top", daemon=True),
            threading.Thread(target=self._watch_tree, name="preview-watch-tree", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _watch_top(self) -> None:
        folders = {path.parent for path in self._top}
        for changes in self._watch(folders, False, _Only(self._top), self._stop):
            if changes:
                self._rescan.set()
                self.on_change({Path(path) for _, path in changes})

    def _watch_tree(self) -> None:
        """Watch the tree, starting over when the top changes.

        A file saved while the watch starts over would be seen by neither watch (the old one
        drops what it has not yet yielded when it is stopped). So the files' sizes and times
        are noted whenever the watch reports, and compared once a new watch runs: a
        difference counts as a change.
        """
        known: dict[str, tuple[int, int]] | None = None
        while not self._stop.is_set():
            self._rescan.clear()
            folders = watched_folders(self.root)
            if not folders:
                self._rescan.wait(0.5)
                continue
            stop = _Either(self._stop, self._rescan)
            running = False
            try:
                for changes in self._watch(_directories(folders), False, DefaultFilter(), stop):
                    if running and not changes:
                        continue
                    if any(Path(path).is_dir() for _, path in changes):
                        self._rescan.set()  # a new folder: watch it too
                    now = _snapshot(folders)
                    if changes:
                        self.on_change({Path(path) for _, path in changes})
                    elif known is not None and now != known:
                        self.on_change(None)  # seen by comparing the files: which, unknown
                    running, known = True, now
            except (OSError, RuntimeError) as error:  # e.g. a folder that cannot be read
                self.log(f"watching {', '.join(map(str, sorted(folders)))} failed: {error}")
                self._rescan.wait(1.0)

    def _watch(
        self,
        paths: Iterable[Path],
        recursive: bool,
        only: Callable[[Change, str], bool],
        stop: _Either | threading.Event,
    ) -> Iterable[set[tuple[Change, str]]]:
        return watch(
            *sorted(paths),
            watch_filter=only,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=stop,
            rust_timeout=STEP_MS * 4,
            yield_on_timeout=True,
            recursive=recursive,
            raise_interrupt=False,
        )


#: The most folders the tree watch looks at: a theme or assets folder is small.
MAX_FOLDERS = 2000


def _directories(folders: Iterable[Path]) -> list[Path]:
    """``folders`` and the folders inside them, each watched on its own: a recursive watch
    would follow a symlink (``assets/x -> /``) out of the workspace and watch the disk."""
    found: list[Path] = []
    for folder in folders:
        for current, subfolders, _ in os.walk(folder, followlinks=False):
            found.append(Path(current))
            subfolders[:] = [s for s in subfolders if not s.startswith(".")]
            if len(found) >= MAX_FOLDERS:
                return found
    return found


def _snapshot(folders: Iterable[Path]) -> dict[str, tuple[int, int]]:
    """Each file under ``folders`` (symlinks not followed) with its size and modification time."""
    files: dict[str, tuple[int, int]] = {}
    for folder in _directories(folders):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            files[entry.path] = (stat.st_size, stat.st_mtime_ns)
    return files


class _Only(DefaultFilter):
    """Changes to the given paths only (their folder is watched, not each of them)."""

    def __init__(self, paths: Iterable[Path]) -> None:
        super().__init__()
        self.paths = {str(path) for path in paths}

    def __call__(self, change: Change, path: str) -> bool:
        return path in self.paths


class _Either:
    """Set when either event is: stops a watch for good, or to start it over."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)
