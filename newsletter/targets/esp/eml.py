"""A complete RFC 5322 message, merge fields filled with ``[send.sample]``: for ESPs and tools
that import a message file, and for a look at the finished email in any mail client."""

from __future__ import annotations

from newsletter.mail.message import sample_message
from newsletter.pipeline.compose import Email
from newsletter.targets.esp import ExportContext

__all__ = ["export"]


def export(email: Email, context: ExportContext) -> dict[str, bytes]:
    """``message.eml``, addressed to the sample subscriber."""
    return {"message.eml": sample_message(email, context.settings, date=context.now)}
