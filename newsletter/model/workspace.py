"""A workspace: the folder with ``newsletter.toml``, ``issues/``, ``templates/`` and ``assets/``.

This is the value every stage is given; :mod:`newsletter.workspace` finds and reads one.
"""

from __future__ import annotations

import os
from pathlib import Path

from newsletter.files import within
from newsletter.model.settings import Settings
from newsletter.model.theme import Theme
from newsletter.record import Record

__all__ = [
    "CONFIG_NAME",
    "ISSUE_SUFFIXES",
    "OUT_NAME",
    "Workspace",
    "builtin_themes",
    "display_path",
]

CONFIG_NAME = "newsletter.toml"
#: The folder of the workspace that builds write into.
OUT_NAME = "out"
ISSUE_SUFFIXES = (".yaml", ".yml", ".md")


def builtin_themes() -> Path:
    """The folder of the themes that ship with the tool.

    An installed wheel carries them as ``newsletter/templates``; a source checkout (or an
    editable install) has them at the repository root, where the GZERO workspace keeps them.
    """
    package = Path(__file__).parent.parent
    packaged = package / "templates"
    return packaged if packaged.is_dir() else package.parent / "templates"


class Workspace(Record):
    """A workspace folder and its validated settings (made by
    :func:`newsletter.workspace.load_workspace`)."""

    root: Path
    settings: Settings
    theme: Theme

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def issues_dir(self) -> Path:
        return self.root / "issues"

    @property
    def out_dir(self) -> Path:
        return self.root / OUT_NAME

    @property
    def theme_dirs(self) -> tuple[Path, ...]:
        """Where the theme's templates are looked up, in order: for each theme of the chain
        (the one named, then the one it extends ...), the workspace's own folder, then the
        built-in one."""
        return self.theme.dirs

    def issue_files(self) -> list[Path]:
        """Every issue file in ``issues/``, oldest name first."""
        if not self.issues_dir.is_dir():
            return []
        return sorted(
            p for p in self.issues_dir.iterdir() if p.suffix in ISSUE_SUFFIXES and p.is_file()
        )

    def display(self, path: Path) -> str:
        """``path`` as an editor would type it: relative to the workspace when inside it."""
        return display_path(path, self.root)


def display_path(path: Path, root: Path | None = None) -> str:
    """``path`` as an editor would type it: relative to ``root`` (default: the current folder)
    when it is inside it as named (a link in the workspace is shown by its own name, not by
    where it leads), else when it is inside it once every link is followed, else as given."""
    base = root or Path.cwd()
    named, top = os.path.abspath(path), os.path.abspath(base)
    if within(named, top):
        return os.path.relpath(named, top)
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)
