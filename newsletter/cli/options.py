"""Options several commands share, and the workspace they act on."""

from __future__ import annotations

from collections.abc import Callable
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
    missing = [str(p) for p in given if not p.is_file()]
    if missing:
        raise click.BadParameter(f"no such file: {', '.join(missing)}", param_hint="'ISSUE'")
    return list(given)
