"""``newsletter build``: issue files in, ``out/<slug>/`` out, each folder replaced whole.

Every issue is built in memory first (:func:`~newsletter.pipeline.stages.build_issue`); only a
complete folder is written, swapped in for the old one (:func:`~newsletter.commands.output.
replace_folder`). Many issues are built on all cores, since a build is CPU-bound (MJML, CSS
inlining) and issues are independent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.commands.output import replace_file, replace_folder
from newsletter.errors import Problem
from newsletter.model.artifact import Artifact, BuildResult
from newsletter.model.workspace import Workspace
from newsletter.pipeline.stages import build_issue
from newsletter.targets.files import email_files, meta

__all__ = ["BuildReport", "Built", "build", "build_issues"]


@dataclass(frozen=True)
class Built:
    """One issue written to disk: where, and the artifact it came from."""

    folder: Path
    artifact: Artifact
    sizes: dict[str, int]

    def meta(self) -> dict[str, object]:
        return meta(self.artifact, self.sizes)


@dataclass(frozen=True)
class BuildReport:
    """What ``build`` did: the issues written, in the order given, and every problem."""

    built: list[Built] = field(default_factory=list)
    #: the output folders left as they were, their issue, theme and settings unchanged
    unchanged: list[Path] = field(default_factory=list)
    #: issue file (as the editor names it) -> its problems, for each issue not built
    failed: dict[str, list[Problem]] = field(default_factory=dict)

    @property
    def problems(self) -> list[Problem]:
        return [problem for problems in self.failed.values() for problem in problems]


def build(
    workspace: Workspace,
    paths: Sequence[Path],
    *,
    jobs: int | None = None,
    force: bool = False,
) -> BuildReport:
    """Build ``paths`` into ``out/<slug>/``; an issue with a problem writes nothing.

    An issue whose file, assets, theme, settings and tool are as they were at its last build
    is not built again (``force`` builds it anyway): ``out/.build-cache.json`` keeps the key
    of each. Two issue files with the same slug would overwrite each other's folder: the
    second is a problem, named with the first.
    """
    report = BuildReport()
    cache = _Cache(workspace)
    slugs: dict[str, str] = {}
    todo: list[Path] = []
    for path in paths:
        cache.key(path)  # read before building: what was built is what the key says
        hit = None if force else cache.hit(path)
        if hit is None:
            todo.append(path)
        else:
            slugs[hit.name] = workspace.display(path)
            report.unchanged.append(hit)
    order = {path: index for index, path in enumerate(todo)}
    results = sorted(build_issues(todo, workspace, jobs=jobs), key=lambda r: order[r.source])
    for result in results:
        name = workspace.display(result.source)
        artifact = result.artifact
        if artifact is not None and artifact.slug in slugs:
            clash = f"slug '{artifact.slug}' is also built from {slugs[artifact.slug]}; rename one"
            report.failed[name] = [Problem(name, "slug", clash)]
            continue
        if artifact is None:
            report.failed[name] = list(result.problems)
            cache.forget(result.source)
            continue
        slugs[artifact.slug] = name
        folder = workspace.out_dir / artifact.slug
        files = email_files(artifact)
        replace_folder(folder, files, keep=("export",))
        cache.remember(result.source, artifact.slug)
        report.built.append(Built(folder, artifact, {n: len(d) for n, d in files.items()}))
    cache.save()
    return report


class _Cache:
    """Which issue built which folder from what: a key over everything a build reads."""

    NAME = ".build-cache.json"

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.path = workspace.out_dir / self.NAME
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
        self.entries: dict[str, dict[str, str]] = entries if isinstance(entries, dict) else {}
        self._shared: str | None = None
        self._keys: dict[Path, str] = {}

    def _shared_key(self) -> str:
        """The part of every key that all issues share: tool, settings, theme and assets."""
        if self._shared is None:
            digest = hashlib.sha256()
            package = Path(__file__).resolve().parent.parent
            stats = [*_stats(package, "*.py"), *_stats(self.workspace.root / "assets", "*")]
            for folder in self.workspace.theme_dirs:
                stats.extend(_stats(folder, "*"))
            digest.update(self.workspace.config_path.read_bytes())
            digest.update(repr(sorted(stats)).encode())
            secret = self.workspace.settings.send.unsubscribe_secret_env  # signs message.eml
            digest.update(os.environ.get(secret, "").encode() if secret else b"")
            self._shared = digest.hexdigest()
        return self._shared

    def key(self, path: Path) -> str:
        """The key of ``path`` as it was read before its build (a save during the build must
        not be taken for what was built)."""
        if path not in self._keys:
            try:
                data = path.read_bytes()
            except OSError:  # the build itself says what is wrong with the file
                data = b"\0unreadable"
            self._keys[path] = hashlib.sha256(self._shared_key().encode() + data).hexdigest()
        return self._keys[path]

    def hit(self, path: Path) -> Path | None:
        """The output folder of ``path`` when nothing it was built from has changed."""
        entry = self.entries.get(str(path.resolve()))
        if not entry or entry.get("key") != self.key(path):
            return None
        folder = self.workspace.out_dir / entry["slug"]
        return folder if (folder / "meta.json").is_file() else None

    def remember(self, path: Path, slug: str) -> None:
        self.entries[str(path.resolve())] = {"key": self.key(path), "slug": slug}

    def forget(self, path: Path) -> None:
        self.entries.pop(str(path.resolve()), None)

    def save(self) -> None:
        if self.entries:
            replace_file(self.path, json.dumps(self.entries, indent=1).encode())


def _stats(folder: Path, pattern: str) -> list[tuple[str, int, int]]:
    """Name, size and modification time of each file under ``folder``: what a change to any
    of them changes."""
    found = []
    for path in folder.rglob(pattern) if folder.is_dir() else ():
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.is_file():
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return found


def build_issues(
    paths: Sequence[Path], workspace: Workspace, *, jobs: int | None = None
) -> Iterator[BuildResult]:
    """Build ``paths`` in memory on ``jobs`` processes (default: every core when there are
    several issues), yielding each result as it is ready."""
    now = dt.datetime.now(dt.UTC)
    jobs = jobs or (min(os.cpu_count() or 1, len(paths)) if len(paths) >= 4 else 1)
    if jobs <= 1:
        for path in paths:
            yield build_issue(path, workspace, now=now)
        return
    import multiprocessing  # only a batch pays for the pool's imports (~30 ms)
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from newsletter.pipeline.transforms import inline_css

    inline_css("<p></p>", engine=workspace.settings.transforms.inliner)  # import once, then fork
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_die_with_parent
    ) as pool:
        futures = [pool.submit(build_issue, path, workspace, now=now) for path in paths]
        for future in as_completed(futures):
            yield future.result()


def _die_with_parent() -> None:
    """A worker is killed when the build that started it dies (Linux), so that a killed
    ``build`` never leaves its workers behind."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the call
            os._exit(1)
    except (OSError, AttributeError):
        pass  # no prctl here (macOS): the pool's own shutdown still ends the workers
