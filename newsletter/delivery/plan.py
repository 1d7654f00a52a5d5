"""A send's setup from the workspace: who gets what, through which sender, journaled where.

The command line gathers its options and calls these; they read the environment only for the
SMTP password and the unsubscribe secret, whose variables ``[smtp] password_env`` and ``[send]
unsubscribe_secret_env`` name, and never put either in a message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from newsletter.delivery.recipients import Recipient
from newsletter.delivery.send import Delivery
from newsletter.delivery.smtp import Sender, SmtpSender
from newsletter.errors import NewsletterError
from newsletter.mail.values import merge_values
from newsletter.model import mergefields
from newsletter.model.settings import Settings
from newsletter.model.workspace import Workspace

__all__ = [
    "journal_path",
    "list_deliveries",
    "smtp_connector",
    "test_deliveries",
    "unsubscribe_secret",
]


def journal_path(workspace: Workspace) -> Path:
    """Where the workspace's send journal lives (``.newsletter/`` is git-ignored)."""
    return workspace.root / ".newsletter" / "sends.sqlite"


def smtp_connector(
    settings: Settings, environ: Mapping[str, str] = os.environ
) -> Callable[[], Sender]:
    """Makes one :class:`SmtpSender` per connection, with the password from the environment."""
    smtp = settings.smtp
    password: str | None = None
    if smtp.username:
        if not smtp.password_env:
            raise NewsletterError(
                "newsletter.toml: smtp.password_env: name the environment variable that holds "
                f"the password of {smtp.username!r}"
            )
        password = environ.get(smtp.password_env)
        if not password:
            raise NewsletterError(
                f"the environment variable {smtp.password_env} (smtp.password_env in "
                "newsletter.toml) is not set; set it to the SMTP password"
            )
    return lambda: SmtpSender(smtp, password)


def unsubscribe_secret(settings: Settings, environ: Mapping[str, str] = os.environ) -> str | None:
    """The secret that signs unsubscribe tokens, from the variable ``[send]
    unsubscribe_secret_env`` names; ``None`` when none is named."""
    name = settings.send.unsubscribe_secret_env
    if not name:
        return None
    secret = environ.get(name)
    if not secret:
        raise NewsletterError(
            f"the environment variable {name} (send.unsubscribe_secret_env in newsletter.toml) "
            "is not set; set it to the secret your unsubscribe page checks tokens with"
        )
    return secret


def test_deliveries(
    settings: Settings,
    slug: str,
    addresses: Sequence[str],
    data: Mapping[str, str],
    *,
    secret: str | None = None,
) -> list[Delivery]:
    """One message per address, merge fields from ``[send.sample]`` overridden by ``data``."""
    unknown = sorted(set(data) - set(mergefields.FIELDS))
    if unknown:
        raise NewsletterError(
            f"--data: unknown merge field {', '.join(unknown)} (known: {', '.join(mergefields.FIELDS)})"
        )
    subscriber = {**settings.send.sample, **data}
    values = merge_values(settings, slug, subscriber, secret=secret)
    return [Delivery(address, values, address.lower()) for address in addresses]


def list_deliveries(
    settings: Settings,
    slug: str,
    recipients: Sequence[Recipient],
    states: Mapping[str, str],
    *,
    resend_unknown: bool,
    secret: str | None = None,
) -> list[Delivery]:
    """The deliveries of a list send, in list order: everyone whose journal ``states`` is not
    sent, failed or (unless ``resend_unknown``) unknown; recipients new to the journal too."""
    again = {"pending", "deferred", "unknown"} if resend_unknown else {"pending", "deferred"}
    return [
        Delivery(r.email, merge_values(settings, slug, r.row, secret=secret), r.key)
        for r in recipients
        if states.get(r.key, "pending") in again
    ]
