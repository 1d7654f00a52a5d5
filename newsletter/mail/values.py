"""Merge values: the only place a subscriber's merge-field values are made.

``message.eml``, the preview, test sends and list sends all take their values from here, so the
sample subscriber sees exactly the links (and the unsubscribe token) a real one gets.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

from newsletter.model import mergefields
from newsletter.model.settings import Settings

__all__ = ["merge_values", "sample_values", "unsubscribe_token"]


def unsubscribe_token(email: str, secret: str | None = None) -> str:
    """A stable per-address token for ``{token}`` in ``[send] unsubscribe_url``.

    With a ``secret`` (``[send] unsubscribe_secret_env``) it is an HMAC-SHA256 that only the
    holder of the secret can make, so that the unsubscribe page can tell a real link from a
    guessed one; without, a plain hash of the address, which anyone can compute.
    """
    address = email.strip().lower().encode()
    if secret:
        return hmac.new(secret.encode(), address, hashlib.sha256).hexdigest()[:32]
    return hashlib.sha256(address).hexdigest()[:32]


def merge_values(
    settings: Settings, slug: str, subscriber: Mapping[str, str], *, secret: str | None = None
) -> dict[str, str]:
    """Every merge field's value for one subscriber (a CSV row or ``[send.sample]``);
    ``secret`` signs the unsubscribe token (see :func:`unsubscribe_token`)."""
    nl = settings.newsletter
    email = subscriber.get("email", "")
    names = {"slug": slug, "email": quote(email), "token": unsubscribe_token(email, secret)}
    web = (nl.web_version_url or nl.site_url).format_map(names)
    unsubscribe = settings.send.unsubscribe_url
    return {
        "first_name": subscriber.get("first_name", ""),
        "email": email,
        "web_version_url": web,
        "preferences_url": (nl.preferences_url or nl.site_url).format_map(names),
        "unsubscribe_url": unsubscribe.format_map(names) if unsubscribe else "",
        **{k: v for k, v in subscriber.items() if k in mergefields.FIELDS and k != "email"},
    }


def sample_values(
    settings: Settings,
    slug: str,
    overrides: Mapping[str, str] | None = None,
    *,
    secret: str | None = None,
) -> dict[str, str]:
    """The merge values of the sample subscriber of ``[send.sample]`` (``overrides``, from a
    test send's ``--data``, replacing some): for ``message.eml``, the preview and test sends."""
    return merge_values(
        settings, slug, {**settings.send.sample, **(overrides or {})}, secret=secret
    )
