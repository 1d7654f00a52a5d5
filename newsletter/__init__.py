"""newsletter: turn an issue file into a finished email.

The public API, for use from Python as well as through the ``newsletter`` command::

    from pathlib import Path
    from newsletter import Workspace, load_issue, compose

    ws = Workspace.find()
    issue = load_issue(Path("issues/2025-06-26-putin-poaches-the-neighbors.yaml"), ws.root)
    email = compose(issue, ws)
    print(email.subject, len(email.html))

Names are imported on first use, so ``import newsletter`` (and ``newsletter --help``) stays
cheap; each command pays only for the libraries it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.commands.build import BuildResult, build_issue, build_issues, write_atomically
    from newsletter.errors import NewsletterError, Problem, ProblemsError
    from newsletter.mail.message import build_message, merge_values
    from newsletter.model.issue import Image, Issue, Lead, Teaser
    from newsletter.model.settings import Settings
    from newsletter.pipeline.checks import Finding, run_checks
    from newsletter.pipeline.compose import Email, compose
    from newsletter.pipeline.load import load_issue, parse_issue
    from newsletter.workspace import Workspace

#: public name -> the module that defines it
_EXPORTS = {
    "BuildResult": "commands.build",
    "build_issue": "commands.build",
    "build_issues": "commands.build",
    "write_atomically": "commands.build",
    "Finding": "pipeline.checks",
    "run_checks": "pipeline.checks",
    "Image": "model.issue",
    "Issue": "model.issue",
    "Lead": "model.issue",
    "Teaser": "model.issue",
    "load_issue": "pipeline.load",
    "parse_issue": "pipeline.load",
    "build_message": "mail.message",
    "merge_values": "mail.message",
    "Email": "pipeline.compose",
    "compose": "pipeline.compose",
    "NewsletterError": "errors",
    "Problem": "errors",
    "ProblemsError": "errors",
    "Settings": "model.settings",
    "Workspace": "workspace",
}

__all__ = [
    "BuildResult",
    "Email",
    "Finding",
    "Image",
    "Issue",
    "Lead",
    "NewsletterError",
    "Problem",
    "ProblemsError",
    "Settings",
    "Teaser",
    "Workspace",
    "build_issue",
    "build_issues",
    "build_message",
    "compose",
    "load_issue",
    "merge_values",
    "parse_issue",
    "run_checks",
    "write_atomically",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'newsletter' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
