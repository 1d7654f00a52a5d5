"""A send's setup from the workspace: who gets what, through which sender, journaled where.

The command line gathers its options and calls these; they read the environment only for the
SMTP password and the unsubscribe secret, whose variables ``[smtp] password_env`` and ``[send]
unsubscribe_secret_env`` name, and never put either in a message.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import os
import re
import ssl
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from newsletter.delivery.recipients import Recipient
from newsletter.delivery.send import Delivery
from newsletter.delivery.smtp import Sender, SmtpSender, default_port
from newsletter.errors import NewsletterError
from newsletter.mail.values import SUBSCRIBER_FIELDS, merge_values, sample_values
from newsletter.model import mergefields
from newsletter.model.settings import Settings
from newsletter.model.workspace import Workspace

__all__ = [
    "LEGACY_JOURNAL",
    "journal_path",
    "journal_to_read",
    "list_deliveries",
    "other_journals",
    "smtp_connector",
    "smtp_description",
    "state_dir",
    "test_deliveries",
    "unsubscribe_secret",
]


#: Where journals lived before they moved out of the workspace; still read, never written.
LEGACY_JOURNAL = Path(".newsletter") / "sends.sqlite"


def state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The per-user folder that holds every workspace's send journal: ``$NEWSLETTER_STATE_DIR``,
    else ``$XDG_STATE_HOME/newsletter``, else ``~/.local/state/newsletter``."""
    if environ.get("NEWSLETTER_STATE_DIR"):
        return Path(environ["NEWSLETTER_STATE_DIR"])
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "newsletter"


def journal_path(workspace: Workspace, environ: Mapping[str, str] = os.environ) -> Path:
    """Where the workspace's send journal lives: in :func:`state_dir`, in a folder named for the
    workspace and a hash of its absolute path.

    Outside the workspace, so that neither ``git clean -x``, nor deleting ``out/``, nor
    copying the workspace takes it along or leaves a stale copy behind; a copied or moved
    workspace gets a journal of its own, and :func:`other_journals` is where a send looks for
    the same issue started from elsewhere.
    """
    root = workspace.root.resolve()
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.name).strip("-.") or "workspace"
    return state_dir(environ) / f"{name}-{digest}" / "sends.sqlite"


def journal_to_read(workspace: Workspace, environ: Mapping[str, str] = os.environ) -> Path:
    """The journal that answers "what was sent": the workspace's own, or, where it has none
    yet, the one from before the journal moved out of the workspace."""
    path = journal_path(workspace, environ)
    legacy = workspace.root / LEGACY_JOURNAL
    return legacy if not path.exists() and legacy.is_file() else path


def other_journals(workspace: Workspace, environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Every journal of this user but the workspace's own (other workspaces, copies and old
    places of this one), and the workspace's journal from before the move (``.newsletter/``)."""
    own = journal_path(workspace, environ)
    found = sorted(p for p in state_dir(environ).glob("*/sends.sqlite") if p != own)
    legacy = workspace.root / LEGACY_JOURNAL
    return [*found, legacy] if legacy.is_file() else found


def smtp_connector(
    settings: Settings, environ: Mapping[str, str] = os.environ
) -> Callable[[], Sender]:
    """Makes one :class:`SmtpSender` per connection, with the password from the environment;
    the connections a process of the send opens share one set of TLS settings, made when the
    first of them starts TLS (then the environment's ``SSL_CERT_FILE``, say, is read)."""
    smtp = settings.smtp
    password: str | None = None
    if smtp.username:
        if smtp.security == "none" and not _loopback(smtp.host):
            raise NewsletterError(
                f'newsletter.toml: smtp.security: "none" would send the password of '
                f'{smtp.username!r} to {smtp.host} in clear text; use "starttls" or '
                '"tls" (a server on this machine, 127.0.0.1 or localhost, may go without)'
            )
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
    tls = functools.cache(ssl.create_default_context)
    return lambda: SmtpSender(smtp, password, tls=tls)


def smtp_description(settings: Settings) -> str:
    """The server a send goes through, for the summary: ``host:port (security)``."""
    smtp = settings.smtp
    return f"{smtp.host}:{default_port(smtp)} ({smtp.security})"


def _loopback(host: str) -> bool:
    """Whether ``host`` is this machine by its very name (no lookup, which could be forged)."""
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def unsubscribe_secret(
    settings: Settings, environ: Mapping[str, str] = os.environ, *, required: bool
) -> str | None:
    """The secret that signs unsubscribe tokens, from the variable ``[send]
    unsubscribe_secret_env`` names.

    A list send passes ``required``: without the secret anyone could make any subscriber's
    unsubscribe link, so it does not start. Otherwise (a test send) ``None`` when it is not at
    hand, and the sample secret signs the tokens instead.
    """
    name = settings.send.unsubscribe_secret_env
    secret = environ.get(name) if name else None
    if secret or not required:
        return secret or None
    if not name:
        raise NewsletterError(
            "newsletter.toml: send.unsubscribe_secret_env: a list send signs each unsubscribe "
            "link; name the environment variable that holds the secret your unsubscribe page "
            'checks tokens with (unsubscribe_secret_env = "NEWSLETTER_UNSUBSCRIBE_SECRET")'
        )
    raise NewsletterError(
        f"the environment variable {name} (send.unsubscribe_secret_env in newsletter.toml) "
        "is not set; set it to the secret your unsubscribe page checks tokens with"
    )


def test_deliveries(
    settings: Settings,
    slug: str,
    addresses: Sequence[str],
    data: Mapping[str, str],
    *,
    secret: str | None = None,
) -> list[Delivery]:
    """One message per address, merge fields from ``[send.sample]`` overridden by ``data``
    (only the subscriber's own fields: the links are made, as for a real subscriber)."""
    made = sorted(set(data) & set(mergefields.FIELDS) - set(SUBSCRIBER_FIELDS))
    if made:
        raise NewsletterError(
            f"--data: {', '.join(made)} is made for each subscriber from newsletter.toml; "
            f"give only {' or '.join(SUBSCRIBER_FIELDS)}"
        )
    unknown = sorted(set(data) - set(mergefields.FIELDS))
    if unknown:
        raise NewsletterError(
            f"--data: unknown merge field {', '.join(unknown)} (known: {', '.join(SUBSCRIBER_FIELDS)})"
        )
    values = sample_values(settings, slug, data, secret=secret)
    return [Delivery(address, values, address.lower()) for address in addresses]


def list_deliveries(
    settings: Settings,
    slug: str,
    recipients: Sequence[Recipient],
    states: Mapping[str, str],
    *,
    resend_unknown: bool,
    secret: str,
    links: bool = True,
) -> list[Delivery]:
    """The deliveries of a list send, in list order: everyone whose journal ``states`` is not
    sent, failed or (unless ``resend_unknown``) unknown; recipients new to the journal too.
    ``links``: each with their own links (see :func:`~newsletter.mail.values.merge_values`)."""
    again = {"pending", "deferred", "unknown"} if resend_unknown else {"pending", "deferred"}
    return [
        Delivery(r.email, merge_values(settings, slug, r.row, secret=secret, links=links), r.key)
        for r in recipients
        if states.get(r.key, "pending") in again
    ]
