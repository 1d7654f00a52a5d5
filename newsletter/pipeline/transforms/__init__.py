"""The HTML steps after MJML, in order, each its own small function and each switchable.

| step     | setting in ``[transforms]`` | default | what it does                                   |
|----------|-----------------------------|---------|------------------------------------------------|
| `assets` | ``assets``                  | on      | local image paths become URLs under ``asset_base_url`` |
| `utm`    | ``utm``                     | on      | ``[newsletter.utm]`` parameters on content links, ``utm_content`` naming the slot |
| `inline` | ``inline`` / ``inliner``    | on, premailer | the theme's CSS copied into style attributes; ``@media`` rules stay in ``<style>`` |

The order is data (:data:`STEPS`), and steps never call each other, so any one can be turned
off without the others noticing. Each step returns its input unchanged when it has nothing to
do. ``inline`` runs last so that what it parses is the final markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from newsletter.model.settings import Settings
from newsletter.pipeline.transforms.assets import absolute_assets
from newsletter.pipeline.transforms.inline import inline_css
from newsletter.pipeline.transforms.utm import add_utm

__all__ = ["STEPS", "Step", "absolute_assets", "add_utm", "apply", "inline_css"]


@dataclass(frozen=True)
class Step:
    """A named HTML step and how it reads its options from the settings."""

    name: str
    run: Callable[[str, Settings, dict[str, str]], str]
    enabled: Callable[[Settings], bool]


def _assets(html: str, settings: Settings, values: dict[str, str]) -> str:
    base = settings.newsletter.asset_base_url
    return absolute_assets(html, base) if base else html


def _utm(html: str, settings: Settings, values: dict[str, str]) -> str:
    params = {key: value.format_map(values) for key, value in settings.newsletter.utm.items()}
    return add_utm(html, params)


def _inline(html: str, settings: Settings, values: dict[str, str]) -> str:
    return inline_css(html, engine=settings.transforms.inliner)


STEPS: tuple[Step, ...] = (
    Step("assets", _assets, lambda s: s.transforms.assets),
    Step("utm", _utm, lambda s: s.transforms.utm and bool(s.newsletter.utm)),
    Step("inline", _inline, lambda s: s.transforms.inline),
)


def apply(
    html: str,
    settings: Settings,
    values: dict[str, str],
    timings: dict[str, float] | None = None,
) -> str:
    """Run the enabled steps in order; ``values`` fill ``{slug}`` and ``{date}`` in options.

    When ``timings`` is given, each step's duration in milliseconds is recorded under its name.
    """
    from time import perf_counter

    for step in STEPS:
        if not step.enabled(settings):
            continue
        started = perf_counter()
        html = step.run(html, settings, values)
        if timings is not None:
            timings[step.name] = (perf_counter() - started) * 1000
    return html
