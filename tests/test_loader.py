"""Loading issue files: every problem at once, each with file, line, field and a clear reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter import ProblemsError, load_issue
from newsletter.pipeline.load import parse_issue

from .conftest import EXAMPLE, MINIMAL, REPO


def problems_of(text: str, *, suffix: str = ".yaml", root: Path | None = None) -> list[str]:
    with pytest.raises(ProblemsError) as caught:
        parse_issue(text, slug="x", suffix=suffix, file=f"issues/x{suffix}", root=root)
    return [str(p) for p in caught.value.problems]


def test_the_example_issue_loads_with_every_part_of_the_seed_article() -> None:
    issue = load_issue(REPO / "issues" / f"{EXAMPLE}.yaml", REPO)
    assert issue.slug == EXAMPLE
    assert issue.date == dt.date(2025, 6, 26)
    assert issue.lead.kicker == "Russia"
    assert issue.lead.image is not None and issue.lead.image.credit == "Reuters"
    assert issue.lead.image.alt == "Russian President Vladimir Putin."
    assert issue.lead.body.count("\n\n") == 6  # seven paragraphs
    assert "here](" not in issue.lead.body  # both "here" links carry descriptive text
    assert len(issue.teasers) == 4
    credits = [t.image.credit if t.image else None for t in issue.teasers]
    assert credits == [
        "REUTERS/Marton Monus",
        "Avishek Das / SOPA Images via Reuters Connect",
        None,
        "REUTERS",
    ]
    assert all(t.image is None or t.image.alt for t in issue.teasers)


def test_unknown_field_names_file_line_field_and_suggests_the_right_name() -> None:
    text = MINIMAL.replace(
        "  headline: A headline\n", "  headline: A headline\n  imgae: {src: a.jpg, alt: x}\n"
    )
    assert problems_of(text) == [
        "issues/x.yaml:6: lead.imgae: unknown field (did you mean 'image'?)"
    ]


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = """\
subject: Hi
date: June 26
lead:
  headline: [not, text]
  url: www.example.com
  body: Body.
  bylne: Me
teasers:
  - summary: No URL here.
