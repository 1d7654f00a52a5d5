"""What stops an email from leaving the machine: the one rule export and every send share.

A build, a check and the preview show every finding and refuse nothing; an export, a test send
and a list send refuse the findings that would break the email in every inbox (an image or a
link that is a path on this computer), and a list send refuses errors and placeholders too.
"""

from __future__ import annotations

from newsletter.errors import Problem
from newsletter.model.artifact import Artifact
from newsletter.pipeline.checks import BLOCKS_EXPORT, LIST_SEND_ERRORS

__all__ = ["blocking", "list_send_errors"]


def _problem(artifact: Artifact, rule: str, message: str, location: str) -> Problem:
    return Problem(location or artifact.display, f"check {rule}", message)


def blocking(artifact: Artifact) -> list[Problem]:
    """The findings no export or send may go out with, whatever ``--force`` says."""
    return [
        _problem(artifact, f.id, f.message, f.location)
        for f in artifact.findings
        if f.id in BLOCKS_EXPORT
    ]


def list_send_errors(artifact: Artifact) -> list[Problem]:
    """The findings that stop a list send unless ``--force``: every error, and placeholders."""
    return [
        _problem(artifact, f.id, f.message, f.location)
        for f in artifact.findings
        if (f.severity == "error" or f.id in LIST_SEND_ERRORS) and f.id not in BLOCKS_EXPORT
    ]
