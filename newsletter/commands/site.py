"""``newsletter site``: the web archive of every issue, built into one folder swapped in whole.

Every issue file goes through the pipeline's stages that the site needs (:func:`~newsletter.
pipeline.stages.build_issue` with ``load``, and where the email links resized copies of its
images, ``render``, ``compile`` and ``assets`` to learn which); the web target makes the files
in memory; :func:`~newsletter.commands.output.replace_folder` swaps the folder in at once, so a
site with a problem anywhere writes nothing and the previous site stays as it was.

A site of a thousand issues where one changed is made again in well under a second: the cache
``out/.site-cache.pickle`` keeps, for the folder last written, each issue loaded (keyed by its
file's bytes and everything else its output is made from: tool, settings, theme, assets) and
each file's key and hash. An issue whose key is unchanged is not loaded again, a page whose
issue and neighbours are unchanged is taken from the previous folder (after its hash is
checked), and so is an archive page and each resized image; the feeds and the sitemap are
always made again. The cache is only ever a shortcut: a missing, stale or unreadable one, or a
file of the folder changed by hand, makes the site from the issues.

Drafts (``draft: true``) and issues dated after today are left out unless asked for: they can
be previewed and built, but a published archive must not show them before their day.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import multiprocessing
import os
import pickle
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.commands.build import build_issues
from newsletter.commands.inputs import inputs_digest
from newsletter.commands.output import replace_file, replace_folder_keeping_spare
from newsletter.errors import Problem, ProblemsError
from newsletter.model.issue import Issue
from newsletter.model.site import SITE_FOLDER, has_site
from newsletter.model.workspace import Workspace
from newsletter.targets.web import site_urls
from newsletter.targets.web.feeds import Entry
from newsletter.targets.web.site import Made, Page, SiteMaker

__all__ = ["SiteBuild", "SiteReport", "build_site", "make_site", "published", "write_site"]

CACHE_NAME = ".site-cache.pickle"

#: Issues built, and stale pages rendered, in one process below these many; above, on
#: ``jobs`` processes.
_PARALLEL_ISSUES = 4
_PARALLEL_PAGES = 64


@dataclass(frozen=True)
class SiteReport:
    """What ``site`` made: where, its files' sizes, and which issues it left out and why."""

    folder: Path
    base_url: str
    pages: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    #: issue file (as the editor names it) -> why it is not in the site ("draft", "dated ...")
    left_out: dict[str, str] = field(default_factory=dict)
    #: how many issue pages were made anew (the others were unchanged)
    rendered: int = 0


@dataclass(frozen=True)
class SiteBuild:
    """A site made in memory: its files, the issues in it, those left out (with why)."""

    made: dict[str, Made]
    pages: list[Page]
    left_out: dict[str, str]
    rendered: int
    #: what the cache remembers of this build, once it is written
    cache: _Cache

    @property
    def files(self) -> dict[str, bytes]:
        return {name: made.data for name, made in self.made.items()}


def published(issue: Issue | Page, today: dt.date) -> str | None:
    """Why an issue stays out of the published site (``None``: it goes in)."""
    if issue.draft:
        return "draft"
    if issue.date > today:
        return f"dated {issue.date.isoformat()}, after today"
    return None


