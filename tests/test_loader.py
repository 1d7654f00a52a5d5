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


def test_an_impossible_date_says_how_many_days_the_month_has() -> None:
    assert problems_of(MINIMAL.replace("2025-06-26", "2025-06-31")) == [
        "issues/x.yaml:3: date: June 2025 has 30 days, so 2025-06-31 is not a date"
    ]
    assert problems_of(MINIMAL.replace("2025-06-26", "2026-02-29")) == [
        "issues/x.yaml:3: date: February 2026 has 28 days, so 2026-02-29 is not a date"
    ]
    assert problems_of(MINIMAL.replace("2025-06-26", "2026-13-01")) == [
        "issues/x.yaml:3: date: there is no month 13: write the date as YYYY-MM-DD"
    ]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (
            "12/01/2026",
            "write dates as YYYY-MM-DD: 2026-12-01 for December 1, or 2026-01-12 for 12 January",
        ),
        ("13/01/2026", "write dates as YYYY-MM-DD: 2026-01-13"),
        ("2026/12/01", "write dates as YYYY-MM-DD: 2026-12-01"),
        ("'December 1, 2026'", "write dates as YYYY-MM-DD: 2026-12-01"),
        ("June 26", "expected a date like 2025-06-26, got text 'June 26'"),
    ],
)
def test_a_date_in_another_format_gets_the_iso_spelling(written: str, message: str) -> None:
    assert problems_of(MINIMAL.replace("2025-06-26", written)) == [
        f"issues/x.yaml:3: date: {message}"
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
        "issues/x.yaml:7: lead.body: unknown merge field '%%firstname%%': did you mean "
        "'%%first_name%%'? (known: first_name, email, unsubscribe_url, web_version_url, "
        "preferences_url)"
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


# -- YAML pitfalls of everyday news copy (issue 14) ----------------------------------------------


def with_headline(line: str) -> str:
    return MINIMAL.replace("  headline: A headline\n", f"  headline: {line}\n")


def test_a_colon_in_a_headline_asks_for_double_quotes() -> None:
    assert problems_of(with_headline("Gaza: the ceasefire holds")) == [
        "issues/x.yaml:5: lead.headline: a colon followed by a space starts a new field, so this "
        'text needs quotes: headline: "Gaza: the ceasefire holds"'
    ]


def test_an_apostrophe_inside_single_quotes_asks_for_double_quotes() -> None:
    assert problems_of(with_headline("'Putin's war'")) == [
        "issues/x.yaml:5: lead.headline: an apostrophe ends text in single quotes early: use "
        'double quotes instead, headline: "Putin\'s war"'
    ]


def test_a_tab_indent_is_named_as_such() -> None:
    text = MINIMAL.replace("  headline: A headline\n", "\theadline: A headline\n")
    assert problems_of(text) == [
        "issues/x.yaml:5: lead.headline: this line is indented with a tab; YAML indents with "
        "spaces only: replace the tab with spaces"
    ]


@pytest.mark.parametrize(
    "line", ["  A dedented sentence.", "  Analysts say: it holds.", "Analysts say: it holds."]
)
def test_a_line_of_the_body_that_is_not_indented_under_it(line: str) -> None:
    text = MINIMAL.replace("    A first paragraph.\n", f"    A first paragraph.\n{line}\n")
    assert problems_of(text) == [
        "issues/x.yaml:9: lead.body: this line is not indented under lead.body: indent it by 4 "
        "spaces, as the lines above it are"
    ]


def test_a_value_lost_to_a_comment_is_a_warning_or_an_error_that_says_why() -> None:
    issue = parse_issue(
        MINIMAL.replace("  headline:", "  kicker: #MiddleEast\n  byline:\n  headline:"),
        slug="2025-06-26-x",
        file="issues/x.yaml",
    )
    assert issue.lead.kicker is None
    assert [str(w) for w in issue.warnings] == [
        "issues/x.yaml:5: lead.kicker: is empty because # starts a comment in YAML: put the "
        'text in quotes: kicker: "#MiddleEast"',
        "issues/x.yaml:6: lead.byline: is empty: write its text after the colon, or remove the line",
    ]
    assert problems_of(with_headline("#Gaza")) == [
        "issues/x.yaml:5: lead.headline: expected text, got nothing (an empty value): # starts a "
        'comment in YAML, so put the text in quotes: headline: "#Gaza"'
    ]


def test_a_misspelt_required_field_is_one_problem_not_two() -> None:
    text = MINIMAL.replace("  headline: A headline", "  headlin: A headline")
    assert problems_of(text) == [
        "issues/x.yaml:5: lead.headlin: unknown field (did you mean 'headline'?)"
    ]


def test_a_date_unlike_the_file_names_is_a_warning() -> None:
    issue = parse_issue(MINIMAL, slug="2025-06-27-x", file="issues/2025-06-27-x.yaml")
    assert [str(w) for w in issue.warnings] == [
        "issues/2025-06-27-x.yaml:3: date: the date is 2025-06-26 but the file name says "
        "2025-06-27: change one so they agree"
    ]
    far = MINIMAL.replace("2025-06-26", f"{dt.date.today().year + 3}-06-26")
    warnings = [str(w) for w in parse_issue(far, slug="x", file="issues/x.yaml").warnings]
    assert len(warnings) == 1 and "years ahead: is it a typo?" in warnings[0]


def test_windows_1252_text_names_line_column_and_character(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    text = MINIMAL.replace("A headline", "\u201cQuoted\u201d headline")
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(ProblemsError) as caught:
        load_issue(path, display="issues/x.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "issues/x.yaml:5: column 13: the character \u201c is saved as Windows-1252 (byte 0x93, "
        "as Word writes it), not as UTF-8: save the file as UTF-8 (in most editors: Save As, "
        "Encoding: UTF-8)"
    ]


def test_an_image_in_the_body_is_refused_at_its_line() -> None:
    text = MINIMAL.replace(
        "    A first paragraph.\n", "    A first paragraph.\n\n    ![Map](assets/x.jpg)\n"
    )
    assert problems_of(text) == [
        "issues/x.yaml:10: lead.body: images in the body are not shown (![Map](assets/x.jpg)): "
        "put the story's image in lead.image (src, alt), and keep the body to text and links"
    ]


def test_a_missing_image_suggests_the_nearest_file(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "putin-poaches-the-neighbors.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / "assets" / "budapest-pride.jpg").write_bytes(b"\xff\xd8")
    base = MINIMAL.replace("  body: |", "  image: {src: SRC, alt: A photo.}\n  body: |")
    for written, meant in [
        ("putin.jpg", "putin-poaches-the-neighbors.jpg"),
        ("budapest-prid.jpg", "budapest-pride.jpg"),
    ]:
        assert problems_of(base.replace("SRC", f"assets/{written}"), root=tmp_path) == [
            f"issues/x.yaml:7: lead.image.src: image file not found: assets/{written} "
            f"(did you mean assets/{meant}?)"
        ]


def test_an_esp_merge_tag_suggests_the_neutral_field() -> None:
    problems = problems_of(MINIMAL.replace("A first paragraph.", "Hi %%FNAME%%."))
    assert problems == [
        "issues/x.yaml:7: lead.body: unknown merge field '%%FNAME%%': did you mean "
        "'%%first_name%%'? (known: first_name, email, unsubscribe_url, web_version_url, "
        "preferences_url)"
    ]
