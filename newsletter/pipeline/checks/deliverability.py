"""Headers that mailbox providers require of bulk mail (Gmail and Yahoo since February 2024):
a From address that can pass DMARC, and one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parseaddr
from functools import lru_cache

from newsletter.pipeline.checks.context import Context, Hit

__all__ = ["from_address", "list_unsubscribe", "one_click", "unsubscribe_secret"]

#: Mailbox providers whose DMARC policy rejects mail sent in their name from elsewhere.
FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "ymail.com",
        "aol.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "gmx.com",
        "gmx.de",
        "web.de",
        "proton.me",
        "protonmail.com",
    }
)
_URL = re.compile(r"<([^>]*)>")


def _config(key: str) -> str:
    return f"newsletter.toml: {key}"


@lru_cache(maxsize=64)
def _address(header: str) -> str:
    """The address of a From header: the same for every issue of a workspace, so parsed once."""
    return parseaddr(header)[1]


def from_address(ctx: Context) -> Iterator[Hit]:
    """No From address, or one at a free mailbox provider (DMARC rejects it when sent from an
    ESP or this tool)."""
    address = _address(ctx.header("From"))
    if "@" not in address:
        yield Hit(
            "the message has no From address: set [newsletter] from_email",
            _config("newsletter.from_email"),
        )
        return
    domain = address.rpartition("@")[2].lower()
    if domain in FREE_MAIL:
        yield Hit(
            f"the From address {address} is at {domain}, whose DMARC policy makes providers "
            "reject or bin mail sent from anywhere else: send from your own domain",
            _config("newsletter.from_email"),
        )


def list_unsubscribe(ctx: Context) -> Iterator[Hit]:
    """No ``List-Unsubscribe`` header: Gmail and Yahoo require it of bulk senders."""
    if not ctx.header("List-Unsubscribe"):
        yield Hit(
            "the message has no List-Unsubscribe header: set [send] unsubscribe_url "
            "(and unsubscribe_mailto)",
            _config("send.unsubscribe_url"),
        )


def one_click(ctx: Context) -> Iterator[Hit]:
    """``List-Unsubscribe`` without RFC 8058 one-click (an https URL and
    ``List-Unsubscribe-Post``)."""
    header = ctx.header("List-Unsubscribe")
    if not header:
        return  # list-unsubscribe reports it
    https = any(url.startswith("https://") for url in _URL.findall(header))
    post = ctx.header("List-Unsubscribe-Post")
    if not https or post.replace(" ", "") != "List-Unsubscribe=One-Click":
        yield Hit(
            "List-Unsubscribe has no one-click https URL (RFC 8058): set [send] "
            "unsubscribe_url to an https:// address that unsubscribes on a POST",
            _config("send.unsubscribe_url"),
        )


def unsubscribe_secret(ctx: Context) -> Iterator[Hit]:
    """No ``[send] unsubscribe_secret_env``: a list send refuses to start without the secret
    that signs each unsubscribe link, since unsigned links let anyone unsubscribe anyone."""
    send = ctx.workspace.settings.send
    if send.unsubscribe_url and not send.unsubscribe_secret_env:
        yield Hit(
            "no secret signs the unsubscribe links, so a list send will refuse to start: set "
            "[send] unsubscribe_secret_env to the name of the environment variable that holds it",
            _config("send.unsubscribe_secret_env"),
        )