def make_site(
    workspace: Workspace,
    *,
    drafts: bool = False,
    today: dt.date | None = None,
    paths: Sequence[Path] | None = None,
    jobs: int | None = None,
    folder: Path | None = None,
) -> SiteBuild:
    """The site's files in memory, taking what it can from the site last written to
    ``folder`` (default ``out/_site/``).

    Raises :class:`ProblemsError` with every problem of every issue: a site is never made
    from some of the issues when others are broken.
    """
    site_urls(workspace.settings)  # a setting that cannot make a site fails before any build
    day = today or dt.date.today()
    folder = folder or workspace.out_dir / SITE_FOLDER
    cache = _Cache.load(workspace, folder)
    files = workspace.issue_files() if paths is None else list(paths)
    shared = inputs_digest(workspace)
    keys = {path: _key(shared, path) for path in files}
    ready: dict[Path, Page] = {}
    todo: list[Path] = []
    for path in files:
        page = cache.page(path, keys[path])
        if page is None:
            todo.append(path)
        else:
            ready[path] = page
    stages = ("load", "render", "compile", "assets") if has_site(workspace.settings) else ("load",)
    problems: list[Problem] = []
    # a pool for an edit or two would cost more than it saves
    build_jobs = jobs if len(todo) >= _PARALLEL_ISSUES else 1
    for result in build_issues(todo, workspace, jobs=build_jobs, stages=stages):
        problems.extend(result.problems)
        if result.artifact is not None:
            artifact = result.artifact
            copies = tuple((r.original, r.width) for r in artifact.rewrites.images if r.width)
            page = Page.of(artifact.issue, artifact.display, keys[result.source], copies)
            ready[result.source] = page
    cache.remember({os.path.abspath(path): ready[path] for path in files if path in ready})
    pages: list[Page] = []
    left_out: dict[str, str] = {}
    slugs: dict[str, str] = {}
    for path in sorted(ready):
        page = ready[path]
        slug = page.slug
        if slug in slugs:
            clash = f"slug '{slug}' is also built from {slugs[slug]}; rename one"
            problems.append(Problem(page.display, "slug", clash))
            continue
        slugs[slug] = page.display
        reason = None if drafts else published(page, day)
        if reason:
            left_out[page.display] = reason
        else:
            pages.append(page)
    if problems:
        raise ProblemsError(problems)
    maker = SiteMaker(pages, workspace, reuse=cache.reuse, entries=cache.entries)
    stale = maker.stale()
    made = maker.files(_render(maker, stale, jobs))
    return SiteBuild(made, pages, left_out, len(stale), cache)


def write_site(folder: Path, site: SiteBuild) -> None:
    """Replace ``folder`` with the site, and remember what it holds for the next build."""
    # A file of the site is used again only when its hash is what the cache says, so one
    # lost in a crash is made again.
    unchanged = [name for name, made in site.made.items() if made.reused]
    replace_folder_keeping_spare(folder, site.files, unchanged=unchanged)
    site.cache.save(folder, site.made)


def build_site(
    workspace: Workspace,
    *,
    out: Path | None = None,
    drafts: bool = False,
    today: dt.date | None = None,
    jobs: int | None = None,
) -> SiteReport:
    """Build the site into ``out`` (default ``out/_site/``), replacing what was there."""
    folder = out or workspace.out_dir / SITE_FOLDER
    site = make_site(workspace, drafts=drafts, today=today, jobs=jobs, folder=folder)
    write_site(folder, site)
    urls = site_urls(workspace.settings)
    return SiteReport(
        folder=folder,
        base_url=urls.base,
        pages=[urls.page_file(p.slug) for p in site.pages],
        sizes={name: len(made.data) for name, made in site.made.items()},
        left_out=site.left_out,
        rendered=site.rendered,
    )


def _key(shared: str, path: Path) -> str:
    """The key of the issue file at ``path`` as it is before its build."""
    try:
        data = path.read_bytes()
    except OSError:  # the build itself says what is wrong with the file
        data = b"\0unreadable"
    return hashlib.sha256(shared.encode() + data).hexdigest()


def _render(maker: SiteMaker, stale: list[int], jobs: int | None) -> dict[int, Made]:
    """The ``stale`` issue pages, on ``jobs`` processes (default: every core) when there are
    many: the workers are forked with the maker, so no issue is sent to them."""
    jobs = jobs or os.cpu_count() or 1
    fork = "fork" in multiprocessing.get_all_start_methods()
    if jobs <= 1 or len(stale) < _PARALLEL_PAGES or not fork:
        return dict(zip(stale, maker.render(stale), strict=True))
    # The first page is made here, so the workers are forked with the web templates loaded.
    rendered: dict[int, Made] = {stale[0]: maker.page(stale[0])}
    chunks = [stale[1 + n :: jobs] for n in range(jobs)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_adopt, initargs=(maker,)
    ) as pool:
        for chunk, (made, problems) in zip(chunks, pool.map(_render_chunk, chunks), strict=True):
            rendered.update(zip(chunk, made, strict=True))
            maker.problems.extend(problems)
    return rendered


_worker_maker: SiteMaker | None = None


def _adopt(maker: SiteMaker) -> None:
    """A worker's start: the maker its parent forked it with."""
    global _worker_maker
    _worker_maker = maker


