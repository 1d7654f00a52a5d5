"""The theme in a real browser (Debian's chromium), on the example and on the issues that push
it: all Arabic, mixed scripts, 3 and 12 teasers. Asserted on computed styles and boxes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from .conftest import CHROMIUM, CHROMIUM_ARGS, parse
from .theme_issues import ISSUES, TEXT_COLOURS, TEXT_RUNS, below_aa, build_all, luminance, painted

AXE = (
    Path(__file__).resolve().parents[1]
    / ".venv"
    / "node"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)

#: axe-core's findings that a reader would hit: serious and critical ones, one line each.
AXE_SERIOUS = (
    "async () => (await axe.run(document)).violations"
    ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
    ".map(v => `${v.id}: ${v.nodes.map(n => n.target).join(', ')}`)"
)


@pytest.fixture(scope="module")
def emails(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each issue's email.html, saved beside assets/ so that its images load."""
    root = tmp_path_factory.mktemp("theme-ws")
    return {name: root / f"{name}.html" for name in build_all(root)}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1024, "height": 900})
    yield page
    page.close()


def boxes(page: Page, selector: str) -> list[dict[str, float]]:
    return page.evaluate(
        f"[...document.querySelectorAll('{selector}')].map(e => e.getBoundingClientRect().toJSON())"
    )


def align(page: Page, selector: str) -> list[str]:
    return page.evaluate(
        f"[...document.querySelectorAll('{selector}')].map(e => getComputedStyle(e).textAlign)"
    )


def test_an_arabic_issue_is_mirrored_and_speaks_arabic(page: Page, emails: dict[str, Path]) -> None:
    page.goto(emails["arabic"].as_uri())
    assert page.evaluate("document.documentElement.dir") == "rtl"
    for selector in (
        "h1",
        "h3",
        ".nl-body-text p",
        ".nl-teaser-summary",
        ".nl-slot-lead .nl-meta div",
    ):
        assert set(align(page, selector)) == {"right"}, selector
    first, second, third = boxes(page, ".nl-col")
    assert first["top"] == second["top"] and first["left"] > second["left"]  # teaser 1 on the right
    assert third["right"] == first["right"]  # a lone last teaser sits at the start, not centred
    card = boxes(page, ".nl-slot-lead")[0]
    button = boxes(page, ".nl-button a")[0]
    assert card["right"] - button["right"] < 30 < button["left"] - card["left"]
    view = boxes(page, ".nl-meta a")[0]
    assert view["left"] - card["left"] < 30  # "View in browser" mirrored to the left
    text = page.inner_text("body")
    assert "المزيد من GZERO Media" in text and "اعرض في المتصفح" in text
    assert "يونيو" in text and "June" not in text
    assert "More from" not in text and "View in browser" not in text


def test_each_script_of_a_mixed_issue_aligns_by_its_direction(
    page: Page, emails: dict[str, Path]
) -> None:
    page.goto(emails["mixed"].as_uri())
    assert align(page, "h3") == ["right", "right", "left", "left"]
    assert align(page, ".nl-teaser-summary") == ["right", "right", "left", "left"]
    langs = page.evaluate("[...document.querySelectorAll('h3')].map(e => e.lang)")
    assert langs == ["ar", "he", "ru", ""]
    assert set(align(page, "h1")) == {"left"}


@pytest.mark.parametrize("width", [375, 1024])
def test_without_any_style_element_teasers_stay_two_abreast_and_scale(
    page: Page, emails: dict[str, Path], width: int
) -> None:
    """What Gmail shows for accounts and apps that drop <style>: inline styles only."""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(emails["example"].as_uri())
    page.evaluate("document.querySelectorAll('style').forEach(s => s.remove())")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    first, second, *_ = boxes(page, ".nl-col")
    assert first["top"] == second["top"] and first["right"] <= second["left"] + 1
    assert first["width"] <= width / 2
    images = boxes(page, ".nl-teaser-image")
    assert all(image["width"] <= first["width"] for image in images)


def test_on_a_phone_teasers_stack_at_full_width(page: Page, emails: dict[str, Path]) -> None:
    page.set_viewport_size({"width": 375, "height": 900})
    page.goto(emails["twelve"].as_uri())
    columns = boxes(page, ".nl-col")
    assert len(columns) == 12 and len({c["left"] for c in columns}) == 1
    assert all(c["width"] > 320 for c in columns)


