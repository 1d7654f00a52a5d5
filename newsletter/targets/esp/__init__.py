"""Exports: an email as each ESP takes it, translated into the ESP's own merge-tag dialect.

| ESP (``--esp``) | files under ``out/<slug>/export/<esp>/`` |
|-----------------|-------------------------------------------|
| ``mailchimp``   | ``template.html``, ``template.zip`` (HTML + local images), ``campaign.json`` |
| ``sendgrid``    | ``template-version.json`` |
| ``mailgun``     | ``template.json``, ``template.txt`` |
| ``postmark``    | ``template.json`` |
| ``ses``         | ``template.json`` (``CreateEmailTemplate``) |
| ``eml``         | ``message.eml`` (the sample subscriber's message) |

Each exporter is a function ``(artifact, context) -> {file name: bytes}`` (:mod:`.base`) that
writes nothing; :data:`EXPORTERS` names them, in the order ``--all`` exports them.
"""

from __future__ import annotations

from collections.abc import Mapping

from newsletter.model.artifact import Artifact
from newsletter.targets.esp import eml, mailchimp, mailgun, postmark, sendgrid, ses
from newsletter.targets.esp.base import ExportContext, Exporter

__all__ = ["ESPS", "EXPORTERS", "ExportContext", "export"]

#: ESP name (as ``--esp`` takes it) -> its exporter, in the order ``--all`` exports them.
EXPORTERS: Mapping[str, Exporter] = {
    "mailchimp": mailchimp.export,
    "sendgrid": sendgrid.export,
    "mailgun": mailgun.export,
    "postmark": postmark.export,
    "ses": ses.export,
    "eml": eml.export,
}

#: The ESP names, from :data:`EXPORTERS`.
ESPS: tuple[str, ...] = tuple(EXPORTERS)


def export(esp: str, artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """The files of ``artifact`` for ``esp`` (one of :data:`ESPS`)."""
    return EXPORTERS[esp](artifact, context)
