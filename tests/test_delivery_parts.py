"""The parts of delivery on their own: the list check, the preflight rule, the rate limiter."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter import build_issue
from newsletter.commands.send import preflight
from newsletter.delivery.ratelimit import RateLimiter
from newsletter.delivery.recipients import parse_addresses, read_recipients
from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.workspace import load_workspace

from .delivery_support import ISSUE, make_workspace


def test_recipients_by_line(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "\ufeffEmail , First_Name,plan\n"
        "ann@example.com,Ann,pro\n"
        '"bob, the builder@example.com",Bob,\n'
        "\n"
        "ann@example.com,Again,\n"
        "cy@example.com,,free\n"
        "dee@münchen.de,Dee,\n"
    )
    listed = read_recipients(path, display="list.csv")
    assert listed.count == 2  # read again, without the rows left out, at each iteration
    assert [(r.email, r.line, r.row["first_name"]) for r in listed.recipients] == [
        ("ann@example.com", 2, "Ann"),
        ("cy@example.com", 6, ""),
    ]
    assert [str(p) for p in listed.problems] == [
        "list.csv:3: email: invalid address 'bob, the builder@example.com'",
        "list.csv:5: email: ann@example.com is also on line 2",
        "list.csv:7: email: invalid address 'dee@münchen.de'",
    ]


def test_a_list_without_an_email_column(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("mail,name\nann@example.com,Ann\n")
    with pytest.raises(
        NewsletterError, match=r"list.csv:1: no 'email' column \(columns: mail, name\)"
    ):
        read_recipients(path, display="list.csv")


def test_to_addresses() -> None:
    assert parse_addresses(["a@example.com, b@example.com", "A@example.com", "x@"]) == (
        ["a@example.com", "b@example.com"],
        ["invalid address 'x@'"],
    )


def test_preflight_refuses_on_error_findings_only(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", '[check.rules]\nclient-support = "warning"\n')
    ws = load_workspace(root)
    tricky = build_issue(root / "issues/2025-06-27-tricky.yaml", ws).artifact
    example = build_issue(root / ISSUE, ws).artifact
    assert tricky is not None and example is not None
    errors = tricky.errors()
    assert errors and {f.id for f in errors} == {"leftover-template"}
    assert example.findings and not example.errors()  # warnings only: they never refuse
    listed = [Problem("list.csv", "email", "no address", 3)]
    with pytest.raises(ProblemsError) as refused:
        preflight(tricky, [], listed, ws.settings, force=False)
    assert [str(p) for p in refused.value.problems] == [
        "list.csv:3: email: no address",
        *(f"{f.location}: check {f.id}: {f.message}" for f in errors),
    ]
    assert len(preflight(tricky, [], listed, ws.settings, force=True)) == 1 + len(errors)
    assert preflight(example, [], [], ws.settings, force=False) == []


def test_rate_limiter_spaces_slots_without_drift() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds + 0.003  # every sleep overshoots a little

    limiter = RateLimiter(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.wait()
    # the first slot is now; each next one is 0.1 s after the one before, overshoot included
    assert slept == [0.1, 0.097, 0.097]
    now[0] += 5.0  # idle: no burst is saved up
    limiter.wait()
    limiter.wait()
    assert slept[-1] == 0.1
