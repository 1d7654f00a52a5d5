"""Postmark through its API (httpx): the issue's template, then ``batchWithTemplates`` calls.

The template (:func:`newsletter.targets.esp.postmark.template`) is created or updated under its
alias; each batch of at most 500 messages (and 50 MB) names it with each subscriber's
``TemplateModel``, on the ``[esp.postmark] stream`` (a broadcast stream, where
``{{{ pm:unsubscribe }}}`` works). Postmark answers 200 even when some messages fail: each
result's ``ErrorCode`` says which. Each message's ``Metadata`` names its batch, so that after a
timeout or a connection lost mid-answer the message search (``GET /messages/outbound``) says
which of the batch Postmark took: those are sent, the rest stay unknown. The server token is read from the environment variable
``[esp.postmark] token_env`` names, and goes nowhere but the request header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from email.utils import formataddr
from pathlib import Path
from typing import Any

from newsletter.delivery.esp.http import api_key, call, client, error_text
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

#: The ``Metadata`` field that names a message's batch, for the search after a lost answer.
BATCH_KEY = "newsletter_batch"


class PostmarkTransport:
    """Postmark's batch-with-templates sends for one issue."""

    name = "postmark"
    batch_size = BATCH_MESSAGES
    rate: float | None = None  # no per-account rate: its 429s say when to slow down
    personal_links = (
        False  # Postmark fills {{{ pm:unsubscribe }}}; the other links are the same for everyone
    )

    def __init__(
        self, artifact: Artifact, settings: Settings, root: Path, environ: Mapping[str, str]
    ) -> None:
        table = settings.esp.postmark
        token = api_key(
            environ, table.token_env, "[esp.postmark] token_env", "Postmark server API token"
        )
        context = ExportContext(settings, root, dt.datetime.now(dt.UTC))
        self._template = dialect.template(artifact, context)
        nl = settings.newsletter
        self._from = formataddr((nl.from_name, nl.from_email))
        self._reply_to = nl.reply_to
        self._stream = table.stream
        self._http = client(
            table.api_url,
            settings.esp.timeout,
            headers={
                "X-Postmark-Server-Token": token,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )

    def prepare(self) -> None:
        alias = self._template["Alias"]
        body = json.dumps(self._template).encode()
        answer = call(self._http, self.name, "PUT", f"/templates/{alias}", content=body)
        if answer.status_code == 404:
            answer = call(self._http, self.name, "POST", "/templates", content=body)
        if answer.status_code >= 400:
            raise NewsletterError(f"postmark: the template was refused: {error_text(answer)}")

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        mark = self._batch_mark(batch)
        body = json.dumps({"Messages": [self._message(d, mark) for d in batch]}).encode()
        if len(body) > BATCH_BYTES and len(batch) > 1:  # never with real issues' models
            half = len(batch) // 2
            return self.send(batch[:half]) + self.send(batch[half:])
        try:
            answer = call(self._http, self.name, "POST", "/email/batchWithTemplates", content=body)
        except Unknown as unknown:
            return self._reconcile(batch, mark, unknown)
        if answer.status_code in (401, 403):
            raise NewsletterError(f"postmark: the server token was refused: {error_text(answer)}")
        if answer.status_code >= 400:  # the call as a whole: every message failed
            return [Answer("failed", answer.status_code, error_text(answer))] * len(batch)
        try:
            results = answer.json()
        except ValueError:
            raise Unknown(f"an answer that is not JSON ({answer.status_code})") from None
        if not isinstance(results, list) or len(results) != len(batch):
            raise Unknown("an answer that does not name every message")
        return [_answer(result) for result in results]

    def close(self) -> None:
        self._http.close()

    def _batch_mark(self, batch: Sequence[Delivery]) -> str:
        """The batch's name in each of its messages' ``Metadata``: a hash of the issue's
        template and the batch's recipients, the same for each try of the batch."""
        digest = hashlib.sha256(self._template["Alias"].encode())
        for delivery in batch:
            digest.update(b"\0" + delivery.key.encode())
        return digest.hexdigest()[:32]

    def _reconcile(self, batch: Sequence[Delivery], mark: str, unknown: Unknown) -> list[Answer]:
        """After a batch call whose answer was lost: ask Postmark's message search which of
        the batch's messages it took (by the batch's ``Metadata``). Those it shows are sent;
        the others stay unknown (the search may lag behind the sending), as does the whole
        batch when the search itself fails."""
        try:
            answer = call(
                self._http,
                self.name,
                "GET",
                "/messages/outbound",
                params={"count": BATCH_MESSAGES, "offset": 0, f"metadata_{BATCH_KEY}": mark},
            )
            messages = answer.json().get("Messages", []) if answer.status_code == 200 else None
        except (Retry, Unknown, ValueError, AttributeError):
            messages = None
        if not isinstance(messages, list):
            raise unknown
        taken = {
            str(address).lower(): str(message.get("MessageID", ""))
            for message in messages
            if isinstance(message, dict)
            for address in message.get("Recipients", [])
        }
        return [
            Answer("sent", None, f"MessageID {taken[d.key]} (answer lost; found by the search)")
            if d.key in taken
            else Answer("unknown", None, f"postmark: {unknown}; not among the sent messages yet")
            for d in batch
        ]

    def _message(self, delivery: Delivery, mark: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "From": self._from,
            "To": delivery.to,
            "TemplateAlias": self._template["Alias"],
            "TemplateModel": {
                "first_name": delivery.values.get("first_name", ""),
                "email": delivery.values.get("email", ""),
            },
            "MessageStream": self._stream,
            "Metadata": {BATCH_KEY: mark},
        }
        if self._reply_to:
            message["ReplyTo"] = self._reply_to
        return message


def _answer(result: Any) -> Answer:
    if not isinstance(result, dict):
        return Answer("unknown", None, "postmark: a result that is not an object")
    code = result.get("ErrorCode")
    if code == 0:
        return Answer("sent", None, f"MessageID {result.get('MessageID', '')}")
    number = int(code) if isinstance(code, int) else None
    return Answer("failed", number, str(result.get("Message", "")))
