"""Loading a theme: its folders, its ``theme.toml`` layers, and the workspace's overrides.

:func:`load_theme` runs once, when the workspace is loaded, so that an unknown theme, a
misspelt key in a ``theme.toml`` or ``[theme]``, a template override with a syntax error or an
override of a block the base does not have is one clear error before any issue is built
(rather than one confusing error per issue, or an override silently ignored).

The search path of a theme ``x`` that extends ``y`` is ``templates/x/`` of the workspace, the
built-in ``x``, ``templates/y/`` of the workspace, the built-in ``y``: a workspace overrides any
single file of any theme in the chain by putting its own copy in the same place. The values are
laid over each other in the opposite order, ``newsletter.toml``'s ``[theme]`` last.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.errors import Problem, ProblemsError
from newsletter.files import link_outside
from newsletter.model.base import Model, ValidationError
from newsletter.model.issue import real_root
from newsletter.model.theme import Theme, ThemeValues
from newsletter.model.validation import Loc, field_path
from newsletter.model.workspace import builtin_themes
from newsletter.pipeline import parsed
from newsletter.record import Record

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["THEME_FILE", "builtin_theme_names", "load_theme"]

THEME_FILE = "theme.toml"

#: Given the TOML text of a file and a key path, the line of that key (or None).
LineOf = Callable[[str, Loc], int | None]


class _Layer(Record):
    """One source of theme values: a ``theme.toml`` or the ``[theme]`` table."""

    display: str  # the file as an editor names it
    text: str  # its TOML text, to find lines in
    data: dict[str, Any]
    prefix: Loc = ()  # where the values sit in the file: ("theme",) for newsletter.toml


def builtin_theme_names() -> list[str]:
    """The themes that ship with the tool."""
    return sorted(p.parent.name for p in builtin_themes().glob(f"*/{THEME_FILE}"))


def load_theme(
    root: Path,
    name: str,
    overrides: Mapping[str, Any],
    *,
    config: tuple[str, str],
    line_of: LineOf,
) -> Theme:
    """The theme ``name`` as the workspace at ``root`` sees it, ``overrides`` (the ``[theme]``
    table) laid last; ``config`` is newsletter.toml's display name and text. Every problem is
    raised at once as a :class:`ProblemsError`."""
    problems: list[Problem] = []
    display, text = config
    dirs: list[Path] = []
    layers: list[_Layer] = []
    seen: list[str] = []
    here: tuple[str, str, Loc] = (display, text, ("newsletter", "template"))
    while name:
        if name in seen:
            chain = " -> ".join([*seen, name])
            problems.append(
                _problem(here, f"themes extend each other in a circle: {chain}", line_of)
            )
            break
        seen.append(name)
        folders = [d for d in (root / "templates" / name, builtin_themes() / name) if d.is_dir()]
        if not folders:
            known = ", ".join(builtin_theme_names())
            problems.append(
                _problem(
                    here,
                    f"no theme {name!r}: the built-in themes are {known}, or make "
                    f"templates/{name}/ with a {THEME_FILE} that says which one it extends",
                    line_of,
                )
            )
            break
        own = [_read_layer(root, folder, problems) for folder in folders]
        found = [layer for layer in own if layer is not None]
        if not found:
            problems.append(
                _problem(
                    here,
                    f"templates/{name}/ has no {THEME_FILE}: add one with "
                    f'name = "{name}" and extends = "gzero" (or another built-in theme)',
                    line_of,
                )
            )
            break
        dirs.extend(dict.fromkeys(folders))
        layers[:0] = reversed(found)  # this theme's values go over the one it extends
        top = found[0]
        name = str(_merge([layer.data for layer in reversed(found)]).get("extends", ""))
        here = (top.display, top.text, ("extends",))
    if problems:
        raise ProblemsError(problems)

    if overrides:
        layers.append(_Layer(display, text, dict(overrides), ("theme",)))
    merged = _merge([layer.data for layer in layers])
    merged["name"], merged["extends"] = seen[0], seen[1] if len(seen) > 1 else ""
    for layer in layers:
        problems.extend(_unknown_keys(layer, merged, line_of))
    if problems:
        raise ProblemsError(problems)
    try:
        values = ThemeValues.validate(merged)
    except ValidationError as error:
        raise ProblemsError(
            _problem(_setter(layers, tuple(e["loc"])), _message(e), line_of) for e in error.errors()
        ) from None
    theme = Theme(values=values, dirs=tuple(dirs))
    problems.extend(_check_templates(root, theme))
    if problems:
        raise ProblemsError(problems)
    return theme


def _read_layer(root: Path, folder: Path, problems: list[Problem]) -> _Layer | None:
    path = folder / THEME_FILE
    if not path.is_file():
        return None
    display = _display(root, path)
    if folder.is_relative_to(root / "templates"):
        outside = link_outside(str(path), real_root(root))
        if outside is not None:  # its values would be the email's: nothing read through it
            problems.append(
                Problem(display, "", f"a link to {outside}, outside the workspace: copy it in")
            )
            return None
    text = path.read_text(encoding="utf-8")
    try:
        data = parsed.loads_toml(text)
    except ValueError as error:  # tomllib.TOMLDecodeError
        problems.append(Problem(display, "", f"invalid TOML: {error}"))
        return None
    return _Layer(display, text, data)


def _display(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return f"{path.parent.name}/{path.name} (built-in)"


def _merge(tables: list[dict[str, Any]]) -> dict[str, Any]:
    """The tables laid over each other, later ones winning, nested tables merged key by key
    (lists are replaced whole)."""
    out: dict[str, Any] = {}
    for table in tables:
        for key, value in table.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = _merge([out[key], value])
            else:
                out[key] = value
    return out


def _unknown_keys(layer: _Layer, merged: dict[str, Any], line_of: LineOf) -> Iterator[Problem]:
    """Keys of ``layer`` that no theme value has: a typo would otherwise do nothing."""
    allowed = {"name", "extends", "description"} if not layer.prefix else set()
    words = set(merged.get("strings", {}).get("en", {}))
    for key, value in layer.data.items():
        if key in allowed:
            continue
        field = ThemeValues.model_fields.get(key)
        if field is None or key in ("name", "extends", "description"):
            hint = " (the theme itself is [newsletter] template)" if layer.prefix else ""
            yield _problem(_at(layer, (key,)), f"unknown key{hint}", line_of)
        elif key == "strings" and isinstance(value, dict):
            for lang, table in value.items():
                for word in table if isinstance(table, dict) else ():
                    if word not in words:
                        loc: Loc = ("strings", lang, word)
                        known = ", ".join(sorted(words))
                        yield _problem(_at(layer, loc), f"unknown string (known: {known})", line_of)
        elif isinstance(value, dict) and isinstance(field.annotation, type):
            model = field.annotation
            if issubclass(model, Model):
                for sub in value:
                    if sub not in model.model_fields:
                        loc = (key, sub)
                        known = ", ".join(model.model_fields)
                        yield _problem(_at(layer, loc), f"unknown key (known: {known})", line_of)


def _at(layer: _Layer, loc: Loc) -> tuple[str, str, Loc]:
    return layer.display, layer.text, (*layer.prefix, *loc)


def _setter(layers: list[_Layer], loc: Loc) -> tuple[str, str, Loc]:
    """The last layer that sets ``loc`` (or its nearest parent): the file to fix."""
    for end in range(len(loc), 0, -1):
        for layer in reversed(layers):
            node: Any = layer.data
            for part in loc[:end]:
                node = node.get(part) if isinstance(node, dict) and isinstance(part, str) else None
            if node is not None:
                return _at(layer, loc)
    return _at(layers[-1], loc)


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "missing: the theme, or a theme it extends, must set it"
    if error["type"] == "string_pattern_mismatch":
        return f"expected a colour like #1a1a1a, got {error['input']!r}"
    return str(error["msg"])


def _problem(where: tuple[str, str, Loc], message: str, line_of: LineOf) -> Problem:
    display, text, full = where
    return Problem(display, field_path(full), message, line=line_of(text, full))


def _check_templates(root: Path, theme: Theme) -> list[Problem]:
    """The workspace's own templates: each must parse, and a block it overrides must be a
    block of the template it extends (Jinja would ignore it without a word).

    Parsing every override took a quarter of a cold build of a workspace that keeps its own
    copy of a theme (as the GZERO one does), on every command. So a clean result is kept in
    the parse cache under the text of every template of the theme's folders, which a block
    check may read: an edit to any of them checks again, and a problem is never kept."""
    listed = {
        folder: sorted(folder.rglob("*.j2"))
        for folder in theme.dirs
        if folder.is_relative_to(root / "templates")
    }
    own = [(folder, path) for folder, paths in listed.items() for path in paths]
    if not own:
        return []
    links = list(_links_out(root, theme.dirs, own))
    if links:  # nothing read through them
        return links
    read = [
        f"{index} {path.relative_to(folder).as_posix()}\0{path.read_text(encoding='utf-8')}"
        for index, folder in enumerate(theme.dirs)
        for path in listed.get(folder) or sorted(folder.rglob("*.j2"))
    ]
    # Made by this module and render's ThemeLoader, named by file: importing render for its
    # name would import Jinja, which a kept result spares.
    loader = os.path.join(os.path.dirname(__file__), "render.py")
    kind = f"theme templates {parsed.made_by(__file__, loader, libraries=('jinja2',))}"
    sources = "\0\0".join([root.as_posix(), *read])
    if parsed.get(kind, sources) == []:
        return []
    problems = list(_template_problems(root, theme, own))
    if not problems:
        parsed.put(kind, sources, [])
    return problems


def _links_out(
    root: Path, dirs: tuple[Path, ...], own: list[tuple[Path, Path]]
) -> Iterator[Problem]:
    """The workspace's theme folders that are links out of it, and its templates that are
    links out of their theme folder (which rendering refuses too: see
    :class:`newsletter.pipeline.render.ThemeLoader`)."""
    workspace = real_root(root)
    real: dict[Path, str] = {}
    for folder in dirs:
        if folder.is_relative_to(root / "templates"):
            real[folder] = os.path.realpath(folder)
            outside = link_outside(str(folder), workspace)
            if outside is not None:
                shown = folder.relative_to(root).as_posix()
                yield Problem(
                    f"{shown}/",
                    "",
                    f"a link to {outside}, outside the workspace: copy the theme into "
                    f"{shown}/ instead",
                )
    for folder, path in own:
        outside = link_outside(str(path), real[folder])
        if outside is not None:
            yield Problem(
                path.relative_to(root).as_posix(),
                "",
                f"a link to {outside}, outside its theme folder: copy the file in instead",
            )


def _template_problems(root: Path, theme: Theme, own: list[tuple[Path, Path]]) -> Iterator[Problem]:
    from jinja2 import Environment, TemplateSyntaxError, nodes

    from newsletter.pipeline.render import ThemeLoader  # found as rendering finds them

    env = Environment(loader=ThemeLoader(theme.dirs))
    for folder, path in own:
        name = path.relative_to(folder).as_posix()
        display = path.relative_to(root).as_posix()
        try:
            tree = env.parse(path.read_text(encoding="utf-8"), name=name)
        except TemplateSyntaxError as error:
            yield Problem(display, "", f"template error: {error.message}", line=error.lineno)
            continue
        parent = next(iter(tree.find_all(nodes.Extends)), None)
        if parent is None or not isinstance(parent.template, nodes.Const):
            continue
        base = str(parent.template.value)
        known = _blocks(env, base, own=name)
        for block in tree.find_all(nodes.Block):
            if known is not None and block.name not in known:
                yield Problem(
                    display,
                    "",
                    f"block {block.name!r} is not a block of {base} "
                    f"(its blocks: {', '.join(sorted(known))})",
                    line=block.lineno,
                )


def _blocks(env: Environment, name: str, *, own: str) -> set[str] | None:
    """Every block name of ``name`` and the templates it extends (None if it can't be read)."""
    from jinja2 import TemplateError, nodes

    names: set[str] = set()
    seen = {own}
    while name and name not in seen:
        seen.add(name)
        try:
            source = env.loader.get_source(env, name)[0] if env.loader else ""
            tree = env.parse(source)
        except TemplateError:  # not found, not parsed, or a link ThemeLoader refuses
            return None
        names.update(block.name for block in tree.find_all(nodes.Block))
        parent = next(iter(tree.find_all(nodes.Extends)), None)
        name = (
            str(parent.template.value)
            if parent is not None and isinstance(parent.template, nodes.Const)
            else ""
        )
    return names
