"""``newsletter check``: each issue built in memory and reviewed, nothing written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.commands.build import build_issues
from newsletter.errors import Problem
from newsletter.model.findings import Finding, Severity
from newsletter.model.workspace import Workspace
from newsletter.pipeline.checks import RULES

__all__ = ["CheckReport", "Checked", "check", "rules"]


@dataclass(frozen=True)
class Checked:
    """One issue's findings, as the editor names the issue file."""

    name: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class CheckReport:
    """The findings of every issue that built, and the problems of those that did not."""

    checked: list[Checked] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def findings(self) -> list[Finding]:
        return [finding for issue in self.checked for finding in issue.findings]

    def fails(self, *, strict: bool = False) -> bool:
        """Whether the check failed: an error, or with ``strict`` a warning too."""
        failing = ("error", "warning") if strict else ("error",)
        return any(finding.severity in failing for finding in self.findings())


def check(
    workspace: Workspace,
    paths: Sequence[Path],
    *,
    quiet: bool = False,
    on_checked: Callable[[Checked], None] | None = None,
) -> CheckReport:
    """Build and check ``paths``, in the order of their names; ``quiet`` leaves out info
    findings. ``on_checked`` is told of each issue as soon as it is checked: the progress of
    a long check. Each email is let go once checked, so that a check of a thousand issues
    holds a thousand lists of findings, not a thousand emails."""
    report = CheckReport()
    for result in build_issues(sorted(paths), workspace):
        if result.artifact is None:
            report.problems.extend(result.problems)
            continue
        findings = tuple(f for f in result.findings if not (quiet and f.severity == "info"))
        report.checked.append(Checked(workspace.display(result.source), findings))
        if on_checked is not None:
            on_checked(report.checked[-1])
    return report


def rules(workspace: Workspace) -> list[tuple[str, Severity | str, str]]:
    """Every rule: its id, its severity in this workspace (``off`` included), what it finds."""
    configured = workspace.settings.check.rules
    return [(r.id, configured.get(r.id, r.severity), r.summary) for r in RULES.values()]
