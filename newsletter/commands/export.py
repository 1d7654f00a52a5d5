"""``newsletter export``: the files each ESP takes, all made before any is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from newsletter.commands.gate import blocking
from newsletter.commands.output import replace_folder
from newsletter.errors import NewsletterError, ProblemsError
from newsletter.model.workspace import Workspace
from newsletter.pipeline.stages import build_issue
from newsletter.targets.esp import ESPS, ExportContext, export

__all__ = ["ESPS", "Exported", "export_issue"]


@dataclass(frozen=True)
class Exported:
    """One ESP's export as written: its folder and its files' sizes."""

    esp: str
    folder: Path
    sizes: dict[str, int]


def export_issue(
    workspace: Workspace, issue: Path, esps: Sequence[str], *, now: dt.datetime | None = None
) -> list[Exported]:
    """Export ``issue`` for each of ``esps`` into ``out/<slug>/export/<esp>/``.

    All or nothing: when the email holds what no inbox can load (a relative image or link),
    or any ESP cannot take it (a merge field it has no tag for, a size over its limit), every
    reason is raised together and no file is written.
    """
    now = now or dt.datetime.now(dt.UTC)
    result = build_issue(issue, workspace, now=now)
    if result.artifact is None:
        raise ProblemsError(result.problems)
    refused = blocking(result.artifact)
    if refused:
        raise ProblemsError(refused)
    context = ExportContext(workspace.settings, workspace.root, now)
    exports: dict[str, dict[str, bytes]] = {}
    errors: list[str] = []
    for esp in esps:
        try:
            exports[esp] = export(esp, result.artifact, context)
        except NewsletterError as error:
            errors.append(f"{workspace.display(issue)}: {error.format_message()}")
    if errors:
        raise NewsletterError("\n".join(errors))
    written = []
    for esp, files in exports.items():
        folder = workspace.out_dir / result.artifact.slug / "export" / esp
        replace_folder(folder, files)
        written.append(Exported(esp, folder, {name: len(data) for name, data in files.items()}))
    return written
