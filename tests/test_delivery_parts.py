"""The parts of delivery on their own: the list check, the preflight rule, the rate limiter."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from newsletter import Workspace, build_issue
from newsletter.delivery.preflight import preflight, refusals
from newsletter.delivery.ratelimit import RateLimiter
from newsletter.delivery.recipients import parse_addresses, read_recipients
from newsletter.errors import NewsletterError, Problem, ProblemsError

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
    ws = Workspace.load(make_workspace(tmp_path / "ws"))
    result = build_issue(ws.root / ISSUE, ws)
    findings = [
        {"id": "gmail-clip", "severity": "error", "message": "112 KB: Gmail clips", "location": ""},
        {"id": "subject-length", "severity": "warning", "message": "long", "location": "subject"},
        {"id": "alt", "severity": "error", "message": "no alt text", "location": "x.yaml:7"},
    ]
    meta = {**result.meta(), "findings": findings}
    checked = replace(result, files={**result.files, "meta.json": json.dumps(meta).encode()})
    assert [str(p) for p in refusals(checked, [], source="x.yaml")] == [
        "x.yaml: check gmail-clip: 112 KB: Gmail clips",
        "x.yaml:7: check alt: no alt text",
    ]
    listed = [Problem("list.csv", "email", "no address", 3)]
    with pytest.raises(ProblemsError) as refused:
        preflight(checked, listed, ws.settings, source="x.yaml", force=False)
    assert len(refused.value.problems) == 3
    assert len(preflight(checked, listed, ws.settings, source="x.yaml", force=True)) == 3
    assert preflight(result, [], ws.settings, source="x.yaml", force=False) == []


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
