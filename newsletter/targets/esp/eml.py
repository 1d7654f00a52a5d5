"""A complete RFC 5322 message, merge fields filled with ``[send.sample]``: for ESPs and tools
that import a message file, and for a look at the finished email in any mail client."""

from __future__ import annotations

from newsletter.model.artifact import Artifact
from newsletter.targets.esp.base import ExportContext

__all__ = ["export"]


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``message.eml``, addressed to the sample subscriber: the message the build made."""
    return {"message.eml": artifact.message}
