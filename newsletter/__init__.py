"""newsletter: turn an issue file into a finished email.

The public API, for use from Python as well as through the ``newsletter`` command::

    from pathlib import Path
    from newsletter import build_issue, find_workspace

    ws = find_workspace()
    result = build_issue(Path("issues/2025-06-26-putin-poaches-the-neighbors.yaml"), ws)
    assert result.artifact is not None, result.problems
    print(result.artifact.email.subject, len(result.artifact.email.html))

Every command is a function here (``build``, ``check``, ``export_issue``, ``test_send``,
``list_send``, ``send_status``, ``build_site``, ``publish``) that takes a workspace and returns
a typed report. Names are imported on first use, so ``import newsletter`` (and
``newsletter --help``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.commands.build import BuildReport, Built, build
    from newsletter.commands.check import CheckReport, check
    from newsletter.commands.export import Exported, export_issue
    from newsletter.commands.publish import PublishReport, publish
    from newsletter.commands.scaffold import create_issue, create_workspace
    from newsletter.commands.send import SendReport, StatusReport, list_send, send_status, test_send
    from newsletter.commands.site import SiteReport, build_site
    from newsletter.commands.teasers import add_teasers
    from newsletter.errors import NewsletterError, Problem, ProblemsError
    from newsletter.mail.message import build_message
    from newsletter.mail.values import merge_values, sample_values
    from newsletter.model.artifact import Artifact, BuildResult, Rewrites
    from newsletter.model.email import Email
    from newsletter.model.findings import Finding
    from newsletter.model.issue import Image, Issue, Lead, Teaser
    from newsletter.model.settings import Settings
    from newsletter.model.workspace import Workspace
    from newsletter.pipeline.checks import run_checks
    from newsletter.pipeline.load import load_issue, parse_issue
    from newsletter.pipeline.stages import STAGES, build_issue, compose
    from newsletter.workspace import find_workspace, load_workspace

#: public name -> the module that defines it; a test keeps ``__all__`` in step with it and
#: checks that every name really is in its module.
_EXPORTS = {
    "Artifact": "model.artifact",
    "BuildReport": "commands.build",
    "BuildResult": "model.artifact",
    "Built": "commands.build",
    "CheckReport": "commands.check",
    "Email": "model.email",
    "Exported": "commands.export",
    "Finding": "model.findings",
    "Image": "model.issue",
    "Issue": "model.issue",
    "Lead": "model.issue",
    "NewsletterError": "errors",
    "Problem": "errors",
    "ProblemsError": "errors",
    "PublishReport": "commands.publish",
    "Rewrites": "model.artifact",
    "STAGES": "pipeline.stages",
    "SendReport": "commands.send",
    "Settings": "model.settings",
    "SiteReport": "commands.site",
    "StatusReport": "commands.send",
    "Teaser": "model.issue",
    "Workspace": "model.workspace",
    "add_teasers": "commands.teasers",
    "build": "commands.build",
    "build_issue": "pipeline.stages",
    "build_site": "commands.site",
    "build_message": "mail.message",
    "check": "commands.check",
    "compose": "pipeline.stages",
    "export_issue": "commands.export",
    "find_workspace": "workspace",
    "create_workspace": "commands.scaffold",
    "list_send": "commands.send",
    "load_issue": "pipeline.load",
    "load_workspace": "workspace",
    "merge_values": "mail.values",
    "create_issue": "commands.scaffold",
    "parse_issue": "pipeline.load",
    "publish": "commands.publish",
    "run_checks": "pipeline.checks",
    "sample_values": "mail.values",
    "send_status": "commands.send",
    "test_send": "commands.send",
}

__all__ = [
    "STAGES",
    "Artifact",
    "BuildReport",
    "BuildResult",
    "Built",
    "CheckReport",
    "Email",
    "Exported",
    "Finding",
    "Image",
    "Issue",
    "Lead",
    "NewsletterError",
    "Problem",
    "ProblemsError",
    "PublishReport",
    "Rewrites",
    "SendReport",
    "Settings",
    "SiteReport",
    "StatusReport",
    "Teaser",
    "Workspace",
    "add_teasers",
    "build",
    "build_issue",
    "build_message",
    "build_site",
    "check",
    "compose",
    "create_issue",
    "create_workspace",
    "export_issue",
    "find_workspace",
    "list_send",
    "load_issue",
    "load_workspace",
    "merge_values",
    "parse_issue",
    "publish",
    "run_checks",
    "sample_values",
    "send_status",
    "test_send",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'newsletter' has no attribute {name!r}")
    return getattr(importlib.import_module(f"newsletter.{_EXPORTS[name]}"), name)
