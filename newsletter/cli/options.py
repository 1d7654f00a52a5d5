"""Options several commands share, and the workspace they act on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # imported for type checkers only, at no run-time cost
    from newsletter.model.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])


def workspace_option(func: F) -> F:
    """``--workspace DIR``; without it the workspace is found from the current folder up."""
    return click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The workspace folder (default: the one holding the current folder).",
    )(func)


def issues_argument(func: F) -> F:
    """``[ISSUE...]``: issue files; none means every issue in the workspace."""
    return click.argument("issues", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))(func)


def open_workspace(path: Path | None) -> Workspace:
    """The workspace at ``path``, or the one found from the current folder."""
    from newsletter.workspace import find_workspace, load_workspace

    if path is not None:
        if not path.is_dir():
            raise click.BadParameter(f"no such folder: {path}", param_hint="'--workspace'")
        return load_workspace(path)
    return find_workspace()


def issue_paths(workspace: Workspace, given: tuple[Path, ...]) -> list[Path]:
    """The issue files a command works on: those given (which must exist), or all of them."""
    if not given:
        paths = workspace.issue_files()
        if not paths:
            raise click.UsageError(
                f"no issue files in {workspace.issues_dir}; try 'newsletter new SLUG'"
            )
        return paths
    return [find_issue(workspace, path) for path in given]


def find_issue(workspace: Workspace, given: Path) -> Path:
    """The issue file ``given`` names: a path, or a slug or a unique part of a file name in
    ``issues/`` (``putin`` for ``issues/2025-06-26-putin-poaches-the-neighbors.yaml``).

    Nothing is guessed: a part that matches several files, or none, is a usage error that
    lists the candidates or the nearest names.
    """
    import difflib
    import re

    def undated(path: Path) -> str:
        return re.sub(r"^\d{4}-\d{2}-\d{2}-", "", path.stem.lower())

    if given.is_file():
        return given
    files = workspace.issue_files()
    word = given.name.lower()
    stem = given.stem.lower() if given.suffix in (".yaml", ".yml", ".md") else word
    exact = [p for p in files if stem in (p.stem.lower(), undated(p))]
    matches = exact or [p for p in files if stem in p.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(workspace.display(p) for p in matches[:5])
        raise click.BadParameter(
            f"{given} matches {len(matches)} issues ({names}): give more of the name",
            param_hint="'ISSUE'",
        )
    by_name = {p.stem.lower(): p for p in files} | {undated(p): p for p in files}
    close = difflib.get_close_matches(stem, [n for n in by_name if n], n=1, cutoff=0.6)
    hint = workspace.display(by_name[close[0]]) if close else None
    suffix = f" (did you mean {hint}?)" if hint else ""
    raise click.BadParameter(f"no such file: {given}{suffix}", param_hint="'ISSUE'")


def echo_warnings(warnings: Iterable[str]) -> None:
    """An issue file's own warnings, a line each under the issue's line: ``validate`` and
    ``build`` say them alike."""
    from newsletter.errors import styled

    for warning in warnings:
        click.echo(f"  {styled('warning:', 'warning')} {warning}")
