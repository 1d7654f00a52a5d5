"""Amazon SES v2 through boto3: the issue's template, then ``SendBulkEmail`` batches of 50.

The template (:func:`newsletter.targets.esp.ses.content`, the ``ses`` export) is made or
updated with ``CreateEmailTemplate``; each destination of a batch carries its replacement data,
every merge field raw and HTML-escaped (:func:`newsletter.targets.esp.ses.template_data`), our
signed unsubscribe link included, and its own ``List-Unsubscribe`` and one-click
``List-Unsubscribe-Post`` as ``ReplacementHeaders`` (the same headers a message over SMTP has,
:func:`newsletter.mail.message.unsubscribe_headers`): v1's ``SendBulkTemplatedEmail`` can set
no header per destination, so Gmail's and Yahoo's one-click rule needs v2. ``GetAccount``'s
``SendQuota.MaxSendRate`` caps the send rate (:attr:`SesTransport.rate`), so that SES never
throttles the send for going faster than the account may. boto3's own retries are off: a
retried call must go through the journal. Credentials, region and endpoint come from boto3's
chain (``AWS_*`` environment variables, ``AWS_ENDPOINT_URL`` for a test server), never from
``newsletter.toml``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from email.utils import formataddr
from typing import Any

from newsletter.delivery.send import Delivery
from newsletter.delivery.transport import Answer, Retry, Unknown
from newsletter.errors import NewsletterError
from newsletter.mail.message import unsubscribe_headers
from newsletter.model.artifact import Artifact
from newsletter.model.settings import Settings
from newsletter.targets.esp import ses as dialect

__all__ = ["SesTransport"]

_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException"}

#: A destination's statuses that say "not now" rather than "never": sent again by a next run.
_TRANSIENT = {"TRANSIENT_FAILURE", "ACCOUNT_THROTTLED"}


def _answer(result: dict[str, Any]) -> Answer:
    """One destination's result: ``SUCCESS`` with the message id SES gave it, else the status
    and SES's reason."""
    status = str(result.get("Status", ""))
    if status == "SUCCESS" and result.get("MessageId"):
        return Answer("sent", None, f"MessageId {result['MessageId']}")
    state = "deferred" if status in _TRANSIENT else "failed"
    return Answer(state, None, f"{status}: {result.get('Error', '')}")


class SesTransport:
    """SES v2's bulk templated sends for one issue."""

    name = "ses"
    batch_size = 50
    personal_links = True  # each destination's signed unsubscribe URL, in its data and headers

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
        self._mailto = settings.send.unsubscribe_mailto
        self._configuration_set = settings.esp.ses.configuration_set
        self._defaults = json.dumps(dialect.template_data({}))
        #: the account's ``MaxSendRate``, known once :meth:`prepare` has asked
        self.rate: float | None = None
        from botocore.exceptions import NoRegionError

        timeout = settings.esp.timeout
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=timeout,
            read_timeout=timeout,
        )
        try:
            self._client: Any = boto3.client("sesv2", config=config)
        except NoRegionError:
            raise NewsletterError(
                "ses: no AWS region; set AWS_DEFAULT_REGION (for example us-east-1) in the "
                "environment"
            ) from None

    def prepare(self) -> None:
        content = {"TemplateName": self._template, "TemplateContent": self._content}
        try:
            self._call("create_email_template", **content)
        except NewsletterError as error:
            if "AlreadyExists" not in str(error):
                raise
            self._call("update_email_template", **content)
        quota = self._call("get_account").get("SendQuota", {})
        rate = quota.get("MaxSendRate")
        self.rate = float(rate) if rate else None

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        options: dict[str, Any] = {
            "FromEmailAddress": self._source,
            "DefaultContent": {
                "Template": {"TemplateName": self._template, "TemplateData": self._defaults}
            },
            "BulkEmailEntries": [self._entry(d) for d in batch],
        }
        if self._reply_to:
            options["ReplyToAddresses"] = self._reply_to
        if self._configuration_set:
            options["ConfigurationSetName"] = self._configuration_set
        answer = self._call("send_bulk_email", **options)
        results = answer.get("BulkEmailEntryResults", [])
        if len(results) != len(batch):
            raise Unknown(f"SES answered {len(results)} results for {len(batch)} destinations")
        return [_answer(result) for result in results]

    def close(self) -> None:
        self._client.close()

    def _entry(self, delivery: Delivery) -> dict[str, Any]:
        """One destination: its address, its replacement data and its unsubscribe headers."""
        headers = unsubscribe_headers(delivery.values.get("unsubscribe_url", ""), self._mailto)
        return {
            "Destination": {"ToAddresses": [delivery.to]},
            "ReplacementEmailContent": {
                "ReplacementTemplate": {
                    "ReplacementTemplateData": json.dumps(dialect.template_data(delivery.values))
                }
            },
            "ReplacementHeaders": [{"Name": name, "Value": value} for name, value in headers],
        }

    def _call(self, operation: str, **options: Any) -> Any:
        """One SES call, its failures as the batch protocol names them."""
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ParamValidationError,
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
        except ParamValidationError as error:  # botocore's check, before anything was sent
            raise NewsletterError(f"ses: {operation}: {error}") from None
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            raise Retry(f"cannot reach SES: {error}") from None
        except (ReadTimeoutError, ConnectionClosedError) as error:
            raise Unknown(f"no answer from SES: {error}") from None
        except NoCredentialsError:
            raise NewsletterError(
                "ses: no AWS credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
                "AWS_PROFILE) in the environment"
            ) from None
