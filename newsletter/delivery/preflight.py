"""Whether a list send may start: the one place that decides, before the first message.

A send refuses when the issue did not build, when the list has invalid or duplicate
addresses, or when the issue's checks (``meta()["findings"]``, when the build has them) found
an error. ``--force`` lets the editor send anyway: invalid addresses are then skipped and each
duplicate is sent once. Some things no ``--force`` overrides: without an unsubscribe link a
list send would break the law in many places and Gmail's and Yahoo's sender rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

import click

from newsletter.commands.build import BuildResult
from newsletter.errors import Problem, ProblemsError
from newsletter.model.settings import Settings

__all__ = ["Refused", "preflight", "refusals"]


class Refused(ProblemsError):
    """The problems that stopped a send before its first message."""

    def __init__(self, problems: Sequence[Problem], hint: str) -> None:
        super().__init__(problems)
        self.hint = hint

    def show(self, file: IO[Any] | None = None) -> None:
        super().show(file)
        click.echo(f"nothing was sent{self.hint}", file=file, err=file is None)


def refusals(
    result: BuildResult, list_problems: Sequence[Problem], *, source: str
) -> list[Problem]:
    """Everything that should stop a list send of ``result`` to a list with ``list_problems``."""
    problems = [*result.problems, *list_problems]
    findings = result.meta().get("findings") or []
    assert isinstance(findings, list)
    for finding in findings:
        if isinstance(finding, dict) and finding.get("severity") == "error":
            where = str(finding.get("location") or "") or source  # "issues/x.yaml:12" or so
            field = f"check {finding.get('id', '?')}"
            problems.append(Problem(where, field, str(finding.get("message", ""))))
    return problems


def preflight(
    result: BuildResult,
    list_problems: Sequence[Problem],
    settings: Settings,
    *,
    source: str,
    force: bool,
) -> list[Problem]:
    """Raise :class:`ProblemsError` when the send must not start; else return the problems
    ``force`` let through, for the report."""
    if not settings.send.unsubscribe_url:
        raise ProblemsError(
            [
                Problem(
                    "newsletter.toml",
                    "send.unsubscribe_url",
                    "a list send needs a per-subscriber unsubscribe link ({token} or {email})",
                )
            ]
        )
    problems = refusals(result, list_problems, source=source)
    if problems and (not force or not result.ok):
        hint = "" if not result.ok else ": fix them, or send anyway with --force"
        raise Refused(problems, hint)
    return problems
