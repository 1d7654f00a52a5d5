"""Placeholder content: what a skeleton writes and an editor must replace before sending.

``newsletter new`` and ``init`` write these texts and reserved example domains (RFC 2606 and
RFC 6761) on purpose, so that a fresh issue builds as it is; the ``placeholder`` check finds
them again in the finished email, so that none reaches a subscriber.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["SKELETON_TEXTS", "is_reserved_domain", "reserved_host"]

#: Sentences of the issue skeleton an editor is meant to overwrite.
SKELETON_TEXTS = (
    "One sentence that inboxes show after the subject.",
    "Write the story here, in Markdown.",
    "A second paragraph, with",
    "A second story worth a click",
    "Two sentences that make a reader want the rest.",
    "123 Example Street",
)

_RESERVED_NAMES = ("example.com", "example.net", "example.org")
_RESERVED_TOPS = ("example", "test", "invalid", "localhost")


def is_reserved_domain(host: str) -> bool:
    """Whether ``host`` is a domain reserved for examples and tests, which nobody can reach."""
    host = host.lower().rstrip(".")
    if any(host == name or host.endswith("." + name) for name in _RESERVED_NAMES):
        return True
    return host.rpartition(".")[2] in _RESERVED_TOPS


def reserved_host(url: str) -> str | None:
    """The reserved host of an http(s) or mailto URL or an email address, if it has one."""
    if "@" in url and "://" not in url:
        host = url.rpartition("@")[2].split("?")[0]
    else:
        host = urlsplit(url).hostname or ""
    return host if host and is_reserved_domain(host) else None
