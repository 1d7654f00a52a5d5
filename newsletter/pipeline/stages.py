"""The pipeline: an issue file becomes an :class:`~newsletter.model.artifact.Artifact`.

The order of the stages is data, :data:`STAGES`; each stage is a function from the
:class:`Draft` so far to the next one, named, timed in one place (:func:`run`) and switchable
where ``newsletter.toml`` has a key for it. Stages never call each other, so turning one off
leaves the others as they were.

| stage | switched by | default | what it does |
|---|---|---|---|
| ``load`` | | on | reads and validates the issue file |
| ``render`` | | on | Jinja2 theme → MJML |
| ``compile`` | | on | MJML → HTML (mjml-python) |
| ``assets`` | ``[transforms] assets`` | on | local image paths → URLs under ``asset_base_url`` |
| ``utm`` | ``[transforms] utm`` | on | ``[newsletter.utm]`` parameters on content links |
| ``inline`` | ``[transforms] inline`` | on | the theme's CSS copied into ``style`` attributes |
| ``text`` | | on | the plain-text part from ``email.txt.j2`` |
| ``merge-fields`` | | on | refuses a merge field the theme wrote that does not exist |
| ``eml`` | | on | the sample subscriber's RFC 5322 message |
| ``check`` | | on | the pre-send review's findings |

``build``, ``check``, ``preview``, ``export`` and ``send`` all run :func:`build_issue`: there
is no second renderer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import field, replace
from pathlib import Path
from time import perf_counter

from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.mail.message import sample_message
from newsletter.model import mergefields
from newsletter.model.artifact import Artifact, BuildResult, Rewrites
from newsletter.model.email import Email
from newsletter.model.findings import Finding
from newsletter.model.issue import Issue
from newsletter.model.settings import Settings
from newsletter.model.site import has_site
from newsletter.model.workspace import Workspace
from newsletter.pipeline.compile import compile_mjml
from newsletter.pipeline.load import load_issue
from newsletter.pipeline.render import HTML_TEMPLATE, TEXT_TEMPLATE, render
from newsletter.pipeline.transforms import absolute_assets, add_utm, inline_css
from newsletter.record import Record

__all__ = ["STAGES", "UNCHECKED", "Draft", "Stage", "build_issue", "compose", "run"]


class Draft(Record):
    """What the stages have made of one issue so far; each stage returns a new one."""

    source: Path
    display: str
    workspace: Workspace
    built_at: dt.datetime
    asset_base_url: str | None = None
    issue: Issue | None = None
    mjml: str = ""
    html: str = ""
    text: str = ""
    rewrites: Rewrites = field(default_factory=Rewrites)
    message: bytes = b""
    findings: tuple[Finding, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def the_issue(self) -> Issue:
        """The loaded issue (every stage after ``load`` has one)."""
        assert self.issue is not None, "a stage ran before load"
        return self.issue

    def email(self) -> Email:
        issue = self.the_issue
        return Email(
            slug=issue.slug,
            subject=issue.subject,
            preheader=issue.preheader,
            html=self.html,
            text=self.text,
            mjml=self.mjml,
            lang=issue.lang or self.settings.newsletter.lang,
        )

    def artifact(self) -> Artifact:
        return Artifact(
            source=self.source,
            display=self.display,
            issue=self.the_issue,
            email=self.email(),
            message=self.message,
            built_at=self.built_at,
            findings=self.findings,
            timings=dict(self.timings),
            rewrites=self.rewrites,
        )


class Stage(Record):
    """A named step of the pipeline, and the setting that switches it (``None``: always on)."""

    name: str
    run: Callable[[Draft], Draft]
    setting: str | None = None

    def enabled(self, settings: Settings) -> bool:
        if self.setting is None:
            return True
        table, key = self.setting.split(".")
        return bool(getattr(getattr(settings, table), key))


def _load(draft: Draft) -> Draft:
    issue = load_issue(draft.source, draft.workspace.root, display=draft.display)
    return replace(draft, issue=issue)


def _render(draft: Draft) -> Draft:
    theme = draft.workspace.theme
    root = draft.workspace.root
    mjml = render(HTML_TEMPLATE, draft.the_issue, draft.settings, theme, root=root)
    return replace(draft, mjml=mjml)


def _compile(draft: Draft) -> Draft:
    return replace(draft, html=compile_mjml(draft.mjml, template=HTML_TEMPLATE))


def _assets(draft: Draft) -> Draft:
    base = draft.asset_base_url or draft.settings.newsletter.asset_base_url
    if not base:
        return draft
    # The preview serves the originals itself; under asset_base_url, the copies are there
    # when the workspace's site is: `newsletter site` makes every copy the email links.
    resized = draft.asset_base_url is None and has_site(draft.settings)
    html, images = absolute_assets(draft.html, base, draft.workspace.root, resized=resized)
    return replace(draft, html=html, rewrites=draft.rewrites + Rewrites(images=images))


def _utm(draft: Draft) -> Draft:
    issue = draft.the_issue
    values = {"slug": issue.slug, "date": issue.date.isoformat()}
    params = {key: value.format_map(values) for key, value in draft.settings.newsletter.utm.items()}
    html, links = add_utm(draft.html, params)
    return replace(draft, html=html, rewrites=draft.rewrites + Rewrites(links=links))


def _inline(draft: Draft) -> Draft:
    return replace(draft, html=inline_css(draft.html, engine=draft.settings.transforms.inliner))


def _text(draft: Draft) -> Draft:
    theme = draft.workspace.theme
    return replace(draft, text=render(TEXT_TEMPLATE, draft.the_issue, draft.settings, theme))


def _merge_fields(draft: Draft) -> Draft:
    """The issue's own merge fields were checked when it was loaded; what is left to check is
    what the theme wrote."""
    for template, output in ((HTML_TEMPLATE, draft.html), (TEXT_TEMPLATE, draft.text)):
        unknown = mergefields.unknown(output)
        if unknown:
            names = ", ".join(f"%%{name}%%" for name in sorted(set(unknown)))
            raise NewsletterError(
                f"{template}: unknown merge field {names} (known: {', '.join(mergefields.FIELDS)})"
            )
    return draft


def _eml(draft: Draft) -> Draft:
    message = sample_message(draft.email(), draft.settings, date=draft.built_at)
    return replace(draft, message=message)


def _checks(draft: Draft) -> Draft:
    # Imported here so that what runs no checks (``newsletter site``, :func:`compose`) never
    # loads them.
    from newsletter.pipeline.checks import run_checks

    findings = run_checks(draft.artifact(), draft.workspace)  # its own message's headers
    # What the loader found allowed but probably not meant (an empty field, a date unlike
    # the file name's) is reviewed with the rest, at the place it was written.
    loaded = [
        Finding(
            "issue-file",
            "warning",
            p.message,
            f"{p.file}:{p.line}: {p.field}" if p.line else p.file,
        )
        for p in draft.the_issue.warnings
    ]
    return replace(draft, findings=(*loaded, *findings))


#: The stages in the order they run.
STAGES: tuple[Stage, ...] = (
    Stage("load", _load),
    Stage("render", _render),
    Stage("compile", _compile),
    Stage("assets", _assets, "transforms.assets"),
    Stage("utm", _utm, "transforms.utm"),
    Stage("inline", _inline, "transforms.inline"),
    Stage("text", _text),
    Stage("merge-fields", _merge_fields),
    Stage("eml", _eml),
    Stage("check", _checks),
)


#: The names of every stage but the checks: a build that was not asked to check (``newsletter
#: build`` without ``--check``), and what the checks are timed against.
UNCHECKED = tuple(stage.name for stage in STAGES if stage.name != "check")


def run(draft: Draft, stages: tuple[Stage, ...] = STAGES) -> Draft:
    """Run the enabled ``stages`` in order, timing each (milliseconds, in ``draft.timings``)."""
    for stage in stages:
        if not stage.enabled(draft.settings):
            continue
        started = perf_counter()
        draft = stage.run(draft)
        draft.timings[stage.name] = (perf_counter() - started) * 1000
    return draft


def build_issue(
    path: Path,
    workspace: Workspace,
    *,
    now: dt.datetime | None = None,
    asset_base_url: str | None = None,
    stages: Collection[str] | None = None,
) -> BuildResult:
    """Build one issue file into an artifact in memory, writing nothing.

    ``asset_base_url`` replaces ``[newsletter] asset_base_url`` for the assets stage only: the
    preview links local images to its own server. ``stages`` names the only stages to run
    (``newsletter site`` needs no inlining, checks or message). A problem in the editor's
    files comes back in the result, never as an exception.
    """
    draft = Draft(
        source=path,
        display=workspace.display(path),
        workspace=workspace,
        built_at=now or dt.datetime.now(dt.UTC),
        asset_base_url=asset_base_url,
    )
    try:
        chosen = STAGES if stages is None else tuple(s for s in STAGES if s.name in stages)
        return BuildResult(path, artifact=run(draft, chosen).artifact())
    except ProblemsError as error:
        return BuildResult(path, problems=error.problems)
    except NewsletterError as error:
        problem = Problem(workspace.display(path), "", error.format_message())
        return BuildResult(path, problems=(problem,))


def compose(issue: Issue, workspace: Workspace) -> Email:
    """The email of an already loaded ``issue``: the stages from ``render`` to ``merge-fields``."""
    source = issue.source or workspace.issues_dir / f"{issue.slug}.yaml"
    draft = Draft(source, workspace.display(source), workspace, dt.datetime.now(dt.UTC))
    middle = tuple(s for s in STAGES if s.name not in ("load", "eml", "check"))
    return run(replace(draft, issue=issue), middle).email()