def _render_chunk(indices: list[int]) -> tuple[list[Made], list[Problem]]:
    assert _worker_maker is not None, "a page worker started without its maker"
    return _worker_maker.render(indices), _worker_maker.problems


class _Cache:
    """What the site last written to a folder was made from: each issue as loaded, each
    file's key, hash and the images it shows, and each feed entry."""

    VERSION = 3

    def __init__(self, workspace: Workspace, folder: Path) -> None:
        self.path = workspace.out_dir / CACHE_NAME
        self.folder = folder
        #: issue file (absolute) -> its page, as loaded from a file of that key
        self.issues: dict[str, Page] = {}
        #: page key -> its issue pickled (pickling a thousand issues anew takes a while)
        self._blobs: dict[str, bytes] = {}
        #: site file -> (key, sha256 of its bytes, images it shows)
        self.files: dict[str, tuple[str, str, tuple[tuple[str, int], ...]]] = {}
        #: page key -> its feed entry, which the site maker reads and adds to
        self.entries: dict[str, Entry] = {}
        self._saved: tuple[set[tuple[str, str]], int] = (set(), 0)

    @classmethod
    def load(cls, workspace: Workspace, folder: Path) -> _Cache:
        cache = cls(workspace, folder)
        try:
            with cache.path.open("rb") as stream:
                saved = pickle.load(stream)
            if saved["version"] == cls.VERSION and saved["folder"] == str(folder.resolve()):
                cache.issues = {
                    path: cache._page(*entry) for path, entry in saved["issues"].items()
                }
                cache.files, cache.entries = saved["files"], saved["entries"]
        except Exception:  # a cache that cannot be read is no cache: the site is made anew
            cache.issues, cache.files, cache.entries, cache._blobs = {}, {}, {}, {}
        cache._saved = (cache._issue_keys(), len(cache.entries))
        return cache

    def _page(
        self,
        display: str,
        slug: str,
        date: dt.date,
        draft: bool,
        key: str,
        copies: tuple[tuple[str, int], ...],
        blob: bytes,
    ) -> Page:
        """A page whose issue is unpickled when first asked for."""
        self._blobs[key] = blob
        load = functools.cache(functools.partial(_unpickle_issue, blob))
        return Page(display, slug, date, draft, load, key, copies)

    def _issue_keys(self) -> set[tuple[str, str]]:
        return {(path, page.key) for path, page in self.issues.items()}

    def page(self, path: Path, key: str) -> Page | None:
        """The issue at ``path`` as loaded last time, if its key is ``key``."""
        page = self.issues.get(os.path.abspath(path))
        return page if page is not None and page.key == key else None

    def remember(self, issues: dict[str, Page]) -> None:
        """Keep ``issues`` (and only those) for the next build."""
        self.issues = issues
        keys = {page.key for page in issues.values()}
        self.entries = {key: entry for key, entry in self.entries.items() if key in keys}

    def reuse(self, file: str, key: str) -> Made | None:
        """The previous site's ``file``, if it was made from ``key`` and is unchanged."""
        entry = self.files.get(file)
        if entry is None or entry[0] != key:
            return None
        try:
            data = (self.folder / file).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != entry[1]:
            return None
        return Made(data, key, entry[2], reused=True)

    def _blob(self, page: Page) -> bytes:
        if page.key not in self._blobs:
            self._blobs[page.key] = pickle.dumps(page.issue, protocol=pickle.HIGHEST_PROTOCOL)
        return self._blobs[page.key]

    def save(self, folder: Path, made: Mapping[str, Made]) -> None:
        """Remember ``made``, the files just written to ``folder`` (the file is rewritten only
        when something changed)."""
        files = {
            name: (m.key, hashlib.sha256(m.data).hexdigest(), m.images)
            for name, m in made.items()
            if m.key
        }
        same = files == self.files and folder == self.folder
        if same and self._saved == (self._issue_keys(), len(self.entries)):
            return
        saved = {
            "version": self.VERSION,
            "folder": str(folder.resolve()),
            "issues": {
                path: (p.display, p.slug, p.date, p.draft, p.key, p.email_copies, self._blob(p))
                for path, p in self.issues.items()
            },
            "files": files,
            "entries": self.entries,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(self.path, pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL))


def _unpickle_issue(blob: bytes) -> Issue:
    issue: Issue = pickle.loads(blob)
    return issue
