"""The subscriber's view: the built example and edge-case issues, parsed and asserted on."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from newsletter.model.artifact import BuildResult
from newsletter.targets.files import email_files

from .conftest import EXAMPLE, MINIMAL, parse

GMAIL_CLIP = 102 * 1024


@pytest.fixture
def example(build: Callable[..., BuildResult], workspace_dir: Path) -> BuildResult:
    return build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")


def test_the_example_is_well_under_gmails_clip(example: BuildResult) -> None:
    assert example.email is not None
    assert len(email_files(example.artifact)["email.html"]) < 0.6 * GMAIL_CLIP


def test_lang_dir_and_title_are_on_html_and_on_a_wrapper_webmail_keeps(
    example: BuildResult,
) -> None:
    assert example.email is not None
    doc = parse(example.email.html)
    assert doc.get("lang") == "en" and doc.get("dir") == "ltr"
    wrapper = doc.body[0]
    assert (wrapper.get("lang"), wrapper.get("dir")) == ("en", "ltr")
    assert doc.findtext(".//title") == "Putin poaches the neighbors for his Ukraine invasion"


@pytest.mark.parametrize("engine", ["premailer", "css-inline"])
def test_the_doctype_survives_both_inliners(
    engine: str, build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    config = workspace_dir / "newsletter.toml"
    config.write_text(config.read_text().replace('inliner = "css-inline"', f'inliner = "{engine}"'))
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.email is not None
    assert parse(result.email.html).getroottree().docinfo.doctype.lower() == "<!doctype html>"


def test_the_preheader_is_hidden_the_cerberus_way_and_followed_by_a_spacer(
    example: BuildResult,
) -> None:
    """No colour or font-size trick (SpamAssassin scores both), and zero-width spacing after
    it so that inboxes do not run on into the header's text."""
    assert example.email is not None
    doc = parse(example.email.html)
    first = next(el for el in doc.body.iter("div") if el.text and el.text.strip())
    assert first.text.startswith("Russia is recruiting Central Asian migrants")
    style = first.get("style", "").replace(" ", "")
    assert "max-height:0" in style and "overflow:hidden" in style and "mso-hide:all" in style
    assert not re.search(r"(^|;)(color|font-size|opacity|line-height)\s*:", style)
    assert first.get("aria-hidden") == "true"
    spacer = first.getnext()
    assert spacer.text.count("\u034f\u200c\xa0") >= 50 and not spacer.text.strip("\u034f\u200c\xa0")
    assert "display:none" in spacer.get("style", "").replace(" ", "")
    # and nothing the reader sees comes before it
    assert doc.body.text_content().lstrip().startswith("Russia is recruiting")


def test_layout_tables_are_presentation_and_every_image_has_alt(example: BuildResult) -> None:
    assert example.email is not None
    doc = parse(example.email.html)
    tables = doc.findall(".//table")
    assert tables and all(t.get("role") == "presentation" for t in tables)
    images = doc.findall(".//img")
    assert len(images) == 4
    assert all(img.get("alt") for img in images)


def test_header_lead_teasers_and_footer_are_all_there(example: BuildResult) -> None:
    assert example.email is not None
    doc = parse(example.email.html)
    assert doc.findtext(".//h1/a") == "Putin poaches the neighbors for his Ukraine invasion"
    assert [h.text_content() for h in doc.findall(".//h2")] == ["More from GZERO Media"]
    assert len(doc.findall(".//h3")) == 4
    links = {a.text_content().strip(): a.get("href") for a in doc.findall(".//a")}
    assert links["View in browser"] == "%%web_version_url%%"
    assert links["Unsubscribe"] == "%%unsubscribe_url%%"
    assert links["Email preferences"] == "%%preferences_url%%"
    assert "14 East 60th Street" in doc.text_content()
    paragraphs = doc.xpath("//*[contains(@class,'nl-body-text')]//p")
    assert len(paragraphs) == 7
    credit = doc.xpath("//*[contains(@class,'nl-credit')]")[0].text_content()
    assert credit == "Photo: Reuters"
    assert "(" not in credit


def test_teasers_are_fluid_hybrid_columns_with_outlook_cells_of_the_same_width(
    example: BuildResult,
) -> None:
    assert example.email is not None
    doc = parse(example.email.html)
    columns = doc.xpath("//div[contains(@class,'nl-col')]")
    assert len(columns) == 4
    for column in columns:
        style = column.get("style", "").replace(" ", "")
        assert "display:inline-block" in style and "width:50%" in style
        assert "max-width:288px" in style
    styles = " ".join(s.text or "" for s in doc.findall(".//style"))
    # below 480 px the phone rule stacks them
    assert re.search(r"max-width: 479px\) \{[^@]*\.nl-col \{ display: block !important;", styles)
    ghost = " ".join(c.text for c in doc.iter(etree.Comment) if "nl-" not in c.text)
    assert re.findall(r'<td width="(\d+)"', ghost).count("288") == 4


