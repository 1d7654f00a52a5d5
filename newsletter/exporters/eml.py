"""A complete RFC 5322 message, merge fields filled with ``[send.sample]``: for ESPs and tools
that import a message file, and for a look at the finished email in any mail client."""

from __future__ import annotations

from ..message import build_message, merge_values
from ..pipeline import Email
from . import ExportContext

__all__ = ["export"]


def export(email: Email, context: ExportContext) -> dict[str, bytes]:
    """``message.eml``, addressed to the sample subscriber."""
    settings = context.settings
    sample = settings.send.sample
    message = build_message(
        email,
        settings,
        to=sample.get("email", "subscriber@example.com"),
        values=merge_values(settings, email.slug, sample),
        date=context.now,
    )
    return {"message.eml": message.as_bytes()}
