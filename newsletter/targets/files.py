"""The files of ``out/<slug>/``, and ``meta.json`` written from the artifact."""

from __future__ import annotations

import json

from newsletter.model.artifact import Artifact

__all__ = ["email_files", "email_folder", "meta"]


def email_files(artifact: Artifact) -> dict[str, bytes]:
    """``email.html``, ``email.txt``, ``email.mjml``, ``message.eml`` and ``meta.json``."""
    return email_folder(artifact)[0]


def email_folder(artifact: Artifact) -> tuple[dict[str, bytes], dict[str, object]]:
    """The files of :func:`email_files`, and the summary their ``meta.json`` holds (what
    ``build`` reports, carried forward rather than read back)."""
    email = artifact.email
    files = {
        "email.html": email.html.encode(),
        "email.txt": email.text.encode(),
        "email.mjml": email.mjml.encode(),
        "message.eml": artifact.message,
    }
    summary = meta(artifact, {name: len(data) for name, data in files.items()})
    files["meta.json"] = (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode()
    return files, summary


def meta(artifact: Artifact, sizes: dict[str, int]) -> dict[str, object]:
    """The JSON summary of a build: what ``meta.json`` holds and ``build --json`` prints;
    ``findings`` only when the checks ran (:attr:`Artifact.checked`)."""
    email = artifact.email
    summary: dict[str, object] = {
        "slug": email.slug,
        "source": artifact.display,
        "subject": email.subject,
        "preheader": email.preheader,
        "built_at": artifact.built_at.isoformat(timespec="seconds"),
        "sizes": sizes,
        "timings_ms": {stage: round(ms, 2) for stage, ms in artifact.timings.items()},
    }
    if artifact.checked:
        summary["findings"] = [finding.to_dict() for finding in artifact.findings]
    return summary
