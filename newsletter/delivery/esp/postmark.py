"""Postmark through its API (httpx): the issue's template, then ``batchWithTemplates`` calls.

The template (:func:`newsletter.targets.esp.postmark.template`) is created or updated under its
alias; each batch of at most 500 messages (and 50 MB) names it with each subscriber's
``TemplateModel``, on the ``[esp.postmark] stream`` (a broadcast stream, where
``{{{ pm:unsubscribe }}}`` works). Postmark answers 200 even when some messages fail: each
result's ``ErrorCode`` says which. The server token is read from the environment variable
``[esp.postmark] token_env`` names, and goes nowhere but the request header.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from email.utils import formataddr
from pathlib import Path
from typing import Any

import httpx

from newsletter.delivery.send import Delivery
from newsletter.delivery.transport import Answer, Retry, Unknown
from newsletter.errors import NewsletterError
from newsletter.model.artifact import Artifact
from newsletter.model.settings import Settings
from newsletter.targets.esp import postmark as dialect
from newsletter.targets.esp.base import ExportContext

__all__ = ["PostmarkTransport"]

#: Postmark's limits on one batch call.
BATCH_MESSAGES = 500
BATCH_BYTES = 50 * 1024 * 1024


class PostmarkTransport:
    """Postmark's batch-with-templates sends for one issue."""

    name = "postmark"
    batch_size = BATCH_MESSAGES

    def __init__(
        self, artifact: Artifact, settings: Settings, root: Path, environ: Mapping[str, str]
    ) -> None:
        table = settings.esp.postmark
        token = environ.get(table.token_env)
        if not token:
            raise NewsletterError(
                f"the environment variable {table.token_env} ([esp.postmark] token_env in "
                "newsletter.toml) is not set; set it to the Postmark server API token"
            )
        context = ExportContext(settings, root, dt.datetime.now(dt.UTC))
        self._template = dialect.template(artifact, context)
        nl = settings.newsletter
        self._from = formataddr((nl.from_name, nl.from_email))
        self._reply_to = nl.reply_to
        self._stream = table.stream
        self._client = httpx.Client(
            base_url=table.api_url,
            headers={
                "X-Postmark-Server-Token": token,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            timeout=settings.esp.timeout,
        )

    def prepare(self) -> None:
        alias = self._template["Alias"]
        answer = self._request("PUT", f"/templates/{alias}", self._template)
        if answer.status_code == 404:
            answer = self._request("POST", "/templates", self._template)
        if answer.status_code >= 400:
            raise NewsletterError(f"postmark: the template was refused: {_error(answer)}")

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        messages = [self._message(d) for d in batch]
        body = {"Messages": messages}
        if len(json.dumps(body).encode()) > BATCH_BYTES:
            half = len(batch) // 2  # never with real issues: 500 messages of models are small
            return self.send(batch[:half]) + self.send(batch[half:])
        answer = self._request("POST", "/email/batchWithTemplates", body)
        if answer.status_code in (401, 403):
            raise NewsletterError(f"postmark: the server token was refused: {_error(answer)}")
        if answer.status_code >= 400:  # the call as a whole: every message failed
            failed = Answer("failed", answer.status_code, _error(answer))
            return [failed] * len(batch)
        try:
            results = answer.json()
        except ValueError:
            raise Unknown(f"an answer that is not JSON ({answer.status_code})") from None
        if not isinstance(results, list) or len(results) != len(batch):
            raise Unknown("an answer that does not name every message")
        return [_answer(result) for result in results]

    def close(self) -> None:
        self._client.close()

    def _message(self, delivery: Delivery) -> dict[str, Any]:
        message: dict[str, Any] = {
            "From": self._from,
            "To": delivery.to,
            "TemplateAlias": self._template["Alias"],
            "TemplateModel": {
                "first_name": delivery.values.get("first_name", ""),
                "email": delivery.values.get("email", ""),
            },
            "MessageStream": self._stream,
        }
        if self._reply_to:
            message["ReplyTo"] = self._reply_to
        return message

    def _request(self, method: str, path: str, body: object) -> httpx.Response:
        """One call; 429 and 5xx become :class:`Retry`, a timeout :class:`Unknown`."""
        try:
            answer = self._client.request(method, path, content=json.dumps(body).encode())
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise Retry(f"cannot reach Postmark: {error}") from None
        except httpx.TransportError as error:  # sent, and no (whole) answer
            raise Unknown(f"no answer from Postmark: {error!r}") from None
        if answer.status_code == 429 or answer.status_code >= 500:
            raise Retry(_error(answer), code=answer.status_code, after=_retry_after(answer.headers))
        return answer


def _answer(result: Any) -> Answer:
    if not isinstance(result, dict):
        return Answer("unknown", None, "postmark: a result that is not an object")
    code = result.get("ErrorCode")
    if code == 0:
        return Answer("sent", None, f"MessageID {result.get('MessageID', '')}")
    return Answer(
        "failed", int(code) if isinstance(code, int) else None, str(result.get("Message", ""))
    )


def _error(answer: httpx.Response) -> str:
    try:
        data = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    if isinstance(data, dict) and "Message" in data:
        return f"HTTP {answer.status_code}: {data.get('ErrorCode', '')} {data['Message']}".strip()
    return f"HTTP {answer.status_code}"


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