@pytest.mark.parametrize("name", list(ISSUES))
def test_every_text_passes_aa_and_nothing_scrolls_sideways(
    browser: Browser, emails: dict[str, Path], name: str
) -> None:
    page = browser.new_page()
    page.goto(emails[name].as_uri())
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        body = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert body == ("rgb(15, 17, 21)" if scheme == "dark" else "rgb(238, 240, 243)")
        for width in (375, 600, 1024):
            page.set_viewport_size({"width": width, "height": 900})
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            texts = page.evaluate(TEXT_COLOURS)
            assert len(texts) > 10
            assert below_aa(texts) == [], (width, scheme)
    page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 600])
def test_with_images_blocked_each_image_keeps_its_box_and_its_alt_text_reads(
    browser: Browser, emails: dict[str, Path], scheme: str, width: int
) -> None:
    """What Outlook and Gmail show until the reader allows images: the lead's box keeps the
    photo's height (not a 20 px strip), and the alt text in it is the body's, passing AA."""
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page.route("**/*.jpg", lambda route: route.abort())
    page.goto(emails["example"].as_uri())
    assert below_aa(page.evaluate(TEXT_COLOURS)) == []
    images = page.evaluate(
        """[...document.images].map(img => {
          let bg = img;
          while (bg && ['rgba(0, 0, 0, 0)', 'transparent'].includes(getComputedStyle(bg).backgroundColor)) bg = bg.parentElement;
          const style = getComputedStyle(img), box = img.getBoundingClientRect();
          return {alt: [img.alt.slice(0, 40), style.color, getComputedStyle(bg).backgroundColor,
                        parseFloat(style.fontSize), false],
                  font: style.fontFamily, width: box.width, height: box.height,
                  loaded: img.naturalWidth > 0};
        })"""
    )
    assert len(images) == 4 and not any(image["loaded"] for image in images)
    lead = images[0]
    assert lead["width"] == width
    assert abs(lead["height"] - width * 675 / 1200) <= 1  # the 1200 x 675 photo's proportions
    for image in images[1:]:  # 16:9 teaser photos; a long alt text may make its box taller
        assert image["height"] >= image["width"] * 338 / 600 - 1, image
    text_colour = "rgb(232, 234, 237)" if scheme == "dark" else "rgb(26, 26, 26)"
    assert {image["alt"][1] for image in images} == {text_colour}
    assert {image["font"] for image in images} == {"Helvetica, Arial, sans-serif"}
    assert all(float(image["alt"][3]) >= 15 for image in images)
    assert below_aa([image["alt"] for image in images]) == []
    page.close()


def test_headlines_come_before_their_images_and_images_are_not_second_links(
    emails: dict[str, Path],
) -> None:
    for name in ("example", "mixed", "arabic"):
        doc = parse(emails[name].read_text())
        order = [
            el.tag
            for el in doc.iter("h1", "h3", "img")
            if not el.xpath("ancestor::*[contains(@class, 'nl-logo')]")
        ]
        assert order[0] == "h1"
        assert all(order[i - 1] in ("h1", "h3") for i, tag in enumerate(order) if tag == "img")
        linked = [img for img in doc.iter("img") if any(a.tag == "a" for a in img.iterancestors())]
        assert linked == []


@pytest.fixture(scope="module")
def forced_dark(browser: Browser) -> Iterator[Browser]:
    """A second chromium with its auto dark mode on (what Chrome on Android and the Gmail app
    do to a light email): it recolours the page's own light colours as it paints them, so only
    the pixels show what a reader sees. The page keeps prefers-color-scheme: light, so the
    theme's own dark rules stay out of it: this is the model that ignores them. Launched by the
    session's Playwright, beside its ordinary chromium."""
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--force-dark-mode", "--enable-features=WebContentsForceDark"],
    )
    yield launched
    launched.close()


@pytest.mark.parametrize("name", list(ISSUES))
def test_in_forced_dark_every_text_passes_aa_and_axe_finds_nothing_serious(
    forced_dark: Browser, emails: dict[str, Path], name: str
) -> None:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: ./scripts/test installs axe-core from npm")
    page = forced_dark.new_page(color_scheme="light")
    try:
        page.goto(emails[name].as_uri())
        for width in (375, 600, 1024):
            page.set_viewport_size({"width": width, "height": 900})
            runs = page.evaluate(TEXT_RUNS)
            shown = painted(page.screenshot(full_page=True), runs)
            assert len(shown) > 10
            page_colour = shown[-1][2]  # the footer's line sits on the page colour
            assert luminance(str(page_colour)) < 0.1, f"not forced dark: {page_colour}"
            assert below_aa(shown) == [], (name, width)
        page.add_script_tag(path=str(AXE))
        assert page.evaluate(AXE_SERIOUS) == [], name
    finally:
        page.close()
