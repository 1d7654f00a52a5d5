"""Placeholders: the skeleton's own sentences, and links or addresses at example domains.

A new workspace and a new issue build as they are because they are filled with placeholders;
this rule finds what is left of them, one finding per field of the issue (on its line) and one
for the settings. It warns in ``check`` and ``build``; a list send treats it as an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from newsletter.model.placeholders import SKELETON_TEXTS, reserved_host
from newsletter.pipeline.checks.context import Context, Hit, origin

__all__ = ["placeholder"]


#: A host's reserved domain, once per host (an http(s) URL's depends on its host alone): the
#: settings' are the same for every issue, and the issue's links share a few hosts.
_reserved_host = lru_cache(maxsize=1024)(reserved_host)


def placeholder(ctx: Context) -> Iterator[Hit]:
    """Placeholder text from the skeleton, and links, addresses and settings at reserved
    example domains (example.com, .test ...), which nobody can reach."""
    fields: dict[tuple[str | int, ...], list[str]] = {}
    for loc, value in ctx.issue_strings:
        for text in SKELETON_TEXTS:
            if text in value:
                fields.setdefault(loc, []).append(f"the skeleton's {text!r}")
    for url, loc in ctx.content_urls.items():
        host = _reserved_host(origin(url))
        if host:
            fields.setdefault(loc, []).append(f"a link to {host}")
    for loc, what in sorted(fields.items(), key=lambda item: ctx.issue.line_of(*item[0]) or 0):
        yield Hit(f"{' and '.join(what)}: replace the placeholder", ctx.at_field(*loc))
    nl, send = ctx.workspace.settings.newsletter, ctx.workspace.settings.send
    settings = {
        "from_email": nl.from_email,
        "site_url": nl.site_url,
        "web_version_url": nl.web_version_url or "",
        "asset_base_url": nl.asset_base_url or "",
        "unsubscribe_url": send.unsubscribe_url or "",
        "unsubscribe_mailto": send.unsubscribe_mailto or "",
    }
    keys = [key for key, value in settings.items() if _reserved_host(origin(value))]
    keys += ["postal_address"] if any(t in nl.postal_address for t in SKELETON_TEXTS) else []
    if keys:
        yield Hit(
            f"{', '.join(keys)} still hold{'s' if len(keys) == 1 else ''} the placeholders "
            "of a new workspace (example domains, '123 Example Street'): set your own",
            "newsletter.toml",
        )
