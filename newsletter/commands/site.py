"""``newsletter site``: the web archive of every issue, built into one folder swapped in whole.

Every issue file is built by :func:`~newsletter.pipeline.stages.build_issue`, as for ``build``
(so a page shows exactly the issue the email was made from); the web target makes the files
in memory; :func:`~newsletter.commands.output.replace_folder` swaps the folder in at once, so a
site with a problem anywhere writes nothing and the previous site stays as it was.

Drafts (``draft: true``) and issues dated after today are left out unless asked for: they can
be previewed and built, but a published archive must not show them before their day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.commands.build import build_issues
from newsletter.commands.output import replace_folder
from newsletter.errors import Problem, ProblemsError
from newsletter.model.artifact import Artifact
from newsletter.model.site import SITE_FOLDER
from newsletter.model.workspace import Workspace
from newsletter.targets.web import site_files, site_urls

__all__ = ["SiteReport", "build_site", "make_site", "published"]


@dataclass(frozen=True)
class SiteReport:
    """What ``site`` made: where, its files' sizes, and which issues it left out and why."""

    folder: Path
    base_url: str
    pages: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    #: issue file (as the editor names it) -> why it is not in the site ("draft", "dated ...")
    left_out: dict[str, str] = field(default_factory=dict)


def published(artifact: Artifact, today: dt.date) -> str | None:
    """Why an issue stays out of the published site (``None``: it goes in)."""
    if artifact.issue.draft:
        return "draft"
    if artifact.issue.date > today:
        return f"dated {artifact.issue.date.isoformat()}, after today"
    return None


def make_site(
    workspace: Workspace,
    *,
    drafts: bool = False,
    today: dt.date | None = None,
    paths: Sequence[Path] | None = None,
    jobs: int | None = None,
) -> tuple[dict[str, bytes], list[Artifact], dict[str, str]]:
    """The site's files in memory, the issues in it, and those left out (with why).

    Raises :class:`ProblemsError` with every problem of every issue: a site is never made
    from some of the issues when others are broken.
    """
    site_urls(workspace.settings)  # a setting that cannot make a site fails before any build
    day = today or dt.date.today()
    files = workspace.issue_files() if paths is None else list(paths)
    results = sorted(build_issues(files, workspace, jobs=jobs), key=lambda r: r.source)
    problems: list[Problem] = [p for r in results for p in r.problems]
    artifacts: list[Artifact] = []
    left_out: dict[str, str] = {}
    slugs: dict[str, str] = {}
    for result in results:
        artifact = result.artifact
        if artifact is None:
            continue
        if artifact.slug in slugs:
            clash = f"slug '{artifact.slug}' is also built from {slugs[artifact.slug]}; rename one"
            problems.append(Problem(artifact.display, "slug", clash))
            continue
        slugs[artifact.slug] = artifact.display
        reason = None if drafts else published(artifact, day)
        if reason:
            left_out[artifact.display] = reason
        else:
            artifacts.append(artifact)
    if problems:
        raise ProblemsError(problems)
    return site_files(artifacts, workspace), artifacts, left_out


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
    files, artifacts, left_out = make_site(workspace, drafts=drafts, today=today, jobs=jobs)
    replace_folder(folder, files)
    urls = site_urls(workspace.settings)
    return SiteReport(
        folder=folder,
        base_url=urls.base,
        pages=[urls.page_file(a.slug) for a in artifacts],
        sizes={name: len(data) for name, data in files.items()},
        left_out=left_out,
    )
