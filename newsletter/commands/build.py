"""``newsletter build``: issue files in, ``out/<slug>/`` out, each folder replaced whole.

The checks are not part of a build unless asked for (``check``): ``newsletter check``, the
preview, ``export`` and ``send`` run them where they decide something, and a build of many
issues spent a quarter of its time on findings nobody read.

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
import shutil
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import field
from functools import partial
from pathlib import Path
from typing import TypeVar

from newsletter.commands.inputs import inputs_digest
from newsletter.commands.output import flush_disk, replace_file, stage_folder, swap_in
from newsletter.errors import Problem
from newsletter.model.artifact import BuildResult
from newsletter.model.workspace import Workspace
from newsletter.pipeline.stages import UNCHECKED, build_issue
from newsletter.processes import die_with_parent
from newsletter.record import Record
from newsletter.targets.files import email_folder

__all__ = ["BuildReport", "Built", "build", "build_issues"]


class Built(Record):
    """One issue written to disk: where, and what its ``meta.json`` says (not the artifact
    itself, so that a build of a thousand issues holds a thousand small summaries)."""

    folder: Path
    summary: dict[str, object]
    #: the issue file's own warnings (``validate``'s: what the loader found allowed but
    #: probably not meant), which every build has, checked or not, at no cost
    warnings: tuple[str, ...] = ()

    def meta(self) -> dict[str, object]:
        return self.summary

    @property
    def display(self) -> str:
        """The issue file as the editor names it."""
        return str(self.summary["source"])

    @property
    def sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = self.summary["sizes"]  # type: ignore[assignment]
        return sizes

    @property
    def total_ms(self) -> float:
        """The milliseconds the stages took, in all."""
        timings: dict[str, float] = self.summary["timings_ms"]  # type: ignore[assignment]
        return sum(timings.values())

    @property
    def checked(self) -> bool:
        """Whether the checks ran (``build(check=True)``): only then are there findings."""
        return "findings" in self.summary

    @property
    def severities(self) -> list[str]:
        """The severity of each finding, most severe first (none when not :attr:`checked`)."""
        findings: list[dict[str, str]]
        findings = self.summary.get("findings", [])  # type: ignore[assignment]
        return [finding["severity"] for finding in findings]


class _Staged(Record):
    """What a build worker sends back: the hidden folder it wrote the issue's files into,
    ready to be swapped in, and their summary; or the issue's problems. With either, the issue
    file as the editor names it and the cache key of the bytes it was built from (read before
    its build), both worked out in the worker rather than in the parent, which shares the
    cores with the workers."""

    source: Path
    display: str
    key: str
    slug: str = ""
    staging: Path | None = None
    summary: dict[str, object] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


class BuildReport(Record):
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
    check: bool = False,
    on_built: Callable[[Built], None] | None = None,
) -> BuildReport:
    """Build ``paths`` into ``out/<slug>/``; an issue with a problem writes nothing.
    ``check`` runs the checks too and records their findings in ``meta.json``.

    An issue whose file, assets, theme, settings and tool are as they were at its last build
    is not built again (``force`` builds it anyway), unless ``check`` asks for findings that
    build did not make: ``out/.build-cache.json`` keeps the key of each, and whether it was
    checked. Two issue files with the same slug would overwrite each other's folder: the
    second is a problem, named with the first. ``on_built`` is told of each issue as soon
    as its folder is in place, in the order given: the progress of a long build.
    """
    report = BuildReport()
    cache = _Cache(workspace, checked=check)
    slugs: dict[str, Path] = {}  # slug -> the first issue file of the run with it
    todo: list[Path] = []
    for path in paths:
        hit = None if force else cache.hit(path)
        if hit is None:
            todo.append(path)
        else:
            slugs[hit.name] = path
            report.unchanged.append(hit)
    # What is about to be rebuilt is not recorded as built until its new files are on the
    # disk (they are flushed once, at the end): a power cut half-way must not leave the cache
    # vouching for a folder whose files never reached it.
    if cache.forget_all(todo):
        cache.save()
    # In the order given, each written as soon as it and those before it are built.
    stages = None if check else UNCHECKED
    stage = partial(_stage, shared=cache.shared_key(), stages=stages)
    for staged in _in_workers(stage, todo, workspace, jobs=jobs):
        name = staged.display
        if staged.staging is None:
            report.failed[name] = list(staged.problems)
            continue
        if staged.slug in slugs:
            shutil.rmtree(staged.staging, ignore_errors=True)
            first = workspace.display(slugs[staged.slug])
            clash = f"slug '{staged.slug}' is also built from {first}; rename one"
            report.failed[name] = [Problem(name, "slug", clash)]
            continue
        slugs[staged.slug] = staged.source
        folder = workspace.out_dir / staged.slug
        swap_in(folder, staged.staging, keep=("export",), spare=True)
        cache.remember(staged.source, staged.slug, staged.key)
        report.built.append(Built(folder, staged.summary, staged.warnings))
        if on_built is not None:
            on_built(report.built[-1])
    if report.built:
        flush_disk(workspace.out_dir)
    cache.save()
    return report


class _Cache:
    """Which issue built which folder from what: a key over everything a build reads, and
    whether its checks ran. ``checked``: whether this build runs them, so that a folder
    without findings is not taken for one with them."""

    NAME = ".build-cache.json"

    def __init__(self, workspace: Workspace, *, checked: bool = False) -> None:
        self.workspace = workspace
        self.checked = checked
        self.path = workspace.out_dir / self.NAME
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
        self.entries: dict[str, dict[str, object]] = entries if isinstance(entries, dict) else {}
        self._saved = dict(self.entries)  # what the file holds: an unchanged cache is not written
        self._shared: str | None = None
        self._names: dict[Path, str] = {}

    def shared_key(self) -> str:
        """The part of every key that all issues share: tool, settings, theme and assets."""
        if self._shared is None:
            digest = hashlib.sha256(inputs_digest(self.workspace).encode())
            secret = self.workspace.settings.send.unsubscribe_secret_env  # signs message.eml
            digest.update(os.environ.get(secret, "").encode() if secret else b"")
            self._shared = digest.hexdigest()
        return self._shared

    def _name(self, path: Path) -> str:
        """The entry's name of ``path``: the file with its links resolved, worked out once."""
        if path not in self._names:
            self._names[path] = os.path.realpath(path)
        return self._names[path]

    def hit(self, path: Path) -> Path | None:
        """The output folder of ``path`` when nothing it was built from has changed."""
        entry = self.entries.get(self._name(path))
        if not entry or entry.get("key") != _key(self.shared_key(), path):
            return None
        if self.checked and not entry.get("checked"):
            return None
        folder = self.workspace.out_dir / str(entry["slug"])
        return folder if (folder / "meta.json").is_file() else None

    def remember(self, path: Path, slug: str, key: str) -> None:
        entry: dict[str, object] = {"key": key, "slug": slug}
        if self.checked:
            entry["checked"] = True
        self.entries[self._name(path)] = entry

    def forget_all(self, paths: Sequence[Path]) -> bool:
        """Forget each of ``paths``; whether any was remembered."""
        before = len(self.entries)
        for path in paths:
            self.entries.pop(self._name(path), None)
        return len(self.entries) < before

    def save(self) -> None:
        """Write the entries, unless the file already holds them (a build with nothing to
        do writes nothing: replacing a file frees its blocks, which costs on a disk that
        discards them at once)."""
        if self.entries != self._saved:
            replace_file(self.path, json.dumps(self.entries, separators=(",", ":")).encode())
            self._saved = dict(self.entries)


