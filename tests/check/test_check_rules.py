"""Each rule fires on a real built email that has its problem, and stays quiet on the example.

The triggering workspaces are copies of the example, changed the way an editor changes an
issue file or a theme author changes the theme; everything is built with the real pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newsletter.pipeline.checks import RULES, Finding

from .conftest import EXAMPLE, by_id, careless_theme, check, make_workspace, write_issue

#: Markup the broken theme adds to the header: each line breaks one rule.
BROKEN_MARKUP = """
        <mj-raw>
          <img src="https://www.gzeromedia.com/logo.png">
          <a href="javascript:void(0)">Share this</a>
          <a href="#">Back to top</a>
          <table><tr><td>A layout table</td></tr></table>
          <p style="color:#aaaaaa;font-size:15px;">Faint print</p>
          <h3>A heading out of order</h3>
        </mj-raw>
"""


@pytest.fixture(scope="module")
def broken_theme(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    """A theme with no lang, no title, no unsubscribe link, teaser URLs left out of the text,
    and the markup above."""
    root = make_workspace(
        tmp_path_factory.mktemp("broken-theme"),
        theme=careless_theme(BROKEN_MARKUP),
    )
    return check(root)


def issue_findings(tmp_path: Path, change: Any, **workspace: Any) -> list[Finding]:
    root = make_workspace(tmp_path / "ws", **workspace)
    return check(root, write_issue(root, "2025-07-02-changed", change))


def test_every_rule_id_is_tested() -> None:
    source = "".join(p.read_text() for p in Path(__file__).parent.glob("test_check_*.py"))
    untested = [rule for rule in RULES if f'"{rule}"' not in source]
    assert untested == []


# ---- size ------------------------------------------------------------------------------------


def test_size_thresholds_come_from_the_settings(tmp_path: Path, example: list[Finding]) -> None:
    assert by_id(example, "size-clipped") == by_id(example, "size-near-clip") == []
    near = check(make_workspace(tmp_path / "near", append="\n[check]\nnear_clip_kb = 20\n"))
    assert [f.severity for f in by_id(near, "size-near-clip")] == ["warning"]
    assert by_id(near, "size-clipped") == []
    over = check(make_workspace(tmp_path / "over", append="\n[check]\nclip_kb = 20\n"))
    assert [f.severity for f in by_id(over, "size-clipped")] == ["error"]
    assert by_id(over, "size-near-clip") == []


# ---- links -----------------------------------------------------------------------------------


def test_link_rules_stay_quiet_on_the_example(example: list[Finding]) -> None:
    for rule in ("link-insecure", "link-empty", "link-javascript", "link-local", "link-text"):
        assert by_id(example, rule) == [], rule
    assert by_id(example, "link-utm") == by_id(example, "link-unsubscribe") == []


def test_empty_script_and_local_links(tmp_path: Path, broken_theme: list[Finding]) -> None:
    (script,) = by_id(broken_theme, "link-javascript")
    assert script.severity == "error" and "Share this" in script.message
    assert script.location.startswith("email.html:")
    (empty,) = by_id(broken_theme, "link-empty")
    assert "Back to top" in empty.message

    def relative(data: dict[str, Any]) -> None:
        data["lead"]["body"] += "\n\nThe [full NATO report](reports/nato.pdf) is online."

    (local,) = by_id(issue_findings(tmp_path, relative), "link-local")
    assert "reports/nato.pdf" in local.message and ": lead.body" in local.location


def test_vague_link_text(tmp_path: Path) -> None:
    def vague(data: dict[str, Any]) -> None:
        data["teasers"][0]["headline"] = "Read more"
        data["lead"]["body"] += "\n\nOur NATO coverage is [here](https://www.gzeromedia.com/nato)."

    messages = [f.message for f in by_id(issue_findings(tmp_path, vague), "link-text")]
    assert len(messages) == 2
    assert any("'Read more'" in m for m in messages) and any("'here'" in m for m in messages)


SEARCH = "https://www.gzeromedia.com/search?q=central%20asia&page=2"


def with_search_link(data: dict[str, Any]) -> None:
    data["lead"]["body"] += f"\n\nOur [coverage of Central Asia]({SEARCH}) goes back years."


def test_content_links_without_utm(tmp_path: Path) -> None:
    findings = issue_findings(tmp_path, with_search_link, toml=[("utm = true", "utm = false")])
    missing = by_id(findings, "link-utm")
    assert missing and all("utm_source" in f.message for f in missing)
    assert {f.location.split(": ")[-1] for f in missing} >= {"lead.url", "teasers[0].url"}
    assert any(SEARCH in f.message and f.location.endswith("lead.body") for f in missing)


def test_content_links_with_a_query_keep_their_utm(tmp_path: Path) -> None:
    findings = issue_findings(tmp_path, with_search_link)
    assert by_id(findings, "link-utm") == by_id(findings, "text-links") == []


def test_no_unsubscribe_link(broken_theme: list[Finding]) -> None:
    (finding,) = by_id(broken_theme, "link-unsubscribe")
    assert finding.severity == "error"


# ---- images ----------------------------------------------------------------------------------


def test_image_rules_stay_quiet_on_the_example(example: list[Finding]) -> None:
    for rule in ("image-alt-missing", "image-alt-filename", "image-insecure", "image-heavy"):
        assert by_id(example, rule) == [], rule
    assert by_id(example, "image-width") == []


def test_image_without_alt_or_width(broken_theme: list[Finding]) -> None:
    (alt,) = by_id(broken_theme, "image-alt-missing")
    assert "logo.png" in alt.message and alt.severity == "error"
    (width,) = by_id(broken_theme, "image-width")
    assert "logo.png" in width.message


def test_generic_alt_text(tmp_path: Path) -> None:
    def generic(data: dict[str, Any]) -> None:
        data["teasers"][0]["image"]["alt"] = "Image"

    (finding,) = by_id(issue_findings(tmp_path, generic), "image-alt-filename")
    assert finding.location.endswith("teasers[0].image.alt")


def test_heavy_local_image(tmp_path: Path) -> None:
    def heavy(data: dict[str, Any]) -> None:
        data["lead"]["image"]["src"] = "assets/huge.jpg"

    root = make_workspace(tmp_path / "ws")
    (root / "assets" / "huge.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 300_000)
    findings = check(root, write_issue(root, "2025-07-02-heavy", heavy))
    (finding,) = by_id(findings, "image-heavy")
    assert "293 KB" in finding.message and finding.location.endswith("lead.image.src")


def test_relative_images_are_an_error_and_no_export_takes_them(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from newsletter.cli import cli

    base = 'asset_base_url = "https://www.gzeromedia.com/newsletter/"'
    root = make_workspace(tmp_path / "ws", toml=[(base, "")])
    relative = by_id(check(root), "image-relative")
    assert [f.severity for f in relative] == ["error"] * 4
    assert relative[0].location.endswith(".yaml:11: lead.image.src")
    result = CliRunner().invoke(
        cli, ["export", "-w", str(root), str(root / "issues" / EXAMPLE), "--all"]
    )
    assert result.exit_code == 1
    assert "check image-relative: image assets/putin-poaches-the-neighbors.jpg is a path" in (
        result.output
    )
    assert not (root / "out").exists()


def test_placeholders_of_a_new_issue_and_workspace(tmp_path: Path, example: list[Finding]) -> None:
    import datetime as dt

    from newsletter.commands.scaffold import create_issue, settings_skeleton

    assert by_id(example, "placeholder") == []
    root = make_workspace(tmp_path / "ws")
    issue = create_issue(root / "issues", "fresh", dt.date(2025, 7, 3), brand="GZERO Media")
    found = by_id(check(root, issue), "placeholder")
    assert {f.severity for f in found} == {"warning"}
    fields = [f.location.split(": ", 1)[1] for f in found]
    assert fields == [
        "preheader",
        "lead.url",
        "lead.body",
        "teasers[0].headline",
        "teasers[0].url",
        "teasers[0].summary",
    ], fields
    assert "the skeleton's 'One sentence that inboxes show" in found[0].message
    (root / "newsletter.toml").write_text(settings_skeleton("Fresh"))
    (settings,) = [f for f in by_id(check(root), "placeholder") if f.location == "newsletter.toml"]
    assert settings.message.startswith("from_email, site_url, web_version_url, unsubscribe_url,")
    assert "postal_address" in settings.message


# ---- subject and preheader -------------------------------------------------------------------


def test_subject_rules_stay_quiet_on_the_example(example: list[Finding]) -> None:
    for rule in ("subject-empty", "subject-long", "subject-shouting", "preheader-missing"):
        assert by_id(example, rule) == [], rule
    assert by_id(example, "preheader-long") == by_id(example, "preheader-repeats-subject") == []


def test_long_subject_and_preheader(tmp_path: Path) -> None:
    def long(data: dict[str, Any]) -> None:
        data["subject"] = (
            "Putin poaches the neighbors for his Ukraine invasion, and Kazakhstan says no"
        )
        data["preheader"] = "Russia is recruiting. " * 8

    findings = issue_findings(tmp_path, long)
    (subject,) = by_id(findings, "subject-long")
    assert "76 characters" in subject.message and subject.location.endswith(":1: subject")
    (preheader,) = by_id(findings, "preheader-long")
    assert preheader.location.endswith(": preheader")


def test_subject_of_only_a_merge_field_is_empty(tmp_path: Path) -> None:
    def empty(data: dict[str, Any]) -> None:
        data["subject"] = "%%first_name%%"

    (finding,) = by_id(issue_findings(tmp_path, empty), "subject-empty")
    assert finding.severity == "error"


def test_missing_preheader(tmp_path: Path) -> None:
    (finding,) = by_id(
        issue_findings(tmp_path, lambda data: data.pop("preheader")), "preheader-missing"
    )
    assert finding.severity == "warning"


# ---- accessibility ---------------------------------------------------------------------------


def test_accessibility_rules_stay_quiet_on_the_example(example: list[Finding]) -> None:
    for rule in ("a11y-lang", "a11y-title", "a11y-presentation", "a11y-contrast", "a11y-headings"):
        assert by_id(example, rule) == [], rule


def test_accessibility_rules_on_a_broken_theme(broken_theme: list[Finding]) -> None:
    assert len(by_id(broken_theme, "a11y-lang")) == 1
    assert len(by_id(broken_theme, "a11y-title")) == 1
    (tables,) = by_id(broken_theme, "a11y-presentation")
    assert tables.message.startswith("1 layout table(s)")
    (contrast,) = by_id(broken_theme, "a11y-contrast")
    assert "#aaaaaa on #ffffff" in contrast.message and "2.3:1" in contrast.message
    (heading,) = by_id(broken_theme, "a11y-headings")
    assert "<h3>" in heading.message


def test_headings_that_skip_a_level_in_the_body(tmp_path: Path) -> None:
    def skip(data: dict[str, Any]) -> None:
        data["lead"]["body"] += "\n\n#### A small heading\n\nMore text."

    (finding,) = by_id(issue_findings(tmp_path, skip), "a11y-headings")
    assert "<h4>" in finding.message and finding.location.endswith(": lead.body")


# ---- leftovers and plain text ----------------------------------------------------------------


def test_leftovers_and_text_stay_quiet_on_the_example(example: list[Finding]) -> None:
    for rule in ("leftover-template", "leftover-merge-field", "text-missing", "text-markup"):
        assert by_id(example, rule) == [], rule
    assert by_id(example, "text-links") == []


def test_leftover_syntax_and_markup_in_the_text(tmp_path: Path) -> None:
    def leftovers(data: dict[str, Any]) -> None:
        data["lead"]["body"] += (
            "\n\nDear {{ subscriber.name }}, hi %%first name%%, this is <b>important</b>."
        )

    findings = issue_findings(tmp_path, leftovers)
    (template,) = by_id(findings, "leftover-template")
    assert "{{ subscriber.name }}" in template.message and ": lead.body" in template.location
    (merge,) = by_id(findings, "leftover-merge-field")
    assert "%%first name" in merge.message
    (markup,) = by_id(findings, "text-markup")
    assert "<b>" in markup.message


def test_text_links_left_out(broken_theme: list[Finding]) -> None:
    left_out = by_id(broken_theme, "text-links")
    assert {f.location.split(": ")[-1] for f in left_out} == {
        "teasers[0].url",
        "teasers[1].url",
        "teasers[2].url",
        "teasers[3].url",
    }


def test_text_missing(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", theme={})
    (root / "templates" / "gzero" / "email.txt.j2").write_text("{#- no text part -#}\n")
    (finding,) = by_id(check(root), "text-missing")
    assert finding.severity == "error"
