"""Turn pydantic's validation errors into :class:`~newsletter.problems.Problem` lines.

Pydantic reports ``loc`` tuples and messages written for programmers (``Input should be a
valid string``). Editors need the field as they typed it (``teasers[1].image.alt``), the line
to go to, and a sentence in their terms, including a suggestion for a misspelt field. This
module does that translation once for every model the tool loads (issues and settings).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from newsletter.errors import Problem

__all__ = ["Loc", "field_path", "lookup_line", "problems_from", "strings"]

Loc = tuple[str | int, ...]


def field_path(loc: Sequence[str | int]) -> str:
    """``("teasers", 0, "url")`` as an editor reads it: ``teasers[0].url``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def strings(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every text in nested mappings and lists, with the field path that holds it."""
    if isinstance(data, str):
        yield loc, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from strings(value, (*loc, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from strings(value, (*loc, index))


def lookup_line(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    """The line of ``loc``, or of its nearest ancestor that has one (a missing field's parent)."""
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def problems_from(
    error: ValidationError,
    *,
    file: str,
    model: type[BaseModel],
    line_of: Callable[[Loc], int | None],
) -> list[Problem]:
    """One problem per pydantic error, worded for an editor, in the order of the file."""
    problems = []
    for detail in error.errors(include_url=False):
        loc = _data_loc(detail["loc"])
        problems.append(
            Problem(file, field_path(loc), _message(detail, model, loc), line=line_of(loc))
        )
    return sorted(problems, key=lambda p: p.line or 0)


def _data_loc(loc: Sequence[str | int]) -> Loc:
    """Drop pydantic's validator tags (``function-after[...]``) so only data keys remain."""
    return tuple(part for part in loc if not (isinstance(part, str) and "[" in part))


_WORDS: dict[type, str] = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping of fields",
    type(None): "nothing (an empty value)",
    dt.date: "a date",
    dt.datetime: "a date and time",
}


def describe(value: Any) -> str:
    """A value as an editor would name what they wrote: ``text 'June 26'``, ``a list``."""
    word = _WORDS.get(type(value), type(value).__name__)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "...'"
        return f"{word} {shown}"
    return word


def _message(detail: ErrorDetails, model: type[BaseModel], loc: Loc) -> str:
    kind = detail["type"]
    got = describe(detail.get("input"))
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known fields: {', '.join(known)})"
        return "unknown field" + hint
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"expected a date like 2025-06-26, got {got}"
    if kind in ("string_type", "string_sub_type"):
        return f"expected text, got {got}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of fields, got {got}"
    if kind == "list_type":
        return f"expected a list, got {got}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {got}"
    if kind == "literal_error":
        expected = detail.get("ctx", {}).get("expected", "")
        return f"expected one of {expected}, got {got}"
    if kind == "value_error":
        return str(detail["msg"]).removeprefix("Value error, ")
    if kind == "string_too_short":
        return "must not be empty"
    return f"{detail['msg']}, got {got}"


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names (as written in files) of the model found at ``loc`` under ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part)) if _is_model(current) else None
        if field is None:
            return []
        current = _inner_model(field.annotation)
    if not _is_model(current):
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _inner_model(annotation: Any) -> Any:
    """The model inside ``Image | None`` or ``list[Teaser]``, or the annotation itself."""
    if _is_model(annotation):
        return annotation
    if get_origin(annotation) is not None or get_args(annotation):
        for arg in get_args(annotation):
            inner = _inner_model(arg)
            if _is_model(inner):
                return inner
    return annotation
