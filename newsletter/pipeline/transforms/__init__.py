"""The HTML steps after MJML, each its own small function, usable on its own.

Each takes HTML and its typed options and returns HTML (with a record of what it rewrote,
where it rewrites something), and returns its input unchanged when it has nothing to do. Their
order and their switches in ``[transforms]`` are the pipeline's (:data:`newsletter.pipeline.
stages.STAGES`): ``inline`` runs last so that what it parses is the final markup.
"""

from __future__ import annotations

from newsletter.pipeline.transforms.assets import absolute_assets
from newsletter.pipeline.transforms.inline import inline_css
from newsletter.pipeline.transforms.utm import add_utm

__all__ = ["absolute_assets", "add_utm", "inline_css"]
