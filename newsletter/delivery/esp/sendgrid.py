"""SendGrid through its v3 API (httpx): the issue's dynamic template, then ``mail/send`` calls
of up to 1,000 personalizations.

The template is found by its name (the issue's slug) among the account's dynamic templates,
or created; its version is named for the content's hash, so that a resumed send reuses it and
an edited issue (``--changed``) adds a version. Each personalization carries one subscriber's
``dynamic_template_data`` and ``custom_args`` with the journal key; the send carries
``asm.group_id`` (``[esp.sendgrid] asm_group_id``), without which SendGrid leaves
``<%asm_group_unsubscribe_raw_url%>`` empty, so a send without one is refused. SendGrid
answers 202 for the whole call (it has no per-recipient answer): every recipient of an
accepted batch is sent, with the call's ``X-Message-Id``; a 4xx fails the batch's recipients.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from newsletter.delivery.esp.http import api_key, call, client, error_text
from newsletter.delivery.send import Delivery
from newsletter.delivery.transport import Answer
from newsletter.errors import NewsletterError
from newsletter.model.artifact import Artifact
from newsletter.model.settings import Settings
from newsletter.targets.esp import sendgrid as dialect
from newsletter.targets.esp.base import ExportContext

__all__ = ["SendgridTransport"]


class SendgridTransport:
    """SendGrid's dynamic-template sends for one issue."""

    name = "sendgrid"
    batch_size = 1000
    rate: float | None = None  # no per-account rate: its 429s say when to slow down
    personal_links = False  # SendGrid fills the unsubscribe links (asm); the other links are the same for everyone

    def __init__(
        self, artifact: Artifact, settings: Settings, root: Path, environ: Mapping[str, str]
    ) -> None:
        table = settings.esp.sendgrid
        if table.asm_group_id is None:
            raise NewsletterError(
                "newsletter.toml: esp.sendgrid.asm_group_id: name the unsubscribe group "
                "(Marketing > Unsubscribe Groups); without it SendGrid leaves every "
                "unsubscribe link empty"
            )
        self._group = table.asm_group_id
        key = api_key(environ, table.key_env, "[esp.sendgrid] key_env", "SendGrid API key")
        context = ExportContext(settings, root, dt.datetime.now(dt.UTC))
        version = json.loads(dialect.export(artifact, context)["template-version.json"])
        digest = hashlib.sha256(json.dumps(version, sort_keys=True).encode()).hexdigest()[:12]
        version["name"] = f"{artifact.slug[:80]}-{digest}"
        self._version = version
        self._template_name = artifact.slug[:100]
        self._template_id = ""
        nl = settings.newsletter
        self._from = {"email": nl.from_email, "name": nl.from_name}
        self._reply_to = {"email": nl.reply_to} if nl.reply_to else None
        self._http = client(
            table.api_url,
            settings.esp.timeout,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )

    def prepare(self) -> None:
        listed = self._ok(
            call(
                self._http,
                self.name,
                "GET",
                "/v3/templates",
                params={"generations": "dynamic", "page_size": 200},
            ),
            "listing",
        )
        templates = listed.get("result", listed.get("templates", []))
        found = next((t for t in templates if t.get("name") == self._template_name), None)
        if found is None:
            body = {"name": self._template_name, "generation": "dynamic"}
            found = self._ok(self._post("/v3/templates", body), "creating the template")
        self._template_id = str(found["id"])
        if not any(v.get("name") == self._version["name"] for v in found.get("versions", [])):
            path = f"/v3/templates/{self._template_id}/versions"
            self._ok(self._post(path, self._version), "adding the template version")

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        body: dict[str, Any] = {
            "from": self._from,
            "template_id": self._template_id,
            "asm": {"group_id": self._group},
            "personalizations": [
                {
                    "to": [{"email": d.to}],
                    "dynamic_template_data": {
                        "first_name": d.values.get("first_name", ""),
                        "email": d.values.get("email", ""),
                    },
                    "custom_args": {"newsletter_key": d.key},
                }
                for d in batch
            ],
        }
        if self._reply_to:
            body["reply_to"] = self._reply_to
        answer = self._post("/v3/mail/send", body)
        if answer.status_code in (401, 403):
            raise NewsletterError(f"sendgrid: the API key was refused: {error_text(answer)}")
        if answer.status_code >= 400:
            return [Answer("failed", answer.status_code, error_text(answer))] * len(batch)
        ident = answer.headers.get("X-Message-Id", "")
        return [Answer("sent", answer.status_code, f"X-Message-Id {ident}")] * len(batch)

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: object) -> Any:
        return call(self._http, self.name, "POST", path, content=json.dumps(body).encode())

    def _ok(self, answer: Any, doing: str) -> Any:
        if answer.status_code >= 400:
            raise NewsletterError(f"sendgrid: {doing} was refused: {error_text(answer)}")
        return answer.json()