"""
    assert problems_of(text) == [
        "issues/x.yaml:2: date: expected a date like 2025-06-26, got text 'June 26'",
        "issues/x.yaml:4: lead.headline: expected text, got a list",
        "issues/x.yaml:5: lead.url: expected an absolute http(s) URL like https://example.com/, got 'www.example.com'",
        "issues/x.yaml:7: lead.bylne: unknown field (did you mean 'byline'?)",
        "issues/x.yaml:9: teasers[0].url: required field is missing",
    ]


def test_missing_required_fields_point_at_their_parent() -> None:
    text = "subject: Hi\ndate: 2025-06-26\nlead:\n  body: Body.\n"
    assert problems_of(text) == [
        "issues/x.yaml:3: lead.headline: required field is missing",
    ]
    assert problems_of("date: 2025-06-26\nlead: {headline: H, body: B}\n") == [
        "issues/x.yaml: subject: required field is missing"
    ]


def test_an_impossible_date_is_a_field_problem_not_a_yaml_crash() -> None:
    assert problems_of(MINIMAL.replace("2025-06-26", "2025-06-31")) == [
        "issues/x.yaml:3: date: expected a date like 2025-06-26, got text '2025-06-31'"
    ]


def test_malformed_yaml_names_the_line() -> None:
    problems = problems_of("subject: Hi\nlead:\n  headline: [unclosed\n  body: x\n")
    assert len(problems) == 1
    assert problems[0].startswith("issues/x.yaml:4: invalid YAML:")


def test_duplicate_fields_are_errors_not_silently_overwritten() -> None:
    text = MINIMAL.replace(
        "subject: A plain subject\n", "subject: A plain subject\nsubject: Another\n"
    )
    assert problems_of(text) == ["issues/x.yaml:2: subject: duplicate field (first on line 1)"]


def test_a_yes_headline_asks_for_quotes_rather_than_passing_as_a_boolean() -> None:
    problems = problems_of(MINIMAL.replace("headline: A headline", "headline: yes"))
    assert problems == ["issues/x.yaml:5: lead.headline: expected text, got true or false"]


def test_a_local_image_must_exist_and_stay_inside_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "real.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    base = MINIMAL.replace("  body: |", "  image: {src: SRC, alt: A photo.}\n  body: |")
    assert parse_issue(base.replace("SRC", "assets/real.jpg"), slug="x", root=tmp_path).lead.image
    assert problems_of(base.replace("SRC", "assets/missing.jpg"), root=tmp_path) == [
        "issues/x.yaml:7: lead.image.src: image file not found: assets/missing.jpg"
    ]
    assert problems_of(base.replace("SRC", "../secret.jpg"), root=tmp_path) == [
        "issues/x.yaml:7: lead.image.src: a local image must be a path inside the workspace, "
        "like assets/photo.jpg, got '../secret.jpg'"
    ]


def test_images_need_alt_text() -> None:
    text = MINIMAL.replace("  body: |", "  image: {src: 'https://example.com/a.jpg'}\n  body: |")
    assert problems_of(text) == ["issues/x.yaml:7: lead.image.alt: required field is missing"]


def test_unknown_merge_fields_are_errors_known_ones_pass() -> None:
    ok = parse_issue(MINIMAL.replace("A first paragraph.", "Hi %%first_name|there%%."), slug="x")
    assert "%%first_name|there%%" in ok.lead.body
    assert problems_of(MINIMAL.replace("A first paragraph.", "Hi %%firstname%%.")) == [
        "issues/x.yaml:7: lead.body: unknown merge field '%%firstname%%' (known: first_name, "
        "email, unsubscribe_url, web_version_url, preferences_url)"
    ]


def test_empty_file_and_a_scalar_are_explained() -> None:
    assert problems_of("") == [
        "issues/x.yaml:1: expected a mapping of fields (subject: ...), got an empty file"
    ]
    assert problems_of("just text") == [
        "issues/x.yaml:1: expected a mapping of fields (subject: ...), got a single value"
    ]


MARKDOWN_ISSUE = """\
---
subject: A Markdown issue
date: 2025-06-26
lead:
  headline: Written in Markdown
teasers: []
---
The body, with [a link](https://example.com/a).

Second paragraph.
"""


def test_a_markdown_issue_takes_its_body_from_after_the_front_matter() -> None:
    issue = parse_issue(MARKDOWN_ISSUE, slug="md", suffix=".md")
    assert issue.lead.body == "The body, with [a link](https://example.com/a).\n\nSecond paragraph."
    assert issue.line_of("lead", "body") == 8


def test_markdown_issue_problems_carry_file_lines() -> None:
    broken = MARKDOWN_ISSUE.replace(
        "  headline: Written in Markdown\n", "  headline: Written\n  kicer: x\n"
    )
    assert problems_of(broken, suffix=".md") == [
        "issues/x.md:6: lead.kicer: unknown field (did you mean 'kicker'?)"
    ]
    body_in_front = MARKDOWN_ISSUE.replace(
        "  headline: Written in Markdown\n", "  headline: H\n  body: B\n"
    )
    assert problems_of(body_in_front, suffix=".md") == [
        "issues/x.md:6: lead.body: in a .md issue the body is the Markdown after the front matter"
    ]
    assert problems_of("---\nsubject: x\n", suffix=".md") == [
        "issues/x.md:1: the front matter is not closed by a line of ---"
    ]


def test_the_slug_defaults_to_the_file_name(
    write_issue: Callable[..., Path], workspace_dir: Path
) -> None:
    path = write_issue(MINIMAL, name="2025-06-27-my-story.yaml")
    assert load_issue(path, workspace_dir).slug == "2025-06-27-my-story"
    path = write_issue(MINIMAL + "slug: Not A Slug\n", name="x.yaml")
    with pytest.raises(ProblemsError) as caught:
        load_issue(path, workspace_dir, display="issues/x.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "issues/x.yaml:10: slug: use lowercase letters, digits, '-', '.' and '_', got 'Not A Slug'"
    ]
