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
    from .build import BuildResult, build_issue, build_issues, write_atomically
    from .checks import Finding, run_checks
    from .issue import Image, Issue, Lead, Teaser
    from .loader import load_issue, parse_issue
    from .message import build_message, merge_values
    from .pipeline import Email, compose
    from .problems import NewsletterError, Problem, ProblemsError
    from .settings import Settings
    from .workspace import Workspace

#: public name -> the module that defines it
_EXPORTS = {
    "BuildResult": "build",
    "build_issue": "build",
    "build_issues": "build",
    "write_atomically": "build",
    "Finding": "checks",
    "run_checks": "checks",
    "Image": "issue",
    "Issue": "issue",
    "Lead": "issue",
    "Teaser": "issue",
    "load_issue": "loader",
    "parse_issue": "loader",
    "build_message": "message",
    "merge_values": "message",
    "Email": "pipeline",
    "compose": "pipeline",
    "NewsletterError": "problems",
    "Problem": "problems",
    "ProblemsError": "problems",
    "Settings": "settings",
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
