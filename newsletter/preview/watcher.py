"""Watch the files an email is made of, and mark the preview's builds stale when they change.

Watched: ``newsletter.toml`` (and an issue given outside ``issues/``) in their folder, not
recursively, so that a workspace that holds a ``.venv`` or ``out/`` costs nothing; and
``issues/``, ``templates/``, ``assets/`` and the built-in theme in use, recursively. Folders are
watched rather than files, so editors that save by writing a new file and renaming it over the
old one are seen too. watchfiles groups a burst of changes (an editor's save is often several
events) and yields once the files have been quiet for ``step`` milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

from ..problems import NewsletterError
from ..workspace import CONFIG_NAME, Workspace, builtin_themes

__all__ = ["Watcher", "watched_paths"]

#: milliseconds of quiet that end a burst of changes, and the longest a burst is grouped
STEP_MS = 50
DEBOUNCE_MS = 400


def watched_paths(root: Path, extra_issue: Path | None = None) -> tuple[set[Path], set[Path]]:
    """``(files watched through their folder, folders watched recursively)``."""
    files = {root / CONFIG_NAME}
    if extra_issue is not None:
        files.add(extra_issue.resolve())
    folders = {root / name for name in ("issues", "templates", "assets")}
    try:
        folders.update(Workspace.load(root).theme_dirs)
    except NewsletterError:  # a broken newsletter.toml: the built-in themes are watched whole
        folders.add(builtin_themes())
    return files, {folder.resolve() for folder in folders if folder.is_dir()}


class Watcher:
    """Threads that call ``on_change`` after each burst of changes, until :meth:`stop`."""

    def __init__(
        self, root: Path, on_change: Callable[[], None], *, extra_issue: Path | None = None
    ) -> None:
        self.on_change = on_change
        self._stop = threading.Event()
        files, folders = watched_paths(root.resolve(), extra_issue)
        self._threads = [
            threading.Thread(
                target=self._run,
                args=(folders, True, DefaultFilter()),
                name="preview-watch-tree",
                daemon=True,
            ),
            threading.Thread(
                target=self._run,
                args=({f.parent for f in files}, False, _OnlyFiles(files)),
                name="preview-watch-files",
                daemon=True,
            ),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(
        self, paths: Iterable[Path], recursive: bool, only: Callable[[Change, str], bool]
    ) -> None:
        paths = sorted(paths)
        if not paths:
            return
        for _ in watch(
            *paths,
            watch_filter=only,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=self._stop,
            rust_timeout=500,
            recursive=recursive,
            raise_interrupt=False,
        ):
            self.on_change()


class _OnlyFiles(DefaultFilter):
    """Changes to the given files only (their folder is watched, not each file)."""

    def __init__(self, files: Iterable[Path]) -> None:
        super().__init__()
        self.files = {str(f) for f in files}

    def __call__(self, change: Change, path: str) -> bool:
        return path in self.files
