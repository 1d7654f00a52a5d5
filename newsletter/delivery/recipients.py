"""The subscriber list: a CSV with an ``email`` column, checked whole before anything is sent.

Every invalid address and every duplicate is reported with its line number, all at once, so
that the editor fixes the list in one pass. Addresses are compared without regard to case;
the first occurrence of a duplicate is the one kept. Other columns (``first_name`` ...) are
the subscriber's merge values.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from newsletter.errors import NewsletterError, Problem

__all__ = ["Recipient", "RecipientList", "check_address", "parse_addresses", "read_recipients"]

# An ASCII address with a dotted domain: what a newsletter list should hold. Sending to
# internationalised addresses (SMTPUTF8) is not supported.
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


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
    """The sendable recipients, in list order, and the problems found on the way."""

    recipients: tuple[Recipient, ...]
    problems: tuple[Problem, ...]


def read_recipients(path: Path, *, display: str | None = None) -> RecipientList:
    """Read and check the list at ``path``."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NewsletterError(f"{name}: no such file") from None
    except UnicodeDecodeError as error:
        raise NewsletterError(f"{name}: not UTF-8 text ({error.reason})") from None
    reader = csv.DictReader(text.splitlines(keepends=True))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "email" not in columns:
        raise NewsletterError(
            f"{name}:1: no 'email' column (columns: {', '.join(columns) or 'none'})"
        )
    reader.fieldnames = columns
    recipients: list[Recipient] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        row = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
        address = row.get("email", "")
        reason = check_address(address)
        if reason:
            problems.append(Problem(name, "email", reason, line))
            continue
        first = seen.setdefault(address.lower(), line)
        if first != line:
            problems.append(Problem(name, "email", f"{address} is also on line {first}", line))
            continue
        recipients.append(Recipient(address, line, row))
    return RecipientList(tuple(recipients), tuple(problems))


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
