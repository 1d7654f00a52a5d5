"""moto's server, with the SES v2 calls a list send makes and moto 5.2 lacks.

    python tests/moto_sesv2.py -H 127.0.0.1 -p PORT

moto's ``sesv2`` answers identities and ``SendEmail`` but not ``CreateEmailTemplate``,
``UpdateEmailTemplate``, ``GetEmailTemplate``, ``TestRenderEmailTemplate``, ``GetAccount`` or
``SendBulkEmail``. This adds them to its response class, each delegating to moto's own v1 SES
backend of the same account and region (as moto's v2 ``SendEmail`` does): templates live in its
template store (so the v1 ``TestRenderTemplate`` renders a template made through v2), a bulk
send goes through ``send_bulk_templated_email`` (the sender's verification, the template's
existence, the 50-destination bound) into its sent-message store, each destination stored as
it arrived (its ``ReplacementHeaders`` and ``ReplacementEmailContent`` included), and the
account's quota is v1's ``GetSendQuota`` with ``MaxSendRate`` taken from the environment
variable ``MOTO_SES_MAX_SEND_RATE`` when it is set (v1's is 1 a second, too slow for a test).
v1's errors are answered as v2's (``AlreadyExistsException``, ``NotFoundException``), and moto
routes each request by the real sesv2 service model, so a call botocore would not make is not
answered either.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.exceptions import ServiceException
from moto.ses import exceptions as v1_errors
from moto.ses.models import SESBackend, ses_backends
from moto.sesv2 import urls
from moto.sesv2.responses import SESV2Response

#: v1's errors and the v2 error shapes they are in the sesv2 service model.
_V2_ERRORS = {
    v1_errors.TemplateNameAlreadyExists: "AlreadyExistsException",
    v1_errors.TemplateDoesNotExist: "NotFoundException",
    v1_errors.MessageRejectedError: "MessageRejected",
    v1_errors.InvalidParameterValue: "BadRequestException",
    v1_errors.InvalidRenderingParameterException: "BadRequestException",
    v1_errors.ValidationError: "BadRequestException",
}


class _V2Error(ServiceException):
    """An error of sesv2's model (moto finds the error shape by the module an exception comes
    from: one of moto's own would be looked up in that module's service)."""


@contextmanager
def _as_v2() -> Iterator[None]:
    try:
        yield
    except tuple(_V2_ERRORS) as error:
        raise _V2Error(_V2_ERRORS[type(error)], str(error.message)) from None


def _v1(response: SESV2Response) -> SESBackend:
    return ses_backends[response.current_account][response.region]


def _template_info(name: str, content: dict[str, str]) -> dict[str, str]:
    return {
        "template_name": name,
        "subject_part": content.get("Subject", ""),
        "html_part": content.get("Html", ""),
        "text_part": content.get("Text", ""),
    }


def create_email_template(self: SESV2Response) -> str:
    params = json.loads(self.body)
    with _as_v2():
        _v1(self).add_template(_template_info(params["TemplateName"], params["TemplateContent"]))
    return "{}"


def update_email_template(self: SESV2Response) -> str:
    params = json.loads(self.body)
    with _as_v2():
        _v1(self).update_template(
            _template_info(self.uri_match["TemplateName"], params["TemplateContent"])
        )
    return "{}"


def get_email_template(self: SESV2Response) -> str:
    with _as_v2():
        found = _v1(self).get_template(self.uri_match["TemplateName"])
    content = {
        "Subject": found["subject_part"],
        "Html": found["html_part"],
        "Text": found["text_part"],
    }
    return json.dumps({"TemplateName": found["template_name"], "TemplateContent": content})


def render_email_template(self: SESV2Response) -> str:
    params = json.loads(self.body)
    with _as_v2():
        rendered = _v1(self).render_template(
            {"name": self.uri_match["TemplateName"], "data": params["TemplateData"]}
        )
    return json.dumps({"RenderedTemplate": rendered})


def get_account(self: SESV2Response) -> str:
    quota = _v1(self).get_send_quota()
    rate = float(os.environ.get("MOTO_SES_MAX_SEND_RATE") or quota.max_send_rate)
    return json.dumps(
        {
            "SendQuota": {
                "Max24HourSend": float(quota.max24_hour_send),
                "MaxSendRate": rate,
                "SentLast24Hours": float(quota.sent_last24_hours),
            },
            "SendingEnabled": True,
            "ProductionAccessEnabled": True,
            "EnforcementStatus": "HEALTHY",
            "DedicatedIpAutoWarmupEnabled": False,
        }
    )


def send_bulk_email(self: SESV2Response) -> str:
    params = json.loads(self.body)
    template = params["DefaultContent"]["Template"]
    entries: list[dict[str, Any]] = params["BulkEmailEntries"]
    with _as_v2():
        sent = _v1(self).send_bulk_templated_email(
            source=params["FromEmailAddress"],
            template=template["TemplateName"],
            template_data=template.get("TemplateData", "{}"),
            destinations=entries,
        )
    results = [{"Status": "SUCCESS", "MessageId": ident} for ident in sent.ids]
    return json.dumps({"BulkEmailEntryResults": results})


_ADDED: dict[str, Callable[[SESV2Response], str]] = {
    "create_email_template": create_email_template,
    "update_email_template": update_email_template,
    "get_email_template": get_email_template,
    "test_render_email_template": render_email_template,
    "get_account": get_account,
    "send_bulk_email": send_bulk_email,
}


#: Their paths, as moto's server routes them (its catch-all ``/v2/.*`` is taken literally).
_PATHS = (
    "{0}/v2/email/templates$",
    "{0}/v2/email/templates/(?P<TemplateName>[^/]+)$",
    "{0}/v2/email/templates/(?P<TemplateName>[^/]+)/render$",
    "{0}/v2/email/account$",
    "{0}/v2/email/outbound-bulk-emails$",
)


def main() -> None:
    for name, method in _ADDED.items():
        assert not hasattr(SESV2Response, name), f"moto has {name} now: drop it from here"
        setattr(SESV2Response, name, method)
    for path in _PATHS:
        urls.url_paths[path] = SESV2Response.dispatch
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()