def _key(shared: str, path: Path) -> str:
    """The cache key of the issue file ``path`` as it is now, ``shared`` being the rest of
    what a build reads (:meth:`_Cache.shared_key`). Read before a build, so that a save
    during it is never taken for what was built."""
    try:
        data = path.read_bytes()
    except OSError:  # the build itself says what is wrong with the file
        data = b"\0unreadable"
    return hashlib.sha256(shared.encode() + data).hexdigest()


def build_issues(
    paths: Sequence[Path],
    workspace: Workspace,
    *,
    jobs: int | None = None,
    stages: Collection[str] | None = None,
) -> Iterator[BuildResult]:
    """Build ``paths`` in memory on ``jobs`` processes (default: every core when there are
    several issues), yielding each result in the order given as soon as it is ready;
    ``stages``: only those stages (the site's pages need no inlining, no checks ...)."""
    inlines = stages is None or "inline" in stages
    work = partial(_build, stages=stages)
    return _in_workers(work, paths, workspace, jobs=jobs, warm_inliner=inlines)


_T = TypeVar("_T")

#: What a worker builds with, set once when it starts (inherited, on Linux, from the parent):
#: only the issue paths travel to it, never the workspace again with each one.
_worker: tuple[Workspace, dt.datetime] | None = None


def _in_workers(
    work: Callable[[Workspace, dt.datetime, Path], _T],
    paths: Sequence[Path],
    workspace: Workspace,
    *,
    jobs: int | None = None,
    warm_inliner: bool = True,
) -> Iterator[_T]:
    """``work`` on each of ``paths``, in that order, on ``jobs`` processes started once (the
    CSS inliner imported before they fork, unless ``warm_inliner`` is false).

    Results come back in chunks as they finish and are yielded, and let go, one by one, so
    the parent holds only the few a slower worker keeps waiting.
    """
    now = dt.datetime.now(dt.UTC)
    jobs = jobs or (min(os.cpu_count() or 1, len(paths)) if len(paths) >= 4 else 1)
    if jobs <= 1:
        for path in paths:
            yield work(workspace, now, path)
        return
    import multiprocessing  # only a batch pays for the pool's imports (~30 ms)
    from concurrent.futures import ProcessPoolExecutor

    from newsletter.pipeline.transforms import inline_css

    if warm_inliner:  # import once, then fork
        inline_css("<p></p>", engine=workspace.settings.transforms.inliner)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_start_worker,
        initargs=((workspace, now), os.getpid()),
    ) as pool:
        # Chunks small enough to keep both workers busy to the end, large enough that the
        # round trips do not count.
        chunks = max(1, min(16, len(paths) // (jobs * 4)))
        yield from pool.map(partial(_in_worker, work), paths, chunksize=chunks)


def _in_worker(work: Callable[[Workspace, dt.datetime, Path], _T], path: Path) -> _T:
    assert _worker is not None, "the worker was not started by _in_workers"
    return work(*_worker, path)


def _build(
    workspace: Workspace, now: dt.datetime, path: Path, *, stages: Collection[str] | None = None
) -> BuildResult:
    return build_issue(path, workspace, now=now, stages=stages)


def _stage(
    workspace: Workspace,
    now: dt.datetime,
    path: Path,
    *,
    shared: str,
    stages: Collection[str] | None,
) -> _Staged:
    """Build one issue (only ``stages``, when given) and write its folder's files beside the
    old folder (in a worker, when there are several, so that the writes run side by side
    too); the parent swaps it in, after making sure no earlier issue of the run has the slug.
    ``shared`` is the part of the cache key all issues share."""
    key = _key(shared, path)
    result = build_issue(path, workspace, now=now, stages=stages)
    if result.artifact is None:
        return _Staged(path, workspace.display(path), key, problems=result.problems)
    artifact = result.artifact
    files, summary = email_folder(artifact)
    staging = stage_folder(workspace.out_dir / artifact.slug, files, flush=False, reuse=True)
    warnings = tuple(map(str, artifact.issue.warnings))
    return _Staged(path, artifact.display, key, artifact.slug, staging, summary, warnings)


def _start_worker(worker: tuple[Workspace, dt.datetime], parent: int) -> None:
    """Set up a build worker: what it builds with, and its death with the build, ``parent``
    (a killed ``build`` leaves no worker behind)."""
    global _worker
    _worker = worker
    die_with_parent(parent)
