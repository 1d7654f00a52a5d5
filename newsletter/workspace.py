"""Finding and reading a workspace: ``newsletter.toml`` validated whole, every problem on a line.

Commands find the workspace the way git finds a repository, by walking up from the current
folder, or take it from ``--workspace``. The settings are read once and validated whole; each
problem names ``newsletter.toml``, the key, and the line. This module sits above the pipeline
because ``[check.rules]`` is checked against the rules the checks stage really has, and the
theme (``[newsletter] template``, its ``theme.toml`` chain and ``[theme]``) is loaded and checked
here too, once, rather than failing again in every issue's build.
"""

from __future__ import annotations

import re
from pathlib import Path

from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.files import link_outside
from newsletter.model.base import ValidationError
from newsletter.model.settings import Settings
from newsletter.model.validation import Loc, problems_from
from newsletter.model.workspace import CONFIG_NAME, OUT_NAME, Workspace, display_path
from newsletter.pipeline import parsed
from newsletter.pipeline.theme import load_theme

__all__ = ["find_workspace", "load_workspace"]


def load_workspace(root: Path) -> Workspace:
    """Read ``root/newsletter.toml``; raise :class:`ProblemsError` naming every bad key."""
    root = root.resolve()
    path = root / CONFIG_NAME
    display = display_path(path, root)
    _refuse_links_out(root, display)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NewsletterError(f"{path}: no {CONFIG_NAME} here") from None
    try:
        data = parsed.loads_toml(text)
    except ValueError as error:  # tomllib.TOMLDecodeError
        # Python 3.11's error has the position only in its message: "... (at line 12, column 3)"
        found = re.search(r" \(at line (\d+), column \d+\)$", str(error))
        line = int(found[1]) if found else None
        message = str(error)[: found.start()] if found else str(error)
        raise ProblemsError([Problem(display, "", f"invalid TOML: {message}", line=line)]) from None
    try:
        settings = Settings.validate(data)
    except ValidationError as error:
        problems = problems_from(
            error, file=display, model=Settings, line_of=lambda loc: _toml_line(text, loc)
        )
        raise ProblemsError(problems) from None
    unknown = _unknown_rules(settings)
    if unknown:
        raise ProblemsError(
            Problem(
                display,
                f"check.rules.{rule_id}",
                f"unknown rule id {rule_id!r} (known: {', '.join(known)})",
                line=_toml_line(text, ("check", "rules", rule_id)),
            )
            for rule_id, known in unknown
        )
    theme = load_theme(
        root,
        settings.newsletter.template,
        settings.theme,
        config=(display, text),
        line_of=_toml_line,
    )
    return Workspace(root, settings, theme)


def _refuse_links_out(root: Path, display: str) -> None:
    """Refuse a workspace whose settings file or ``out/`` is a link that leads out of it,
    before either is read or written: a cloned workspace may come from anyone, and its
    ``out -> ~`` would have a build replace ``~/<slug>`` with an email folder (and a settings
    file linked to a file of the editor's could put its text into every email)."""
    problems = []
    outside = link_outside(str(root / CONFIG_NAME), str(root))
    if outside is not None:
        problems.append(
            Problem(display, "", f"a link to {outside}, outside the workspace: copy it in")
        )
    out = root / OUT_NAME
    outside = link_outside(str(out), str(root))
    if outside is not None:
        message = (
            f"a link to {outside}, outside the workspace, where builds would write: remove "
            "the link (rm out) and builds make out/ here; `newsletter site --out DIR` writes "
            "the web archive anywhere"
        )
        problems.append(Problem(display_path(out, root) + "/", "", message))
    if problems:
        raise ProblemsError(problems)


def find_workspace(start: Path | None = None) -> Workspace:
    """The workspace that holds ``start`` (default: the current folder), walking upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return load_workspace(folder)
    raise NewsletterError(
        f"no {CONFIG_NAME} in {here} or any folder above it; "
        "run 'newsletter init DIR' to make a workspace, or pass --workspace"
    )


def _unknown_rules(settings: Settings) -> list[tuple[str, list[str]]]:
    """``[check.rules]`` ids the checks stage has no rule for, each with the known ids."""
    if not settings.check.rules:
        return []
    from newsletter.pipeline.checks import RULES  # only a [check.rules] table pays for it

    return [(rule_id, list(RULES)) for rule_id in settings.check.rules if rule_id not in RULES]


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
