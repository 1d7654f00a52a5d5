"""What the checks found: a finding names its rule, its severity, what to do and where."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Literal

from newsletter.record import Record

__all__ = ["SEVERITIES", "Finding", "Severity", "summary"]

Severity = Literal["error", "warning", "info"]
#: Most severe first: the order findings are reported in.
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

_PLURAL = {"error": "errors", "warning": "warnings", "info": "info"}


class Finding(Record):
    """One thing to fix before sending: which rule, how bad, what to do, and where."""

    id: str
    severity: Severity
    message: str
    location: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "severity": self.severity,
            "message": self.message,
            "location": self.location,
        }

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message} [{self.id}]"


def summary(severities: Iterable[str], *, always: bool = False) -> str:
    """``1 error, 2 warnings``: the severities that occur (all three when ``always``)."""
    counts = Counter(severities)
    parts = [
        f"{counts[s]} {s if counts[s] == 1 else _PLURAL[s]}"
        for s in SEVERITIES
        if counts[s] or always
    ]
    return ", ".join(parts) or "no findings"
