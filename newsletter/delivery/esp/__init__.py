"""Bulk transports, one module per ESP (:mod:`.ses`, :mod:`.postmark`), made by name."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from newsletter.delivery.transport import BatchTransport
from newsletter.model.artifact import Artifact
from newsletter.model.settings import Settings

__all__ = ["VIAS", "transport"]

#: The ESPs ``send --list --via`` sends through.
VIAS = ("ses", "postmark")


def transport(
    via: str, artifact: Artifact, settings: Settings, root: Path, environ: Mapping[str, str]
) -> BatchTransport:
    """The transport of ``via`` for this issue of the workspace at ``root``, its credentials
    read from ``environ``."""
    if via == "ses":
        from newsletter.delivery.esp.ses import SesTransport

        return SesTransport(artifact, settings)
    from newsletter.delivery.esp.postmark import PostmarkTransport

    return PostmarkTransport(artifact, settings, root, environ)
