"""Amazon SES through boto3: the issue's template, then ``SendBulkTemplatedEmail`` batches of 50.

SES v1's bulk call is used because it is the one moto (the tests' SES) implements; v2's
``SendBulkEmail`` takes the same template and data. Each destination's replacement data holds
every merge field, raw and HTML-escaped (:func:`newsletter.targets.esp.ses.template_data`),
our signed unsubscribe link included. boto3's own retries are off: a retried call must go
through the journal. Credentials, region and endpoint come from boto3's chain (``AWS_*``
environment variables, ``AWS_ENDPOINT_URL`` for a test server), never from ``newsletter.toml``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from email.utils import formataddr
from typing import Any

from newsletter.delivery.send import Delivery
from newsletter.delivery.transport import Answer, Retry, Unknown
from newsletter.errors import NewsletterError
from newsletter.model.artifact import Artifact
from newsletter.model.settings import Settings
from newsletter.targets.esp import ses as dialect

__all__ = ["SesTransport"]

_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException"}


def _answer(status: dict[str, Any]) -> Answer:
    """One destination's status: a message id is only given to a message SES took (moto
    leaves out ``Status: Success``)."""
    if status.get("Status", "Success") == "Success" and status.get("MessageId"):
        return Answer("sent", None, f"MessageId {status['MessageId']}")
    return Answer("failed", None, f"{status.get('Status', '')}: {status.get('Error', '')}")


class SesTransport:
    """SES's bulk templated sends for one issue."""

    name = "ses"
    batch_size = 50

    def __init__(self, artifact: Artifact, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        if settings.esp.ses.unsubscribe == "list-management":
            raise NewsletterError(
                'newsletter.toml: esp.ses.unsubscribe: "list-management" works only for '
                "one-recipient SendEmail; SES's bulk call cannot fill "
                '{{amazonSESUnsubscribeUrl}}, so set it to "signed" for a list send'
            )
        self._content = dialect.content(artifact, settings)
        self._template = dialect.template_name(artifact.slug)
        nl = settings.newsletter
        self._source = formataddr((nl.from_name, nl.from_email))
        self._reply_to = [nl.reply_to] if nl.reply_to else []
        self._configuration_set = settings.esp.ses.configuration_set
        from botocore.exceptions import NoRegionError

        timeout = settings.esp.timeout
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=timeout,
            read_timeout=timeout,
        )
        try:
            self._client: Any = boto3.client("ses", config=config)
        except NoRegionError:
            raise NewsletterError(
                "ses: no AWS region; set AWS_DEFAULT_REGION (for example us-east-1) in the "
                "environment"
            ) from None

    def prepare(self) -> None:
        template = {
            "TemplateName": self._template,
            "SubjectPart": self._content["Subject"],
            "HtmlPart": self._content["Html"],
            "TextPart": self._content["Text"],
        }
        try:
            self._call("create_template", Template=template)
        except NewsletterError as error:
            if "AlreadyExists" not in str(error):
                raise
            self._call("update_template", Template=template)

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        options: dict[str, Any] = {
            "Source": self._source,
            "Template": self._template,
            "DefaultTemplateData": json.dumps(dialect.template_data({})),
            "Destinations": [
                {
                    "Destination": {"ToAddresses": [d.to]},
                    "ReplacementTemplateData": json.dumps(dialect.template_data(d.values)),
                }
                for d in batch
            ],
        }
        if self._reply_to:
            options["ReplyToAddresses"] = self._reply_to
        if self._configuration_set:
            options["ConfigurationSetName"] = self._configuration_set
        answer = self._call("send_bulk_templated_email", **options)
        statuses = answer.get("Status", [])
        if len(statuses) != len(batch):
            raise Unknown(f"SES answered {len(statuses)} statuses for {len(batch)} destinations")
        return [_answer(status) for status in statuses]

    def close(self) -> None:
        self._client.close()

    def _call(self, operation: str, **options: Any) -> Any:
        """One SES call, its failures as the batch protocol names them."""
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        try:
            return getattr(self._client, operation)(**options)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            message = str(error.response.get("Error", {}).get("Message", ""))
            if code in _THROTTLED or status == 429 or status >= 500:
                raise Retry(f"{code or status}: {message}", code=status or None) from None
            raise NewsletterError(f"ses: {operation} was refused: {code}: {message}") from None
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            raise Retry(f"cannot reach SES: {error}") from None
        except (ReadTimeoutError, ConnectionClosedError) as error:
            raise Unknown(f"no answer from SES: {error}") from None
        except NoCredentialsError:
            raise NewsletterError(
                "ses: no AWS credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
                "AWS_PROFILE) in the environment"
            ) from None
