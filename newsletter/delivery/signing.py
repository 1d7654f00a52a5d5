"""DKIM signatures (dkimpy), for sends through a server that does not sign for the domain.

The signature covers the headers a mailbox provider judges a newsletter by (From, To,
Subject, Date, Message-ID, List-Unsubscribe, List-Unsubscribe-Post, and the MIME headers),
with relaxed canonicalisation, which survives the refolding some relays do.
"""

from __future__ import annotations

from pathlib import Path

import dkim

from newsletter.errors import NewsletterError
from newsletter.mail.message import Signer
from newsletter.model.settings import Settings

__all__ = ["SIGNED_HEADERS", "dkim_signer"]

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
)


def dkim_signer(settings: Settings, root: Path) -> Signer | None:
    """The signer ``[send]`` asks for (``dkim_key_file`` and ``dkim_selector``), or None."""
    send = settings.send
    if not send.dkim_key_file:
        return None
    if not send.dkim_selector:
        raise NewsletterError("newsletter.toml: send.dkim_selector: needed with dkim_key_file")
    path = root / send.dkim_key_file
    try:
        key = path.read_bytes()
    except OSError as error:
        raise NewsletterError(
            f"newsletter.toml: send.dkim_key_file: cannot read {path}: {error.strerror}"
        ) from None
    domain = (send.dkim_domain or settings.newsletter.from_email.rpartition("@")[2]).encode()
    selector = send.dkim_selector.encode()
    try:  # sign once now, so that a bad key is one clear error before anything is sent
        dkim.sign(b"From: a@b.c\r\n\r\n", selector, domain, key, include_headers=[b"from"])
    except dkim.DKIMException as error:
        raise NewsletterError(f"newsletter.toml: send.dkim_key_file: {path}: {error}") from None

    def sign(message: bytes) -> bytes:
        present = message.split(b"\r\n\r\n", 1)[0].lower()
        headers = [
            h
            for h in SIGNED_HEADERS
            if present.startswith(h + b":") or b"\r\n" + h + b":" in present
        ]
        signature: bytes = dkim.sign(
            message,
            selector,
            domain,
            key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=headers,
        )
        return signature + message

    return sign
