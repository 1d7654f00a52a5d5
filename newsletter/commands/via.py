"""List sends through an ESP's bulk API (``send --list --via NAME``): the transport, and the
batches run behind the same journal and report as an SMTP send."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from newsletter.delivery.batches import deliver_batches
from newsletter.delivery.esp import transport
from newsletter.delivery.journal import Journal
from newsletter.delivery.send import Delivery, Outcome, Report
from newsletter.delivery.transport import BatchTransport
from newsletter.errors import NewsletterError
from newsletter.model.artifact import Artifact
from newsletter.model.workspace import Workspace

__all__ = ["esp_transport", "send_via"]


def esp_transport(
    via: str, artifact: Artifact, workspace: Workspace, environ: Mapping[str, str] = os.environ
) -> BatchTransport:
    """The transport of ``via``, made (credentials read) before the journal is opened."""
    return transport(via, artifact, workspace.settings, workspace.root, environ)


def send_via(
    workspace: Workspace,
    deliveries: Iterable[Delivery],
    sender: BatchTransport,
    *,
    journal: Journal,
    issue: str,
    on_outcome: Callable[[Outcome], None],
) -> Report:
    """Send ``deliveries`` in the ESP's batches; the ESP's refusal or an interruption is
    raised after the send stopped, as for SMTP."""
    esp = workspace.settings.esp
    report = deliver_batches(
        deliveries,
        sender,
        issue=issue,
        journal=journal,
        rate=esp.rate,
        retries=esp.retries,
        retry_delay=esp.retry_delay,
        on_outcome=on_outcome,
    )
    if report.error is not None:
        if isinstance(report.error, NewsletterError):
            raise report.error
        raise NewsletterError(f"the send stopped: {report.error}")
    if report.interrupted:
        raise NewsletterError("interrupted; run the same command again to resume")
    return report
