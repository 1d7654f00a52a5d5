"""Turn the models' validation errors into :class:`~newsletter.problems.Problem` lines.

:class:`~newsletter.model.base.ValidationError` reports ``loc`` tuples and messages written for
programmers (``Input should be a valid string``). Editors need the field as they typed it (``teasers[1].image.alt``), the line
to go to, and a sentence in their terms, including a suggestion for a misspelt field. This
module does that translation once for every model the tool loads (issues and settings).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, get_args, get_origin

from newsletter.errors import Problem
from newsletter.model.base import ErrorDetails, Model, ValidationError

__all__ = [
    "Loc",
    "field_path",
    "lookup_line",
    "nearest",
    "parse_date",
    "problems_from",
    "strings",
]

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


# Patterns, not compiled ones: only a date that needs words compiles them (re caches them).
_ISO = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_SLASHED = r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})"
_YEAR_FIRST = r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})"
_WORDS_FORMATS = ("%B %d %Y", "%d %B %Y", "%b %d %Y", "%d %b %Y", "%A %B %d %Y")


def _day(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str) -> dt.date:
    """A date written ``YYYY-MM-DD``; anything else is a ``ValueError`` that says what to write.

    ``2026-02-30`` gets "February 2026 has 28 days", ``12/01/2026`` gets both readings
    (December 1 or 12 January) in the one format that has only one, and ``June 26, 2026`` gets
    ``2026-06-26``. Issue files and ``newsletter new --date`` share these words.
    """
    import calendar  # only a date that needs words pays for it

    text = text.strip()
    if match := re.fullmatch(_ISO, text):
        year, month, day = map(int, match.groups())
        if not 1 <= month <= 12:
            raise ValueError(f"there is no month {month}: write the date as YYYY-MM-DD")
        days = calendar.monthrange(year, month)[1]
        if not 1 <= day <= days:
            name = calendar.month_name[month]
            raise ValueError(f"{name} {year} has {days} days, so {text} is not a date")
        return dt.date(year, month, day)
    readings: list[dt.date] = []
    if match := re.fullmatch(_SLASHED, text):
        first, second, year = map(int, match.groups())
        readings = [d for d in (_day(year, first, second), _day(year, second, first)) if d]
    elif match := re.fullmatch(_YEAR_FIRST, text):
        year, month, day = map(int, match.groups())
        readings = [d for d in (_day(year, month, day),) if d]
    else:
        words = re.sub(r"[,\s]+", " ", text).strip()
        for format in _WORDS_FORMATS:
            try:
                readings = [dt.datetime.strptime(words, format).date()]
                break
            except ValueError:
                continue
    readings = list(dict.fromkeys(readings))
    if len(readings) == 2:
        us, eu = readings
        raise ValueError(
            f"write dates as YYYY-MM-DD: {us.isoformat()} for {us:%B} {us.day}, "
            f"or {eu.isoformat()} for {eu.day} {eu:%B}"
        )
    if readings:
        raise ValueError(f"write dates as YYYY-MM-DD: {readings[0].isoformat()}")
    raise ValueError(f"expected a date like 2025-06-26, got text {text!r}")


def problems_from(
    error: ValidationError,
    *,
    file: str,
    model: type[Model],
    line_of: Callable[[Loc], int | None],
) -> list[Problem]:
    """One problem per validation error, worded for an editor, in the order of the file."""
    details = [(detail, detail["loc"]) for detail in error.errors()]
    # A misspelt required field is one mistake: "unknown field 'headlin' (did you mean
    # 'headline'?)" says it all, so the "required field is missing" of 'headline' goes.
    meant = {
        (*loc[:-1], close)
        for detail, loc in details
        if detail["type"] == "extra_forbidden"
        for close in _close_fields(model, loc)
    }
    problems = [
        Problem(file, field_path(loc), _message(detail, model, loc), line=line_of(loc))
        for detail, loc in details
        if not (detail["type"] == "missing" and loc in meant)
    ]
    return sorted(problems, key=lambda p: p.line or 0)


def _close_fields(model: type[Model], loc: Loc) -> list[str]:
    """The known field that the unknown one at ``loc`` most likely means, if any."""
    if not loc:
        return []
    close = nearest(str(loc[-1]), _fields_at(model, loc[:-1]))
    return [close] if close else []


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely misspells, if one is close enough: the one rule of every
    "did you mean" (a field, a merge field, an image file)."""
    import difflib  # only a mistake pays for it

    return next(iter(difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)), None)


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


def _message(detail: ErrorDetails, model: type[Model], loc: Loc) -> str:
    kind = detail["type"]
    got = describe(detail.get("input"))
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = _close_fields(model, loc)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known fields: {', '.join(known)})"
        return "unknown field" + hint
    if kind.startswith("date") or kind.startswith("datetime"):
        value = detail.get("input")
        if isinstance(value, str):
            try:
                parse_date(value)
            except ValueError as error:
                return str(error)
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


def _fields_at(model: type[Model], loc: Loc) -> list[str]:
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
    return list(current.model_fields)


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, Model)


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
