"""Merge values: the only place a subscriber's merge-field values are made.

``message.eml``, the preview, test sends and list sends all take their values from here, so the
sample subscriber sees exactly the links a real one gets, made the same way: the unsubscribe
token is always an HMAC-SHA256 of the address, signed with the secret from the environment for a
real send and with :data:`SAMPLE_SECRET` where none is set (a build, a preview, a test send on a
machine without the secret), which is not a secret and signs nothing a real page accepts.

Only ``first_name`` and ``email`` come from a subscriber (a CSV row, ``[send.sample]``, a test
send's ``--data``); the links (``unsubscribe_url``, ``web_version_url``, ``preferences_url``)
are always made here from ``newsletter.toml``, so that a list can neither remove a
subscriber's unsubscribe link nor point it elsewhere. A value with a line break or another
control character is refused: values reach the Subject header and the SMTP stream.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import quote

from newsletter.errors import NewsletterError
from newsletter.model.settings import Settings

__all__ = [
    "SAMPLE_SECRET",
    "SUBSCRIBER_FIELDS",
    "control_character",
    "merge_values",
    "sample_values",
    "unsubscribe_token",
]

#: Signs the tokens of builds, previews and test sends when no real secret is at hand. It is
#: public (it is in this file), so a page that checks tokens must never accept it.
SAMPLE_SECRET = "newsletter-sample-secret-not-for-real-sends"

#: The merge fields a subscriber provides; every other one is made here.
SUBSCRIBER_FIELDS = ("first_name", "email")


def unsubscribe_token(email: str, secret: str) -> str:
    """The per-address token for ``{token}`` in ``[send] unsubscribe_url``: an HMAC-SHA256 that
    only the holder of ``secret`` can make, so that the unsubscribe page can tell a real link
    from a guessed one."""
    if not secret:
        raise ValueError("an unsubscribe token needs a secret")
    address = email.strip().lower().encode()
    return hmac.new(secret.encode(), address, hashlib.sha256).hexdigest()[:32]


#: The characters of Unicode's categories Cc (the control characters), Zl and Zp (the line
#: and paragraph separators): one search instead of a category lookup per character, which a
#: list of 100,000 made the slowest step of a send.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_character(value: str) -> str | None:
    """The name of the first control character in ``value`` (CR, LF, NUL, U+2028 ...), or
    None."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    char = found.group()
    return {"\r": "CR", "\n": "LF", "\0": "NUL"}.get(char, f"U+{ord(char):04X}")


def _checked(name: str, value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise NewsletterError(
            f"merge field {name}: the value {value[:40]!r} holds a control character "
            f"(U+{ord(found.group()):04X}); values reach the message's headers and may not"
        )
    return value


def merge_values(
    settings: Settings,
    slug: str,
    subscriber: Mapping[str, str],
    *,
    secret: str = SAMPLE_SECRET,
    links: bool = True,
) -> dict[str, str]:
    """Every merge field's value for one subscriber (a CSV row or ``[send.sample]``), the
    unsubscribe token signed with ``secret`` (see :func:`unsubscribe_token`). The default, the
    sample secret, suits samples only: a list send always passes the real one.

    Without ``links``, only the subscriber's own fields (:data:`SUBSCRIBER_FIELDS`): for an ESP
    that fills the links itself or gives everyone the same, which then costs no signature and
    no URLs per recipient."""
    nl = settings.newsletter
    email = _checked("email", subscriber.get("email", ""))
    if not links:
        return {
            "first_name": _checked("first_name", subscriber.get("first_name", "")),
            "email": email,
        }
    names = {"slug": slug, "email": quote(email), "token": unsubscribe_token(email, secret)}
    web = (nl.web_version_url or nl.site_url).format_map(names)
    unsubscribe = settings.send.unsubscribe_url
    return {
        "first_name": _checked("first_name", subscriber.get("first_name", "")),
        "email": email,
        "web_version_url": web,
        "preferences_url": (nl.preferences_url or nl.site_url).format_map(names),
        "unsubscribe_url": unsubscribe.format_map(names) if unsubscribe else "",
    }


def sample_values(
    settings: Settings,
    slug: str,
    overrides: Mapping[str, str] | None = None,
    *,
    secret: str | None = None,
) -> dict[str, str]:
    """The merge values of the sample subscriber of ``[send.sample]`` (``overrides``, from a
    test send's ``--data``, replacing some): for ``message.eml``, the preview and test sends,
    signed with ``secret`` when there is one, else with :data:`SAMPLE_SECRET`."""
    return merge_values(
        settings,
        slug,
        {**settings.send.sample, **(overrides or {})},
        secret=secret or SAMPLE_SECRET,
    )
