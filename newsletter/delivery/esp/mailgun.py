"""Mailgun through its API (httpx): ``POST /v3/{domain}/messages`` batches of up to 1,000
recipients, personalised with ``recipient-variables``.

Each call sends the issue's parts with Mailgun's ``%recipient.x%`` substitutions
(:func:`newsletter.targets.esp.mailgun.parts`, the ``mailgun`` export) and each recipient's
variables (:func:`~newsletter.targets.esp.mailgun.recipient_values`: HTML-escaped copies and
fallbacks worked out here), so that no recipient sees another's address in ``To``. Mailgun
answers for the whole call with one message id: every recipient of an accepted batch is sent;
a 4xx fails the batch's recipients.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from email.utils import formataddr
from pathlib import Path

from newsletter.delivery.esp.http import api_key, call, client, error_text
from newsletter.delivery.send import Delivery
from newsletter.delivery.transport import Answer, Unknown
from newsletter.errors import NewsletterError
from newsletter.model.artifact import Artifact
from newsletter.model.settings import Settings
from newsletter.targets.esp import mailgun as dialect
from newsletter.targets.esp.base import ExportContext

__all__ = ["MailgunTransport"]


class MailgunTransport:
    """Mailgun's batch sends for one issue."""

    name = "mailgun"
    batch_size = 1000
    rate: float | None = None  # no per-account rate: its 429s say when to slow down
    personal_links = (
        False  # Mailgun fills %unsubscribe_url%; the other links are the same for everyone
    )

    def __init__(
        self, artifact: Artifact, settings: Settings, root: Path, environ: Mapping[str, str]
    ) -> None:
        table = settings.esp.mailgun
        if not table.domain:
            raise NewsletterError(
                "newsletter.toml: esp.mailgun.domain: name the sending domain Mailgun knows"
            )
        key = api_key(environ, table.key_env, "[esp.mailgun] key_env", "Mailgun API key")
        context = ExportContext(settings, root, dt.datetime.now(dt.UTC))
        self._parts = dialect.parts(artifact, context)
        self._variables = dialect.variables(artifact.email)
        nl = settings.newsletter
        self._from = formataddr((nl.from_name, nl.from_email))
        self._reply_to = nl.reply_to
        self._path = f"/v3/{table.domain}/messages"
        self._http = client(table.api_url, settings.esp.timeout, auth=("api", key))

    def prepare(self) -> None:
        pass  # the parts go with each call: nothing to make beforehand

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        variables = {d.to: dialect.recipient_values(self._variables, d.values) for d in batch}
        form: dict[str, str | list[str]] = {
            "from": self._from,
            "to": [d.to for d in batch],
            "subject": self._parts["subject"],
            "html": self._parts["html"],
            "text": self._parts["text"],
            "recipient-variables": json.dumps(variables),
        }
        if self._reply_to:
            form["h:Reply-To"] = self._reply_to
        answer = call(self._http, self.name, "POST", self._path, data=form)
        if answer.status_code in (401, 403):
            raise NewsletterError(f"mailgun: the API key was refused: {error_text(answer)}")
        if answer.status_code >= 400:
            return [Answer("failed", answer.status_code, error_text(answer))] * len(batch)
        try:
            ident = str(answer.json().get("id", ""))
        except (ValueError, AttributeError):
            raise Unknown(f"an answer that is not JSON ({answer.status_code})") from None
        return [Answer("sent", answer.status_code, f"id {ident}")] * len(batch)

    def close(self) -> None:
        self._http.close()
