"""The preview's builds: one generation of results, rebuilt in a loop when files change.

Following mkdocs' livereload: changes only mark the builds stale; one rebuild thread rebuilds
the issues being watched in the browser, then announces the new generation to the pages
(server-sent events), which fetch it. Requests wait while a build runs, so a page never sees
half of a generation. A rebuild re-reads ``newsletter.toml`` and the theme unless only issue
files changed (the common save, whose page then waits for the issue's build alone), and a
broken file of any kind becomes problems to show, never an exception that stops the server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.model.artifact import BuildResult
from newsletter.model.workspace import CONFIG_NAME, ISSUE_SUFFIXES, Workspace
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

__all__ = ["Build", "Builds"]


@dataclass(frozen=True)
class Build:
    """One issue built for the preview: the result, the workspace it was built in (``None``
    when ``newsletter.toml`` itself is broken) and its generation."""

    result: BuildResult
    workspace: Workspace | None
    generation: int
    milliseconds: float


class Builds:
    """The current generation of preview builds of a workspace's issues."""

    def __init__(
        self,
        root: Path,
        *,
        asset_base_url: str,
        extra_issue: Path | None = None,
        on_build: Callable[[Build], None] | None = None,
    ) -> None:
        self.root = root.resolve()
        self.asset_base_url = asset_base_url
        self.extra_issue = extra_issue.resolve() if extra_issue else None
        self.on_build = on_build
        self.generation = 0
        self._lock = threading.RLock()  # held while building: requests wait for the build
        self._changed = threading.Condition(self._lock)
        self._workspace: Workspace | tuple[Problem, ...] | None = None
        self._cache: dict[Path, Build] = {}
        self._last_good: dict[Path, Build] = {}  # shown under the problems of a broken file
        self._viewed: set[Path] = set()
        self._stale = False
        self._reload = False  # the workspace itself may have changed: read it again
        self._closed = False

    def issues(self) -> dict[str, Path]:
        """The issues a page can show, by file name: those in ``issues/`` and the one given."""
        folder = self.root / "issues"  # listed directly: a broken newsletter.toml hides nothing
        files = sorted(folder.iterdir()) if folder.is_dir() else []
        found = {p.name: p.resolve() for p in files if p.suffix in ISSUE_SUFFIXES and p.is_file()}
        if self.extra_issue is not None:
            found.setdefault(self.extra_issue.name, self.extra_issue)
        return found

    def get(self, path: Path) -> Build:
        """The build of ``path`` in the current generation, building it if need be."""
        with self._lock:
            self._viewed.add(path)
            build = self._cache.get(path)
            if build is None:
                build = self._cache[path] = self._build(path)
            return build

    def last_good(self, path: Path) -> Build | None:
        """The latest build of ``path`` that made an email, in this or an earlier generation."""
        with self._lock:
            return self._last_good.get(path)

    def workspace(self) -> Workspace | None:
        """The workspace of the current generation, or ``None`` while its settings are broken."""
        with self._lock:
            workspace = self._load_workspace()
            return workspace if isinstance(workspace, Workspace) else None

    def mark_stale(self, changed: set[Path] | None = None) -> None:
        """Files changed (``changed``, or ``None``: any): the rebuild loop will rebuild, and
        read the workspace again unless they are all issue files (several marks in a row
        build once)."""
        with self._lock:
            self._stale = True
            issues_only = changed is not None and all(map(self._is_issue, changed))
            self._reload = self._reload or not issues_only
            self._changed.notify_all()

    def _is_issue(self, path: Path) -> bool:
        """Whether ``path`` is an issue file (or an editor's temporary file beside one), which
        no workspace setting is read from."""
        return path == self.extra_issue or path.parent == self.root / "issues"

    def rebuild_loop(self) -> None:
        """Rebuild whenever marked stale, until :meth:`close`; run it in a thread of its own."""
        while True:
            with self._lock:
                while not self._stale and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                self._stale = False
                self.generation += 1
                if self._reload:
                    self._reload = False
                    self._workspace = None
                self._cache.clear()
                for path in sorted(self._viewed):
                    if path.is_file():
                        self._cache[path] = self._build(path)
                self._viewed.clear()  # each open page asks again, and is rebuilt next time
                self._changed.notify_all()

    def wait_for_change(self, generation: int, timeout: float) -> int:
        """Block until the generation is past ``generation`` (or ``timeout`` seconds pass, or
        the builds close); return the current one."""
        with self._lock:
            self._changed.wait_for(lambda: self.generation != generation or self._closed, timeout)
            return self.generation

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop the rebuild loop and release every page waiting for a change."""
        with self._lock:
            self._closed = True
            self._changed.notify_all()

    def _load_workspace(self) -> Workspace | tuple[Problem, ...]:
        """The workspace, read once per generation, or the problems of its settings."""
        if self._workspace is None:
            try:
                self._workspace = load_workspace(self.root)
            except ProblemsError as error:
                self._workspace = error.problems
            except NewsletterError as error:
                self._workspace = (Problem(CONFIG_NAME, "", error.format_message()),)
        return self._workspace

    def _build(self, path: Path) -> Build:
        started = perf_counter()
        workspace = self._load_workspace()
        if isinstance(workspace, Workspace):
            ws: Workspace | None = workspace
            try:
                result = build_issue(path, workspace, asset_base_url=self.asset_base_url)
            except Exception as error:  # a bug must show in the page, not stop the rebuilds
                where = workspace.display(path)
                problem = Problem(where, "", f"internal error: {type(error).__name__}: {error}")
                result = BuildResult(path, problems=(problem,))
        else:
            result, ws = BuildResult(path, problems=workspace), None
        build = Build(result, ws, self.generation, (perf_counter() - started) * 1000)
        if result.ok and ws is not None:
            self._last_good[path] = build
        if self.on_build is not None:
            self.on_build(build)
        return build
