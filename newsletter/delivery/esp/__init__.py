"""Bulk transports, one module per ESP, made by name."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from newsletter.delivery.transport import BatchTransport
from newsletter.model.artifact import Artifact
from newsletter.model.settings import Settings

__all__ = ["VIAS", "transport"]

#: The ESPs ``send --list --via`` sends through.
VIAS = ("ses", "sendgrid", "postmark", "mailgun")


def transport(
    via: str, artifact: Artifact, settings: Settings, root: Path, environ: Mapping[str, str]
) -> BatchTransport:
    """The transport of ``via`` for this issue of the workspace at ``root``, its credentials
    read from ``environ``."""
    if via == "ses":
        from newsletter.delivery.esp.ses import SesTransport

        return SesTransport(artifact, settings)
    if via == "sendgrid":
        from newsletter.delivery.esp.sendgrid import SendgridTransport

        return SendgridTransport(artifact, settings, root, environ)
    if via == "mailgun":
        from newsletter.delivery.esp.mailgun import MailgunTransport

        return MailgunTransport(artifact, settings, root, environ)
    from newsletter.delivery.esp.postmark import PostmarkTransport

    return PostmarkTransport(artifact, settings, root, environ)
