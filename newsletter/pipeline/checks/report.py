"""How findings read on a terminal: grouped by severity, one line each, counted in a summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

__all__ = ["count", "lines"]

_ORDER = ("error", "warning", "info")
_PLURAL = {"error": "errors", "warning": "warnings", "info": "info"}


def count(severities: Iterable[str], *, always: bool = False) -> str:
    """``1 error, 2 warnings``: the severities that occur (all three when ``always``)."""
    counts = Counter(severities)
    parts = [
        f"{counts[s]} {s if counts[s] == 1 else _PLURAL[s]}" for s in _ORDER if counts[s] or always
    ]
    return ", ".join(parts) or "no findings"


def lines(findings: Sequence[dict[str, str]]) -> Iterator[tuple[str, str]]:
    """``(severity, line)`` for each finding, errors first, as ``location: message [id]``."""
    for severity in _ORDER:
        for finding in findings:
            if finding["severity"] == severity:
                yield severity, f"{finding['location']}: {finding['message']} [{finding['id']}]"
