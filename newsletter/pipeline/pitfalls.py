"""The YAML mistakes that everyday news copy makes, explained in an editor's words.

A parser reports ``mapping values are not allowed in this context`` for ``headline: Gaza: the
ceasefire holds``; an editor needs to hear that the second colon started a new field and that
double quotes fix it. Each function here looks at the lines of the file around what the parser
(or the model) found and, when it recognises a known pitfall, returns a sentence that says
what happened and how to fix it, with the fixed line where one can be written. Anything not
recognised is left to the parser's own words.
"""

from __future__ import annotations

import json
import re

from newsletter.record import Record

__all__ = ["Explained", "block_above", "emptied_by_comment", "explain_yaml_error", "path_at"]

#: ``key: value`` at the start of a line, possibly a list item (``- key: value``).
_KEY = re.compile(
    r"^(?P<indent> *)(?P<dash>(?:- +)*)(?P<key>[A-Za-z_][\w-]*):(?: +(?P<value>.*))?$"
)
#: A key whose value is a block scalar (``body: |``, ``summary: >-``).
_BLOCK = re.compile(
    r"^(?P<indent> *)(?:- +)*(?P<key>[A-Za-z_][\w-]*): *[|>][+-]?\d*[+-]? *(?:#.*)?$"
)


class Explained(Record):
    """A pitfall recognised at ``line`` (1-based, in the YAML text) in ``field``."""

    line: int
    field: str
    message: str


def _key_column(line: str) -> int | None:
    match = _KEY.match(line)
    return len(match["indent"]) + len(match["dash"]) if match else None


def path_at(lines: list[str], index: int) -> str:
    """The field path (``teasers[1].summary``) of the key on line ``index`` (0-based), worked
    out from the indentation of the lines above it, as the parser would nest them."""
    match = _KEY.match(lines[index])
    if match is None:
        return ""
    parts: list[str] = [match["key"]]
    column = len(match["indent"]) + len(match["dash"])
    dash_column = len(match["indent"]) if match["dash"] else None
    items = 0  # list items above the one that holds the current key
    for line in reversed(lines[:index]):
        stripped = line.lstrip(" ")
        if not stripped.strip() or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        is_item = stripped.startswith("-")
        if dash_column is None and is_item and indent < column and _key_column(line) == column:
            dash_column, items = indent, 0  # the list item that holds the current key
            continue
        if dash_column is not None and is_item and indent == dash_column:
            items += 1
            continue
        found = _KEY.match(line)
        if found is None or len(found["indent"]) + len(found["dash"]) >= column:
            continue
        parts.insert(0, f"{found['key']}[{items}]" if dash_column is not None else found["key"])
        column = len(found["indent"]) + len(found["dash"])
        dash_column = len(found["indent"]) if found["dash"] else None
        items = 0
        if column == 0:
            break
    return ".".join(parts)


def block_above(lines: list[str], index: int) -> tuple[str, int] | None:
    """When line ``index`` (0-based) follows the text of a block scalar (``body: |``) but is
    indented less than that text, the block's field path and its text's indentation."""
    line = lines[index]
    indent = len(line) - len(line.lstrip(" "))
    content_indent: int | None = None
    for above in range(index - 1, -1, -1):
        text = lines[above]
        if not text.strip():
            continue
        above_indent = len(text) - len(text.lstrip(" "))
        if _BLOCK.match(text):
            if content_indent is None or content_indent <= indent:
                return None
            return path_at(lines, above), content_indent
        if above_indent <= indent:
            return None
        content_indent = above_indent
    return None


def emptied_by_comment(line: str) -> str | None:
    """The text a ``key: #text`` line lost to a comment (``#`` starts one in YAML), if any."""
    match = _KEY.match(line)
    value = match["value"] if match else None
    return value.rstrip() if value and value.startswith("#") else None


def _quoted(value: str) -> str:
    """``value`` as a YAML double-quoted string (JSON's escaping is YAML's)."""
    return json.dumps(value.strip(), ensure_ascii=False)


def explain_yaml_error(
    lines: list[str], problem: int | None, context: int | None, what: str
) -> Explained | None:
    """A pitfall behind the parser's error ``what`` on line ``problem`` (its ``context`` line:
    where the construct it was reading began), both 0-based, or ``None``.

    A dedented line is looked for on the context line first: the parser, reading it as a key,
    only fails on the line after it.
    """
    candidates = [i for i in (problem, context) if i is not None and 0 <= i < len(lines)]
    for index in candidates:  # a tab in the indentation
        line = lines[index]
        if "\t" in line[: len(line) - len(line.lstrip(" \t"))]:
            return Explained(
                index + 1,
                path_at([text.replace("\t", "    ") for text in lines], index),
                "this line is indented with a tab; YAML indents with spaces only: "
                "replace the tab with spaces",
            )
    for index in candidates:  # an apostrophe inside single quotes
        match = _KEY.match(lines[index])
        value = (match["value"] or "") if match else ""
        if value.startswith("'") and re.search(r"\w'\w", value[1:]):
            inner = value.strip()[1:-1] if value.strip().endswith("'") else value[1:]
            return Explained(
                index + 1,
                path_at(lines, index),
                f"an apostrophe ends text in single quotes early: use double quotes instead, "
                f"{match['key'] if match else ''}: {_quoted(inner)}",
            )
    for index in reversed(candidates):  # a line of a block scalar not indented under it
        block = block_above(lines, index)
        if block is not None:
            field, indent = block
            return Explained(
                index + 1,
                field,
                f"this line is not indented under {field}: indent it by {indent} spaces, as the "
                "lines above it are",
            )
    if "mapping values are not allowed" in what and problem is not None:
        for index in (problem, problem - 1):  # a colon and a space inside a value
            match = _KEY.match(lines[index]) if 0 <= index < len(lines) else None
            value = match["value"] if match else None
            if match and value and ": " in value and not value.startswith(("'", '"')):
                return Explained(
                    index + 1,
                    path_at(lines, index),
                    "a colon followed by a space starts a new field, so this text needs "
                    f"quotes: {match['key']}: {_quoted(value)}",
                )
    return None