@pytest.mark.parametrize("engine", ["premailer", "css-inline"])
def test_phone_and_dark_mode_rules_survive_inlining(
    engine: str, build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    config = workspace_dir / "newsletter.toml"
    config.write_text(config.read_text().replace('inliner = "css-inline"', f'inliner = "{engine}"'))
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.email is not None
    doc = parse(result.email.html)
    styles = " ".join(s.text or "" for s in doc.findall(".//style"))
    assert "@media only screen and (max-width: 479px)" in styles
    assert ".nl-headline h1 { font-size: 26px !important; }" in styles
    assert "@media (prefers-color-scheme: dark)" in styles
    assert ".nl-card a { color: #8ab4f8 !important; }" in styles
    metas = {m.get("name"): m.get("content") for m in doc.findall(".//meta")}
    assert metas["color-scheme"] == metas["supported-color-schemes"] == "light dark"
    # the theme's plain rules were inlined: body paragraphs carry their margin
    paragraph = doc.xpath("//*[contains(@class,'nl-body-text')]//p")[0]
    assert re.search(r"margin:\s*0 0 18px", paragraph.get("style", ""))
    assert "<!--[if mso | IE]>" in result.email.html  # Outlook's conditional comments kept


def test_inlining_can_be_switched_off(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    config = workspace_dir / "newsletter.toml"
    config.write_text(config.read_text().replace("inline = true", "inline = false"))
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.email is not None
    paragraph = parse(result.email.html).xpath("//*[contains(@class,'nl-body-text')]//p")[0]
    assert paragraph.get("style") is None
    assert "inline" not in result.artifact.timings


def test_content_links_carry_utm_with_the_slot_they_sit_in(example: BuildResult) -> None:
    assert example.email is not None
    doc = parse(example.email.html)
    slots = {}
    for a in doc.findall(".//a"):
        href = a.get("href")
        if href.startswith("https://"):
            query = parse_qs(urlsplit(href).query)
            assert query["utm_source"] == ["newsletter"] and query["utm_medium"] == ["email"]
            assert query["utm_campaign"] == [EXAMPLE]
            slots.setdefault(query["utm_content"][0], []).append(a.text_content().strip())
    assert sorted(slots) == [
        "footer",
        "header",
        "lead",
        "teaser-1",
        "teaser-2",
        "teaser-3",
        "teaser-4",
    ]
    assert (
        "Read more about how Central Asia is keeping its distance from the Kremlin" in slots["lead"]
    )
    assert slots["teaser-3"] == ["Small businesses, a big engine of global growth"]
    assert slots["footer"] == ["GZERO on X", "GZERO on LinkedIn", "Subscribe", "gzeromedia.com"]


def test_utm_can_be_switched_off(build: Callable[..., BuildResult], workspace_dir: Path) -> None:
    config = workspace_dir / "newsletter.toml"
    config.write_text(config.read_text().replace("utm = true", "utm = false"))
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.email is not None and "utm_" not in result.email.html


def test_local_images_are_linked_under_the_asset_base_url(example: BuildResult) -> None:
    assert example.email is not None
    sources = [img.get("src") for img in parse(example.email.html).findall(".//img")]
    # the workspace's site is published there, so each is linked at its copy of twice the
    # width it is shown at (the lead: 600 px, of a 1,200 px photo), which `site` makes
    assert re.fullmatch(
        r"https://www\.gzeromedia\.com/newsletter/assets/"
        r"putin-poaches-the-neighbors\.1200w\.[0-9a-f]{10}\.jpg",
        sources[0],
    )
    assert all(s.startswith("https://www.gzeromedia.com/newsletter/assets/") for s in sources)
    assert not [f for f in example.findings if f.id == "image-relative"]
    files = {image.path.name for image in example.artifact.rewrites.images if image.path}
    assert "putin-poaches-the-neighbors.jpg" in files


def test_without_an_asset_base_url_local_images_are_an_error(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    config = workspace_dir / "newsletter.toml"
    config.write_text(re.sub(r"(?m)^asset_base_url = .*$", "", config.read_text()))
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.email is not None
    assert (
        parse(result.email.html).find(".//img").get("src")
        == "assets/putin-poaches-the-neighbors.jpg"
    )
    relative = [f for f in result.findings if f.id == "image-relative"]
    assert (relative[0].severity, relative[0].location) == (
        "error",
        f"issues/{EXAMPLE}.yaml:11: lead.image.src",
    )
    assert len(relative) == 4  # the lead's image and three teasers', each named once
    assert "set [newsletter] asset_base_url" in relative[0].message


HOSTILE = """\
subject: "{{ 7*7 }} and {% if true %}yes{% endif %}"
preheader: "<b>bold?</b> *|FNAME|*"
date: 2025-06-26
lead:
  kicker: "<script>alert(1)</script>"
  headline: "{{ 7*7 }} {% raw %}<style>body{display:none}</style>"
  url: https://example.com/story
  image:
    src: https://example.com/a.jpg
    alt: '" onerror="alert(1)'
    caption: "<img src=x onerror=alert(1)>"
  body: |
    A paragraph with <script>alert(1)</script> and <style>p{}</style> and an
    <a href="javascript:alert(1)">html link</a> and a [markdown link](javascript:alert(1))
    and {{ config }} and {% for x in y %}.
teasers:
  - headline: "{{ lipsum() }}"
    url: https://example.com/t
    summary: "<iframe src=https://evil.example></iframe> onerror=alert(1)"
"""


def test_content_is_data_never_markup_or_template_code(
    write_issue: Callable[..., Path], build: Callable[..., BuildResult]
) -> None:
    result = build(write_issue(HOSTILE))
    assert result.email is not None
    html, text = result.email.html, result.email.text
    doc = parse(html)
    assert doc.findall(".//script") == [] and doc.findall(".//iframe") == []
    styles = doc.findall(".//style")
    assert all(
        s.getparent().tag == "head" and "display:none}" not in (s.text or "") for s in styles
    )
    assert "49" not in doc.findtext(".//title")
    assert doc.findtext(".//title") == "{{ 7*7 }} and {% if true %}yes{% endif %}"
    assert (
        doc.find(".//h1/a").text_content() == "{{ 7*7 }} {% raw %}<style>body{display:none}</style>"
    )
    image = doc.find(".//img")
    assert image.get("alt") == '" onerror="alert(1)' and image.get("onerror") is None
    assert all(not a.get("href", "").startswith("javascript:") for a in doc.findall(".//a"))
    assert all(el.get("onerror") is None for el in doc.iter() if isinstance(el.tag, str))
    body = doc.xpath("//*[contains(@class,'nl-body-text')]")[0].text_content()
    assert "<script>alert(1)</script>" in body and "{{ config }} and {% for x in y %}" in body
    assert (
        "{{ lipsum() }}" in html
        and "<iframe src=https://evil.example></iframe>" in doc.text_content()
    )
    assert "*|FNAME|*" in html
    # the plain text prints the same fields as written
    assert "{{ 7*7 }} {% raw %}<style>body{display:none}</style>" in text
    assert "{{ config }}" in text


def test_rtl_teaser_reads_right_to_left_inside_an_english_issue(
    write_issue: Callable[..., Path], build: Callable[..., BuildResult]
) -> None:
    text = MINIMAL.replace(
        "teasers: []",
        "teasers:\n"
        "  - headline: بوتين يستقطب الجيران\n    url: https://example.com/ar\n    summary: تقرير عن آسيا الوسطى.\n"
        "  - headline: שלום עולם\n    url: https://example.com/he\n    summary: סיכום קצר.\n    lang: he\n"
        "  - headline: Emoji 🚀 teaser ✨\n    url: https://example.com/emoji\n    summary: Party 🎉 time.\n",
    ).replace("subject: A plain subject", "subject: Launch day 🚀")
    result = build(write_issue(text))
    assert result.email is not None
    doc = parse(result.email.html)
    assert doc.get("dir") == "ltr"
    headings = doc.findall(".//h3")
    assert [h.get("dir") for h in headings] == ["rtl", "rtl", "ltr"]
    assert headings[1].get("lang") == "he"
    assert headings[0].text_content() == "بوتين يستقطب الجيران"
    assert doc.findtext(".//title") == "Launch day 🚀"
    assert "Emoji 🚀 teaser ✨" in result.email.text


def test_an_issue_can_have_no_teasers(
    write_issue: Callable[..., Path], build: Callable[..., BuildResult]
) -> None:
    result = build(write_issue(MINIMAL))
    assert result.email is not None
    doc = parse(result.email.html)
    assert doc.findall(".//h2") == [] and doc.findall(".//h3") == []
    assert "MORE FROM" not in result.email.text


def test_twelve_teasers_make_six_rows_of_two_for_outlook(
    write_issue: Callable[..., Path], build: Callable[..., BuildResult]
) -> None:
    teasers = "".join(
        f"  - headline: Teaser number {n}\n    url: https://example.com/t{n}?ref=x#part\n    summary: Summary {n}.\n"
        for n in range(1, 13)
    )
    result = build(write_issue(MINIMAL.replace("teasers: []", "teasers:\n" + teasers)))
    assert result.email is not None
    doc = parse(result.email.html)
    columns = doc.xpath("//div[contains(@class,'nl-col')]")
    assert len(columns) == 12
    ghost = "".join(c.text for c in doc.iter(etree.Comment))
    assert ghost.count('<td width="288"') == 12 and ghost.count("</tr><tr>") == 5
    hrefs = [a.get("href") for a in doc.findall(".//h3/a")]
    assert hrefs[11].startswith("https://example.com/t12?ref=x&utm_source=newsletter")
    assert hrefs[11].endswith("&utm_content=teaser-12#part")
    assert len(email_files(result.artifact)["email.html"]) < GMAIL_CLIP
