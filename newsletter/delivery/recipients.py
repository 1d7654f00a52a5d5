"""The subscriber list: a CSV with an ``email`` column, read strictly and checked whole before
anything is sent.

A list is the one input a stranger can shape (a sign-up form, an export from another tool), and
a CSV that is only slightly broken still parses: one stray ``"`` makes the rest of the file a
single name, and a lenient reader then sends to the rows before it and reports success. So the
reader refuses, each with its line, and nothing is sent:

- a row whose number of fields differs from the header's;
- a quote that does not close on its line (a field that spans lines, or the end of the file
  reached inside quotes): no address or name holds a line break;
- a field over :data:`MAX_FIELD` characters (and the ``csv`` module's own 128 KB limit, as a
  one-line error rather than a traceback);
- an address inside a name, and a control character (CR, LF, NUL ...) in a field that reaches a
  message: the signs of a shifted row or of header injection.

These stop the send whatever ``--force`` says. An invalid address and a duplicate (case does
not count; the first one is kept) are reported with their lines too, all at once, and
``--force`` skips them. The columns ``unsubscribe_url``, ``web_version_url`` and
``preferences_url`` are reserved merge fields, made for each subscriber by the sender and never
taken from the list: a list that has one is refused (``--force`` ignores the column).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.mail.values import control_character
from newsletter.model import mergefields

__all__ = [
    "MAX_FIELD",
    "RESERVED_COLUMNS",
    "Recipient",
    "RecipientList",
    "check_address",
    "parse_addresses",
    "read_recipients",
]

# An ASCII address with a dotted domain: what a newsletter list should hold. Sending to
# internationalised addresses (SMTPUTF8) is not supported.
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
#: Something that looks like an address inside another field (a row shifted by a quote).
_ADDRESS_INSIDE = re.compile(r"[^\s@,;<>\"']+@[^\s@,;<>\"']+\.[A-Za-z]{2,}")

_BREAK = re.compile(r"\r\n|\r|\n")

#: The longest field a subscriber list has any business holding (an address is at most 254).
MAX_FIELD = 1000

#: Merge fields the sender makes for each subscriber; a list never provides them.
RESERVED_COLUMNS = tuple(name for name in mergefields.FIELDS if name.endswith("_url"))

#: The columns whose values reach a message (a header or a part).
_USED = ("email", "first_name")


def check_address(address: str) -> str | None:
    """Why ``address`` cannot be sent to, or None when it can."""
    if not address:
        return "no address"
    if len(address) > 254 or not _ADDRESS.fullmatch(address):
        return f"invalid address {address!r}"
    return None


@dataclass(frozen=True)
class Recipient:
    """One subscriber: the address, its line in the list, and every column of the row."""

    email: str
    line: int
    row: Mapping[str, str]

    @property
    def key(self) -> str:
        """The address as the journal knows it (case does not make another subscriber)."""
        return self.email.lower()


@dataclass(frozen=True)
class RecipientList:
    """A list checked whole: the problems ``--force`` may skip, how many rows it has and how
    many of them are sendable recipients (so that a summary can say ``rows`` read, ``count`` to
    get it), and the recipients themselves, in list order, each time it is iterated.

    The recipients are read again from the list's text at each iteration rather than kept: a
    list of 100,000 is a few megabytes of text but ten times that as objects, and a send needs
    only one batch of them at a time. The checks are not made again: the lines of the rows
    they left out (``skipped``) are.
    """

    problems: tuple[Problem, ...]
    rows: int
    count: int
    text: str = field(repr=False)
    name: str
    skipped: frozenset[int] = field(repr=False)

    def __iter__(self) -> Iterator[Recipient]:
        return _read(self.text, self.name, _Findings(), self.skipped)

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        """Every recipient at once (a test send's few, a dry run)."""
        return tuple(self)


@dataclass
class _Findings:
    """What a reading of the list found besides its recipients."""

    problems: list[Problem] = field(default_factory=list)
    fatal: list[Problem] = field(default_factory=list)
    rows: int = 0
    #: the lines of the rows left out (an invalid or repeated address)
    skipped: set[int] = field(default_factory=set)


def read_recipients(path: Path, *, display: str | None = None) -> RecipientList:
    """Read and check the list at ``path``; raise :class:`ProblemsError` (every structural
    problem, with its line) when it cannot be trusted at all."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NewsletterError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise NewsletterError(f"{name}: a folder, not a CSV file") from None
    except PermissionError:
        raise NewsletterError(f"{name}: cannot read it (permission denied)") from None
    except UnicodeDecodeError as error:
        raise NewsletterError(f"{name}: not UTF-8 text ({error.reason})") from None
    return _parse(text, name)


def _parse(text: str, name: str) -> RecipientList:
    findings = _Findings()
    count = sum(1 for _ in _read(text, name, findings))
    if findings.fatal:
        raise ProblemsError(findings.fatal)
    return RecipientList(
        tuple(findings.problems), findings.rows, count, text, name, frozenset(findings.skipped)
    )


def _read(
    text: str, name: str, findings: _Findings, checked: frozenset[int] | None = None
) -> Iterator[Recipient]:
    """The sendable recipients of the list's ``text``, in order; its problems go to
    ``findings`` (a structural one ends the reading). A list ``checked`` before is read
    without its checks, leaving out the rows on the lines ``checked`` names."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise ProblemsError([_csv_problem(name, error, 1)]) from None
    columns = [c.strip().lower() for c in header or []]
    if "email" not in columns:
        raise NewsletterError(
            f"{name}:1: no 'email' column (columns: {', '.join(columns) or 'none'})"
        )
    doubled = sorted({c for c in columns if columns.count(c) > 1 and c})
    if doubled:
        raise NewsletterError(f"{name}:1: the column {', '.join(doubled)} appears twice")
    findings.problems += [
        Problem(
            name,
            column,
            "a reserved merge field, made for each subscriber from newsletter.toml and never "
            "taken from the list: remove the column (--force ignores it)",
            1,
        )
        for column in columns
        if column in RESERVED_COLUMNS
    ]
    seen: dict[str, int] = {}
    last = reader.line_num
    while True:
        start = last + 1
        try:
            record = next(reader, None)
        except csv.Error as error:
            findings.fatal.append(_csv_problem(name, error, start, reader.line_num))
            break
        if record is None:
            break
        last = reader.line_num
        if not any(value.strip() for value in record):  # a blank line
            continue
        findings.rows += 1
        if checked is not None:  # no field of a checked list spans lines
            if last not in checked:
                yield Recipient(*_row(columns, record, last))
            continue
        # a blank line before the record moves its start; a line break inside a field does not
        start = last - sum(len(_BREAK.findall(value)) for value in record)
        row_problems = _structure(name, record, columns, start, last)
        if row_problems:
            findings.fatal += row_problems
            continue
        address, _, row = _row(columns, record, start)
        reason = check_address(address)
        first = seen.setdefault(address.lower(), start) if not reason else start
        if reason or first != start:
            findings.skipped.add(start)
            findings.problems.append(
                Problem(name, "email", reason or f"{address} is also on line {first}", start)
            )
            continue
        yield Recipient(address, start, row)


def _row(columns: list[str], record: list[str], line: int) -> tuple[str, int, dict[str, str]]:
    """A row's address, line and columns (the reserved ones left out)."""
    row = {
        column: value.strip()
        for column, value in zip(columns, record, strict=True)
        if column not in RESERVED_COLUMNS
    }
    return row["email"], line, row


def _structure(
    name: str, record: list[str], columns: list[str], start: int, end: int
) -> list[Problem]:
    """What makes this row untrustworthy as a whole (a shifted or broken row)."""
    if end > start:
        return [
            Problem(
                name,
                "",
                f"a quoted field runs on to line {end}: a quote that does not close? "
                "(no address or name holds a line break)",
                start,
            )
        ]
    if len(record) != len(columns):
        return [
            Problem(
                name,
                "",
                f"{len(record)} field{'s' if len(record) != 1 else ''}, but the header has {len(columns)}: a stray comma or "
                'quote? (quote a field that holds a comma: "Smith, Ann")',
                start,
            )
        ]
    found: list[Problem] = []
    for column, value in zip(columns, record, strict=True):
        if len(value) > MAX_FIELD:
            found.append(
                Problem(
                    name,
                    column,
                    f"{len(value):,} characters, over the {MAX_FIELD:,} a list field may hold",
                    start,
                )
            )
        elif column in _USED and (char := control_character(value)):
            found.append(
                Problem(name, column, f"holds a control character ({char}): remove it", start)
            )
        elif column in _USED and column != "email" and (inside := _ADDRESS_INSIDE.search(value)):
            found.append(
                Problem(
                    name,
                    column,
                    f"holds an address ({inside.group()}): a quote or comma out of place "
                    "shifted this row?",
                    start,
                )
            )
    return found


def _csv_problem(name: str, error: csv.Error, line: int, end: int = 1) -> Problem:
    """The ``csv`` module's complaint as one line, with what to do about it; ``line`` is where
    the record starts, ``end`` where the reader was when it gave up."""
    message = str(error)
    if "field larger than field limit" in message:
        message = (
            f"a field over {csv.field_size_limit():,} characters: a quote that does not close?"
        )
    elif "unexpected end of data" in message:
        message = "the file ends inside a quoted field: a quote that does not close?"
    elif "expected after" in message:
        message = (
            "a stray quote: the quoted field that opens here closes inside a field on line "
            f'{end} (quote a whole field: "Smith, Ann"; write a quote in it as "")'
        )
    elif "NUL" in message:
        message = "holds a NUL character: is this a CSV file?"
    else:
        message = f"not valid CSV ({message}): a stray quote?"
    return Problem(name, "", message, line)


def parse_addresses(given: Sequence[str]) -> tuple[list[str], list[str]]:
    """``--to`` values (comma-separated, possibly repeated): the addresses and the problems."""
    addresses: list[str] = []
    problems: list[str] = []
    for value in given:
        for address in filter(None, (a.strip() for a in value.split(","))):
            reason = check_address(address)
            if reason:
                problems.append(reason)
            elif address.lower() not in (a.lower() for a in addresses):
                addresses.append(address)
    return addresses, problems
