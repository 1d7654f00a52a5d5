"""The models' own validation (newsletter.model.base): what it takes, what it refuses, and the
objects it makes, on the real settings and issue models; and the records of a build
(newsletter.record)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
from pathlib import Path

import pytest

from newsletter.model.artifact import BuildResult, ImageRewrite, LinkRewrite, Rewrites
from newsletter.model.base import ValidationError
from newsletter.model.issue import Image, Issue
from newsletter.model.settings import SendSettings, Settings, SmtpSettings
from newsletter.model.theme import Layout

NEWSLETTER = {
    "name": "N",
    "brand": "B",
    "from_name": "F",
    "from_email": "news@example.com",
    "postal_address": "1 Main St",
    "site_url": "https://example.com",
}
ISSUE = {
    "subject": "S",
    "date": "2025-06-26",
    "slug": "x",
    "lead": {"headline": "H", "body": "B"},
}


def errors(model: type[Settings] | type[Issue], data: object) -> list[tuple[object, ...]]:
    with pytest.raises(ValidationError) as caught:
        model.validate(data)
    return [(e["loc"], e["type"]) for e in caught.value.errors()]


def test_values_as_toml_and_yaml_write_them_are_read_as_pydantic_read_them() -> None:
    send = SendSettings.validate({"rate": "12.5", "connections": "5.0", "retries": True})
    assert (send.rate, send.connections, send.retries) == (12.5, 5, 1)
    smtp = SmtpSettings.validate({"port": " 2_525 ", "timeout": 3})
    assert (smtp.port, smtp.timeout) == (2525, 3.0) and type(smtp.timeout) is float
    assert Layout.model_fields["teaser_columns"].required
    issue = Issue.validate({**ISSUE, "subject": 1989, "draft": "yes", "preheader": "  p  "})
    assert (issue.subject, issue.draft, issue.preheader) == ("1989", True, "p")
    assert issue.date == dt.date(2025, 6, 26) and issue.teasers == []


def test_every_problem_is_reported_with_its_place_and_kind() -> None:
    data = {
        "newsletter": {**NEWSLETTER, "site_url": "example.com", "nmae": "x"},
        "send": {"rate": 0, "connections": 51, "test_prefix": 3},
        "smtp": {"security": "ssl", "port": "smtp"},
        "check": {"clients": ["gmail", "gmial"], "rules": []},
    }
    assert errors(Settings, data) == [
        (("newsletter", "site_url"), "value_error"),
        (("newsletter", "nmae"), "extra_forbidden"),
        (("send", "test_prefix"), "string_type"),
        (("send", "rate"), "greater_than"),
        (("send", "connections"), "less_than_equal"),
        (("check", "rules"), "dict_type"),
        (("check", "clients", 1), "value_error"),
        (("smtp", "port"), "int_parsing"),
        (("smtp", "security"), "literal_error"),
    ]


def test_a_number_is_not_a_date() -> None:
    # pydantic read 0 (or "0") as seconds since 1970; an issue dated 1970-01-01 is a typo
    assert errors(Issue, {**ISSUE, "date": 0}) == [(("date",), "date_type")]
    assert errors(Issue, {**ISSUE, "date": "0"}) == [(("date",), "date_parsing")]


def test_objects_are_frozen_values_that_copy_dump_and_pickle(tmp_path: Path) -> None:
    issue = Issue.validate(ISSUE)
    issue._source = tmp_path / "x.yaml"
    with pytest.raises(AttributeError):
        issue.subject = "changed"
    copy = issue.model_copy(update={"subject": "T"})
    assert copy.subject == "T" and copy.source == issue.source and issue.subject == "S"
    assert copy != issue and issue.model_copy() == issue
    assert issue.model_dump(exclude={"slug", "date"})["lead"] == {
        "kicker": None,
        "headline": "H",
        "byline": None,
        "url": None,
        "image": None,
        "body": "B",
        "lang": None,
    }
    again = pickle.loads(pickle.dumps(issue))  # what the build's workers are sent
    assert again == issue and again.source == issue.source
    image = Image(src="https://example.com/a.jpg", alt="A")
    assert hash(image) == hash(Image.validate({"src": "https://example.com/a.jpg", "alt": "A"}))
    with pytest.raises(ValidationError):
        Image(src="https://example.com/a.jpg")


def test_records_are_frozen_values_with_defaults_made_per_object(tmp_path: Path) -> None:
    link = LinkRewrite("https://e.com/a", "https://e.com/a?utm_source=n", slot="lead")
    assert link == LinkRewrite("https://e.com/a", "https://e.com/a?utm_source=n", "lead")
    assert hash(link) == hash(LinkRewrite(*(link.original, link.final, link.slot)))
    assert repr(link) == (
        "LinkRewrite(original='https://e.com/a', final='https://e.com/a?utm_source=n', slot='lead')"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        link.slot = "teaser-1"
    moved = dataclasses.replace(link, slot="teaser-1")  # a dataclass to dataclasses
    assert (moved.slot, moved.original) == ("teaser-1", link.original)
    assert dataclasses.asdict(link)["final"] == link.final
    assert ImageRewrite("a.jpg", "https://e.com/a.jpg").path is None
    result, other = BuildResult(tmp_path / "x.yaml"), BuildResult(tmp_path / "x.yaml")
    assert result == other and not result.ok and result.problems == ()
    assert Rewrites(links=(link,)) + Rewrites() == Rewrites((link,), ())
    assert pickle.loads(pickle.dumps(Rewrites(links=(link,)))).links == (link,)
    with pytest.raises(TypeError, match="missing field 'slot'"):
        LinkRewrite("a", "b")  # type: ignore[call-arg]
