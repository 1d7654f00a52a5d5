"""What the HTTP APIs (Postmark, SendGrid, Mailgun) share: the API key from the environment,
one client, and each call's failures named as the batch protocol needs them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from newsletter.delivery.transport import Retry, Unknown
from newsletter.errors import NewsletterError

__all__ = ["api_key", "call", "client", "error_text"]


def api_key(environ: Mapping[str, str], variable: str, setting: str, what: str) -> str:
    """The key in the environment variable ``variable`` (which ``setting`` names), or a clear
    error."""
    key = environ.get(variable)
    if not key:
        raise NewsletterError(
            f"the environment variable {variable} ({setting} in newsletter.toml) is not set; "
            f"set it to the {what}"
        )
    return key


def client(
    base_url: str,
    timeout: float,
    *,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> httpx.Client:
    """One client per send: its connections are reused for every batch."""
    return httpx.Client(base_url=base_url, headers=dict(headers or {}), auth=auth, timeout=timeout)


def call(http: httpx.Client, esp: str, method: str, path: str, **options: Any) -> httpx.Response:
    """One request. 429 and 5xx, or a connection refused, raise :class:`Retry` (with the
    ``Retry-After`` the ESP asked for); a timeout or a connection lost once the request was
    sent raises :class:`Unknown`; anything else is the ESP's answer."""
    try:
        answer = http.request(method, path, **options)
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise Retry(f"cannot reach {esp}: {error}") from None
    except httpx.TransportError as error:
        raise Unknown(f"no answer from {esp}: {error!r}") from None
    if answer.status_code == 429 or answer.status_code >= 500:
        raise Retry(error_text(answer), code=answer.status_code, after=_retry_after(answer))
    return answer


def error_text(answer: httpx.Response) -> str:
    """The ESP's reason, shortly: the status and the message its JSON gives."""
    try:
        data = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    message: object = None
    if isinstance(data, dict):
        message = data.get("Message") or data.get("message") or data.get("errors")
    if isinstance(message, list):
        message = "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in message
        )
    return f"HTTP {answer.status_code}: {message}" if message else f"HTTP {answer.status_code}"


def _retry_after(answer: httpx.Response) -> float | None:
    value = answer.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
