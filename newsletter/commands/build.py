"""``newsletter build``: issue files in, ``out/<slug>/`` out, written so that a failure leaves
the previous output as it was.

Everything is composed in memory first; only a complete set of files is written, each one to a
temporary name and then renamed over the old one. Many issues are built on all cores, since a
build is CPU-bound (MJML, CSS inlining) and issues are independent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.mail.message import headers, sample_message
from newsletter.pipeline.checks import Finding, run_checks
from newsletter.pipeline.compose import Email, compose
from newsletter.pipeline.load import load_issue
from newsletter.workspace import Workspace

_UMASK = os.umask(0)
os.umask(_UMASK)

__all__ = ["BuildResult", "build_issue", "build_issues", "output_files", "write_atomically"]


@dataclass(frozen=True)
class BuildResult:
    """What building one issue file gave: an email and its files, or the problems in the way."""

    source: Path
    slug: str = ""
    email: Email | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return self.email is not None

    def meta(self) -> dict[str, object]:
        """The JSON summary of this build (also written as ``meta.json``)."""
        return json.loads(self.files["meta.json"]) if "meta.json" in self.files else {}


def output_files(
    email: Email,
    *,
    eml: bytes,
    timings: Mapping[str, float],
    source: str,
    now: dt.datetime,
    findings: Sequence[Finding] = (),
) -> dict[str, bytes]:
    """The files of ``out/<slug>/`` for ``email`` and its sample message ``eml``, as bytes;
    ``timings`` are the milliseconds of each stage that made them."""
    files = {
        "email.html": email.html.encode(),
        "email.txt": email.text.encode(),
        "email.mjml": email.mjml.encode(),
        "message.eml": eml,
    }
    meta = {
        "slug": email.slug,
        "source": source,
        "subject": email.subject,
        "preheader": email.preheader,
        "built_at": now.isoformat(timespec="seconds"),
        "sizes": {name: len(data) for name, data in files.items()},
        "timings_ms": {stage: round(ms, 2) for stage, ms in timings.items()},
        "warnings": list(email.warnings),
        "findings": [finding.to_dict() for finding in findings],
    }
    files["meta.json"] = (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode()
    return files


def build_issue(
    path: Path,
    workspace: Workspace,
    *,
    now: dt.datetime | None = None,
    asset_base_url: str | None = None,
) -> BuildResult:
    """Load, compose and render the files of one issue, writing nothing.

    ``asset_base_url`` (the preview's own server) replaces the setting for local images; see
    :func:`~newsletter.pipeline.compose`.
    """
    now = now or dt.datetime.now(dt.UTC)
    timings: dict[str, float] = {}
    try:
        started = perf_counter()
        issue = load_issue(path, workspace.root, display=workspace.display(path))
        timings["load"] = (perf_counter() - started) * 1000
        email = compose(issue, workspace, timings=timings, asset_base_url=asset_base_url)
        started = perf_counter()
        eml = sample_message(email, workspace.settings, date=now)
        timings["eml"] = (perf_counter() - started) * 1000
        started = perf_counter()
        findings = run_checks(email, issue, workspace, message=headers(eml))
        timings["check"] = (perf_counter() - started) * 1000
        files = output_files(
            email,
            eml=eml,
            timings=timings,
            source=workspace.display(path),
            now=now,
            findings=findings,
        )
    except ProblemsError as error:
        return BuildResult(path, problems=error.problems)
    except NewsletterError as error:
        problem = Problem(workspace.display(path), "", error.format_message())
        return BuildResult(path, problems=(problem,))
    return BuildResult(path, slug=email.slug, email=email, files=files, findings=tuple(findings))


def build_issues(
    paths: Sequence[Path], workspace: Workspace, *, jobs: int | None = None
) -> Iterator[BuildResult]:
    """Build ``paths``, on ``jobs`` processes (default: every core when there are several
    issues), yielding each result as it is ready."""
    now = dt.datetime.now(dt.UTC)
    jobs = jobs or (min(os.cpu_count() or 1, len(paths)) if len(paths) >= 4 else 1)
    if jobs <= 1:
        for path in paths:
            yield build_issue(path, workspace, now=now)
        return
    import multiprocessing

    from newsletter.pipeline.transforms import inline_css

    inline_css("<p></p>", engine=workspace.settings.transforms.inliner)  # import once, then fork
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(build_issue, path, workspace, now=now) for path in paths]
        for future in as_completed(futures):
            yield future.result()


def write_atomically(folder: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` into ``folder``, each replacing its old version only once complete."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for name, data in files.items():
            handle, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            temp = Path(temp_name)
            staged.append((name, temp))
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            temp.chmod(0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are ordinary files
        for name, temp in staged:
            os.replace(temp, folder / name)
    finally:
        for _, temp in staged:
            temp.unlink(missing_ok=True)
