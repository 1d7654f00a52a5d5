"""The theme's new rules: text whose script does not fit its lang, and alt text that repeats
its caption. Each fires on a real built issue that has the problem, naming the field to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.pipeline.checks import Finding
from newsletter.pipeline.checks.language import _mostly_ascii_letters, script_of

from .conftest import by_id, check, make_workspace, write_issue


def test_the_example_has_neither_problem(example: list[Finding]) -> None:
    assert by_id(example, "lang-script") == by_id(example, "image-alt-caption") == []


def test_script_of_takes_the_script_of_most_letters() -> None:
    assert script_of("بوتين يستقطب الجيران") == "ARABIC"
    assert script_of("Путин и соседи (Reuters)") == "CYRILLIC"
    assert script_of("NATO 5%") == "LATIN"
    assert script_of("2025 — 5%") is None  # no letters to judge by


def foreign_teasers(data: dict[str, Any]) -> None:
    data["teasers"][0]["headline"] = "بوتين يستقطب الجيران"
    data["teasers"][0]["summary"] = "تقرير عن آسيا الوسطى وروسيا."
    data["teasers"][1]["headline"] = "שלום עולם"
    data["teasers"][1]["summary"] = "סיכום קצר של הכתבה."
    data["teasers"][1]["image"]["alt"] = "דף של טראמפ בטלפון."
    data["teasers"][1]["lang"] = "he"  # marked: no finding
    data["teasers"][2]["summary"] = "Москва обещает мигрантам гражданство."


def test_foreign_script_under_the_issues_lang_names_the_story_that_needs_a_lang(
    tmp_path: Path,
) -> None:
    root = make_workspace(tmp_path / "ws")
    path = write_issue(root, "2025-07-03-mixed", foreign_teasers)
    found = by_id(check(root, path), "lang-script")
    assert [f.severity for f in found] == ["warning", "warning"]
    arabic, russian = found
    assert arabic.location.endswith(": teasers[0].headline")
    assert "teasers[0].headline, teasers[0].summary are in Arabic script" in arabic.message
    assert 'marked as lang="en"' in arabic.message and '"lang: ar"' in arabic.message
    assert arabic.message.endswith("to teasers[0]")
    line = int(arabic.location.split(":")[1])
    assert "بوتين" in path.read_text().splitlines()[line - 1]
    assert russian.location.endswith(": teasers[2].summary")
    assert "Cyrillic" in russian.message and '"lang: ru"' in russian.message


def test_an_arabic_issue_with_lang_ar_is_quiet_and_english_inside_it_is_not(
    tmp_path: Path,
) -> None:
    def arabic(data: dict[str, Any]) -> None:
        data["lang"] = "ar"
        data["subject"] = "بوتين يستقطب الجيران"
        data["preheader"] = "روسيا تجند المهاجرين من آسيا الوسطى."
        data["lead"]["headline"] = "بوتين يستقطب الجيران لحربه"
        data["lead"]["kicker"] = "روسيا"
        data["lead"]["body"] = "منذ أشهر يواجه بوتين معضلة."
        data["lead"]["image"]["alt"] = "الرئيس الروسي فلاديمير بوتين."
        data["teasers"] = data["teasers"][:1]
        data["teasers"][0].update(headline="مسيرة الفخر في بودابست", summary="تقرير قصير.")
        data["teasers"][0]["image"]["alt"] = "امرأة تحمل لافتة."

    root = make_workspace(tmp_path / "ws")
    assert by_id(check(root, write_issue(root, "2025-07-04-ar", arabic)), "lang-script") == []

    def english_subject(data: dict[str, Any]) -> None:
        arabic(data)
        data["subject"] = "Putin poaches the neighbors"

    (found,) = by_id(
        check(root, write_issue(root, "2025-07-05-ar", english_subject)), "lang-script"
    )
    assert found.location.endswith(": subject") and found.message.endswith("to the issue")
    assert "Latin script" in found.message and 'lang="ar"' in found.message


def test_alt_text_that_repeats_the_caption_is_a_warning_on_the_alt(tmp_path: Path) -> None:
    def repeat(data: dict[str, Any]) -> None:
        data["lead"]["image"]["caption"] = "Russian president Vladimir Putin"

    root = make_workspace(tmp_path / "ws")
    path = write_issue(root, "2025-07-06-twice", repeat)
    (found,) = by_id(check(root, path), "image-alt-caption")
    assert found.severity == "warning" and found.location.endswith(": lead.image.alt")
    assert "hear it twice" in found.message


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="abcXYZ .,’—ابتثجحשלוםпривет日本", max_size=20))
def test_the_ascii_shortcut_never_hides_another_script(text: str) -> None:
    """The rule skips a field where ASCII letters are too many for another script to be most
    of its letters; counting every letter must agree."""
    if _mostly_ascii_letters(text):
        assert script_of(text) in (None, "LATIN")
