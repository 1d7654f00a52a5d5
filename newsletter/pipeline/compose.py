"""``compose(issue, workspace) -> Email``: the whole pipeline from a validated issue to an email.

render (Jinja2 → MJML) → compile (MJML → HTML) → transforms (assets, UTM, inlining) → plain
text. Each stage is timed, so ``meta.json`` and the benchmark can say where the time goes. Build,
preview, check, export and send all start from this one function: there is no second renderer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from time import perf_counter

from newsletter.errors import NewsletterError
from newsletter.model import mergefields
from newsletter.model.issue import Issue
from newsletter.model.settings import Settings
from newsletter.pipeline import transforms
from newsletter.pipeline.compile import compile_mjml
from newsletter.pipeline.render import HTML_TEMPLATE, TEXT_TEMPLATE, render
from newsletter.workspace import Workspace

__all__ = ["Email", "compose"]


@dataclass(frozen=True)
class Email:
    """A finished email, still holding ESP-neutral merge fields (``%%first_name|there%%``)."""

    slug: str
    subject: str
    preheader: str
    html: str
    text: str
    mjml: str
    lang: str
    timings: Mapping[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def compose(
    issue: Issue,
    workspace: Workspace,
    *,
    timings: dict[str, float] | None = None,
    asset_base_url: str | None = None,
) -> Email:
    """Turn ``issue`` into an :class:`Email` with ``workspace``'s theme and settings.

    ``timings`` (milliseconds per stage) is filled in when given, and copied into the email.
    ``asset_base_url`` replaces ``[newsletter] asset_base_url`` for the assets step only: the
    preview links local images to its own server, since the published URL is not reachable
    offline. Everything else, warnings included, is what ``build`` makes.
    """
    timings = {} if timings is None else timings
    settings = workspace.settings
    themes = workspace.theme_dirs

    started = perf_counter()
    mjml = render(HTML_TEMPLATE, issue, settings, themes)
    timings["render"] = _ms(started)

    started = perf_counter()
    html = compile_mjml(mjml, template=HTML_TEMPLATE)
    timings["compile"] = _ms(started)

    values = {"slug": issue.slug, "date": issue.date.isoformat()}
    html = transforms.apply(html, _with_asset_base(settings, asset_base_url), values, timings)

    started = perf_counter()
    text = render(TEXT_TEMPLATE, issue, settings, themes)
    timings["text"] = _ms(started)

    for template, output in ((HTML_TEMPLATE, html), (TEXT_TEMPLATE, text)):
        unknown = mergefields.unknown(output)
        if unknown:
            names = ", ".join(f"%%{name}%%" for name in sorted(set(unknown)))
            raise NewsletterError(
                f"{template}: unknown merge field {names} (known: {', '.join(mergefields.FIELDS)})"
            )

    return Email(
        slug=issue.slug,
        subject=issue.subject,
        preheader=issue.preheader,
        html=html,
        text=text,
        mjml=mjml,
        lang=issue.lang or settings.newsletter.lang,
        timings=timings,
        warnings=tuple(_warnings(issue, workspace)),
    )


def _with_asset_base(settings: Settings, asset_base_url: str | None) -> Settings:
    if asset_base_url is None:
        return settings
    newsletter = settings.newsletter.model_copy(update={"asset_base_url": asset_base_url})
    return settings.model_copy(update={"newsletter": newsletter})


def _ms(started: float) -> float:
    return (perf_counter() - started) * 1000


def _warnings(issue: Issue, workspace: Workspace) -> list[str]:
    """What the build should tell the editor even though the email was made."""
    images = [issue.lead.image, *(t.image for t in issue.teasers)]
    local = [i.src for i in images if i is not None and "://" not in i.src]
    settings = workspace.settings
    if local and not (settings.newsletter.asset_base_url and settings.transforms.assets):
        return [
            f"{len(local)} local image(s) are linked as relative paths ({local[0]} ...): "
            "set [newsletter] asset_base_url to where assets/ is published"
        ]
    return []
