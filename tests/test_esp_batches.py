"""The batch protocol on its own: how long it waits between tries, when it gives up, and what
the journal holds at each step. The transport here is a script of answers, because what is
asserted (the waits) is what no real server can show without making the test slow."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from newsletter.delivery.batches import MAX_WAIT, deliver_batches
from newsletter.delivery.journal import Journal
from newsletter.delivery.send import Delivery, Report
from newsletter.delivery.transport import Answer, Retry, Unknown
from newsletter.errors import NewsletterError


class Scripted:
    """Answers each call from a script: an exception to raise, or "ok"."""

    name = "scripted"
    batch_size = 2
    rate: float | None = None
    personal_links = True

    def __init__(self, script: list[BaseException | str], journal: Journal) -> None:
        self.script = script
        self.journal = journal
        self.seen: list[dict[str, str]] = []  # the journal's states at each call
        self.closed = False

    def prepare(self) -> None:
        pass

    def send(self, batch: Sequence[Delivery]) -> list[Answer]:
        self.seen.append(self.journal.states("i"))
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, BaseException):
            raise step
        return [Answer("sent", None, f"id-{d.key}") for d in batch]

    def close(self) -> None:
        self.closed = True


def run(
    tmp_path: Path,
    script: list[BaseException | str],
    count: int = 3,
    retries: int = 3,
    *,
    rate: float | None = None,
    quota: float | None = None,
) -> tuple[Report, Scripted, Journal, list[float]]:
    journal = Journal(tmp_path / "j.sqlite")
    keys = [f"r{i}@example.com" for i in range(count)]
    journal.add("i", keys)
    transport = Scripted(script, journal)
    transport.rate = quota
    waits: list[float] = []
    report = deliver_batches(
        [Delivery(k, {"first_name": "A"}, k) for k in keys],
        transport,
        issue="i",
        journal=journal,
        rate=rate,
        retries=retries,
        retry_delay=1.0,
        sleep=waits.append,
    )
    return report, transport, journal, waits


def test_retry_after_is_obeyed_else_a_jittered_doubling_backoff(tmp_path: Path) -> None:
    script: list[BaseException | str] = [
        Retry("429", code=429, after=7.0),
        Retry("500", code=500),
        Retry("429", code=429, after=3600.0),
    ]
    report, transport, journal, waits = run(tmp_path, script)
    assert waits[0] == 7.0
    assert 1.0 <= waits[1] <= 3.0  # retry_delay * 2 ** 1, jittered by 0.5 to 1.5
    assert waits[2] == MAX_WAIT  # never longer, whatever the ESP says
    assert report.count("sent") == 3 and transport.closed
    # the batch is "sending" during each try and "deferred" while waiting, never "sent" early
    assert transport.seen[0]["r0@example.com"] == "sending"
    assert set(journal.states("i").values()) == {"sent"}


def test_spent_retries_leave_the_batch_deferred_for_the_next_run(tmp_path: Path) -> None:
    script: list[BaseException | str] = [Retry("500", code=500)] * 3
    report, _, journal, waits = run(tmp_path, script, retries=2)
    assert len(waits) == 2
    # the report keeps what the editor must read, and counts those sent
    assert [o.state for o in report.outcomes] == ["deferred", "deferred"]
    assert report.count("sent") == 1
    assert journal.states("i") == {
        "r0@example.com": "deferred",
        "r1@example.com": "deferred",
        "r2@example.com": "sent",
    }


def test_unknown_is_never_retried_and_a_refusal_sends_nothing(tmp_path: Path) -> None:
    report, transport, journal, waits = run(tmp_path, [Unknown("timed out")])
    assert waits == [] and len(transport.seen) == 2  # the next batch goes, this one is not resent
    assert journal.states("i")["r0@example.com"] == "unknown"
    (tmp_path / "b").mkdir()
    report, _, journal, _ = run(tmp_path / "b", [NewsletterError("key refused")])
    assert isinstance(report.error, NewsletterError)
    assert set(journal.states("i").values()) == {"pending"}


@pytest.mark.parametrize(("rate", "quota"), [(None, 0.01), (0.01, 1000.0), (1000.0, 0.01)])
def test_the_slower_of_the_rate_and_the_esps_quota_paces_the_batches(
    tmp_path: Path, rate: float | None, quota: float | None
) -> None:
    # 4 recipients at 0.01 a second: the last one's slot is 300 s after the first one's; no
    # sleep really happens, so the waits asked for are the grid's (less the test's own time)
    report, _, _, waits = run(tmp_path, [], count=4, rate=rate, quota=quota)
    assert report.count("sent") == 4
    assert 290 < max(waits) <= 300


def test_a_value_with_a_line_break_is_failed_and_not_sent(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.add("i", ["a@example.com", "b@example.com"])
    transport = Scripted([], journal)
    report = deliver_batches(
        [
            Delivery("a@example.com", {"first_name": "A\r\nBcc: x@example.com"}, "a@example.com"),
            Delivery("b@example.com", {"first_name": "B"}, "b@example.com"),
        ],
        transport,
        issue="i",
        journal=journal,
        rate=None,
        retries=0,
        retry_delay=0,
    )
    assert [(o.to, o.state) for o in report.outcomes] == [("a@example.com", "failed")]
    assert report.count("sent") == 1
    assert journal.states("i") == {"a@example.com": "failed", "b@example.com": "sent"}


@pytest.mark.parametrize("count", [0, 1])
def test_small_lists(tmp_path: Path, count: int) -> None:
    report, transport, _, _ = run(tmp_path, [], count=count)
    assert report.count("sent") == count and len(transport.seen) == count


def test_the_deliveries_are_read_a_batch_at_a_time(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    keys = [f"r{i}@example.com" for i in range(6)]
    journal.add("i", keys)
    pulled: list[str] = []

    def deliveries() -> Iterator[Delivery]:  # what a list send hands over: made as asked for
        for key in keys:
            pulled.append(key)
            yield Delivery(key, {"first_name": "A"}, key)

    class Counting(Scripted):
        def send(self, batch: Sequence[Delivery]) -> list[Answer]:
            made.append(len(pulled))
            return super().send(batch)

    made: list[int] = []
    report = deliver_batches(
        deliveries(),
        Counting([], journal),
        issue="i",
        journal=journal,
        rate=None,
        retries=0,
        retry_delay=0,
    )
    assert made == [2, 4, 6]  # never more made than the batch in hand
    assert report.count("sent") == 6 and report.outcomes == []  # sent ones counted, not kept


def test_a_batch_cut_short_is_recovered_as_its_api_call_not_an_smtp_transaction(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.add("i", ["a@example.com", "b@example.com"])
    journal.mark_many("i", [("b@example.com", "sending", None, "")])  # an SMTP claim
    recovered: list[tuple[str, str]] = []

    class Dying(Scripted):
        def send(self, batch: Sequence[Delivery]) -> list[Answer]:
            journal.recover("i")  # what the next run does after a kill -9 here
            recovered.extend((r.recipient, r.detail) for r in journal.rows("i", ["unknown"]))
            return super().send(batch)

    deliver_batches(
        [Delivery("a@example.com", {}, "a@example.com")],
        Dying([], journal),
        issue="i",
        journal=journal,
        rate=None,
        retries=0,
        retry_delay=0,
    )
    assert recovered == [
        ("a@example.com", "the send stopped during the scripted API call"),
        ("b@example.com", "the send stopped during the SMTP transaction"),
    ]
