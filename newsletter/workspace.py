"""A workspace: the folder with ``newsletter.toml``, ``issues/``, ``templates/`` and ``assets/``.

Commands find it the way git finds a repository, by walking up from the current folder, or
take it from ``--workspace``. The settings are read once, validated whole, and every problem
names ``newsletter.toml``, the key, and the line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.model.settings import Settings
from newsletter.model.validation import Loc, problems_from

__all__ = ["CONFIG_NAME", "ISSUE_SUFFIXES", "Workspace", "builtin_themes"]

CONFIG_NAME = "newsletter.toml"
ISSUE_SUFFIXES = (".yaml", ".yml", ".md")


def builtin_themes() -> Path:
    """The folder of the themes that ship with the tool.

    An installed wheel carries them as ``newsletter/templates``; a source checkout (or an
    editable install) has them at the repository root, where the GZERO workspace keeps them.
    """
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"


@dataclass(frozen=True)
class Workspace:
    """A workspace folder and its validated settings."""

    root: Path
    settings: Settings

    @classmethod
    def load(cls, root: Path) -> Workspace:
        """Read ``root/newsletter.toml``; raise :class:`ProblemsError` naming every bad key."""
        root = root.resolve()
        path = root / CONFIG_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NewsletterError(f"{path}: no {CONFIG_NAME} here") from None
        display = _display(path, root)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            # Python 3.11's error has the position only in its message: "... (at line 12, column 3)"
            found = re.search(r" \(at line (\d+), column \d+\)$", str(error))
            line = int(found[1]) if found else None
            message = str(error)[: found.start()] if found else str(error)
            raise ProblemsError(
                [Problem(display, "", f"invalid TOML: {message}", line=line)]
            ) from None
        try:
            settings = Settings.model_validate(data)
        except ValidationError as error:
            problems = problems_from(
                error, file=display, model=Settings, line_of=lambda loc: _toml_line(text, loc)
            )
            raise ProblemsError(problems) from None
        return cls(root, settings)

    @classmethod
    def find(cls, start: Path | None = None) -> Workspace:
        """The workspace that holds ``start`` (default: the current folder), walking upwards."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file():
                return cls.load(folder)
        raise NewsletterError(
            f"no {CONFIG_NAME} in {here} or any folder above it; "
            "run 'newsletter init DIR' to make a workspace, or pass --workspace"
        )

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def issues_dir(self) -> Path:
        return self.root / "issues"

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    @property
    def theme_dirs(self) -> tuple[Path, ...]:
        """Where the theme's templates are looked up: the workspace's own first, then built-in."""
        name = self.settings.newsletter.template
        own = self.root / "templates" / name
        builtin = builtin_themes() / name
        dirs = [d for d in (own, builtin) if d.is_dir()]
        if not dirs:
            raise NewsletterError(
                f"{_display(self.config_path)}: newsletter.template: no theme '{name}' "
                f"in {own} or among the built-in themes"
            )
        return tuple(dict.fromkeys(dirs))

    def issue_files(self) -> list[Path]:
        """Every issue file in ``issues/``, oldest name first."""
        if not self.issues_dir.is_dir():
            return []
        return sorted(
            p for p in self.issues_dir.iterdir() if p.suffix in ISSUE_SUFFIXES and p.is_file()
        )

    def display(self, path: Path) -> str:
        """``path`` as an editor would type it: relative to the workspace when inside it."""
        return _display(path, self.root)


def _display(path: Path, root: Path | None = None) -> str:
    base = root or Path.cwd()
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)


def _toml_line(text: str, loc: Loc) -> int | None:
    """The line of a key in TOML text: its table's header, then the key under it.

    tomllib keeps no positions, and settings files are small and regular, so a scan for
    ``[table]`` followed by ``key =`` finds the line an editor needs to look at; a missing key
    points at its table's header.
    """
    keys = [part for part in loc if isinstance(part, str)]
    lines = text.splitlines()
    for split in range(len(keys) - 1, -1, -1):
        table, key = keys[:split], keys[split]
        span = _table_span(lines, table)
        if span is None:
            continue
        start, end = span
        for i in range(start, end):
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
                return i + 1
        subtable = _table_span(lines, [*table, key])
        if subtable is not None:
            return subtable[0]
        if table:
            return start
    return None


def _table_span(lines: list[str], table: list[str]) -> tuple[int, int] | None:
    """The index range of the lines that belong to ``[table]`` (the top level when empty)."""
    headers = [i for i, line in enumerate(lines) if re.match(r"\s*\[", line)]
    if not table:
        return 0, headers[0] if headers else len(lines)
    pattern = re.compile(r"\s*\[\s*" + r"\s*\.\s*".join(map(re.escape, table)) + r"\s*\]\s*(#.*)?$")
    for h in headers:
        if pattern.match(lines[h]):
            end = next((i for i in headers if i > h), len(lines))
            return h + 1, end
    return None
