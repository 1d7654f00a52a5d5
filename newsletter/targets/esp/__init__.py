"""Exports: an email as each ESP takes it, translated into the ESP's own merge-tag dialect.

| ESP (``--esp``) | files under ``out/<slug>/export/<esp>/`` |
|-----------------|-------------------------------------------|
| ``mailchimp``   | ``template.html``, ``template.zip`` (HTML + local images), ``campaign.json`` |
| ``sendgrid``    | ``template-version.json`` |
| ``mailgun``     | ``template.json``, ``template.txt`` |
| ``postmark``    | ``template.json`` |
| ``ses``         | ``template.json`` (``CreateEmailTemplate``) |
| ``eml``         | ``message.eml`` (the sample subscriber's message) |

Each exporter is a function ``(email, context) -> {file name: bytes}`` that writes nothing; the
command line writes the files atomically. No exporter reads a secret, so none can leak one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from newsletter.errors import NewsletterError
from newsletter.model.settings import Settings
from newsletter.pipeline.compose import Email

__all__ = ["ESPS", "ExportContext", "Exporter", "check_size", "export", "json_file"]


@dataclass(frozen=True)
class ExportContext:
    """What an exporter needs besides the email: the settings, where local images are, when."""

    settings: Settings
    root: Path
    now: dt.datetime


Exporter = Callable[[Email, ExportContext], dict[str, bytes]]


def _exporters() -> Mapping[str, Exporter]:
    from newsletter.targets.esp import eml, mailchimp, mailgun, postmark, sendgrid, ses

    return {
        "mailchimp": mailchimp.export,
        "sendgrid": sendgrid.export,
        "mailgun": mailgun.export,
        "postmark": postmark.export,
        "ses": ses.export,
        "eml": eml.export,
    }


#: The ESP names ``--esp`` accepts, in the order ``--all`` exports them.
ESPS: tuple[str, ...] = ("mailchimp", "sendgrid", "mailgun", "postmark", "ses", "eml")


def export(esp: str, email: Email, context: ExportContext) -> dict[str, bytes]:
    """The files of ``email`` for ``esp`` (one of :data:`ESPS`)."""
    return _exporters()[esp](email, context)


def json_file(data: object) -> bytes:
    """``data`` as the UTF-8 JSON file an ESP's API or import takes, indented for reading."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def check_size(esp: str, what: str, size: int, limit: int) -> None:
    """Refuse an export the ESP would reject for its size, saying by how much."""
    if size > limit:
        raise NewsletterError(
            f"{esp}: the {what} is {size / 1024:.1f} KB, over {esp}'s limit of "
            f"{limit // 1024} KB; shorten the issue"
        )
