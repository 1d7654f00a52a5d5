"""The example email in a real browser (Debian's chromium): widths and colour schemes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

from .conftest import EXAMPLE


@pytest.fixture
def email_file(workspace_dir: Path) -> Path:
    """The example built with local images, saved beside assets/ so that they load."""
    config = workspace_dir / "newsletter.toml"
    config.write_text(config.read_text().replace("assets = true", "assets = false"))
    result = build_issue(
        workspace_dir / "issues" / f"{EXAMPLE}.yaml", load_workspace(workspace_dir)
    )
    assert result.email is not None
    path = workspace_dir / "email.html"
    path.write_text(result.email.html)
    return path


def luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# Every text element's colour against the first opaque background behind it.
COLOURS = """() => [...document.querySelectorAll('h1, h2, h3, p, li, a, .nl-credit div, .nl-meta div, .nl-kicker div')]
  .filter(el => el.innerText.trim())
  .map(el => {
    let bg = el;
    while (bg && ['rgba(0, 0, 0, 0)', 'transparent'].includes(getComputedStyle(bg).backgroundColor)) bg = bg.parentElement;
    return [el.innerText.trim().slice(0, 40), getComputedStyle(el).color, bg ? getComputedStyle(bg).backgroundColor : 'rgb(255, 255, 255)'];
  })"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 600, 1024])
def test_no_horizontal_scroll_and_aa_contrast(
    browser: object, email_file: Path, width: int, scheme: str
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page.goto(email_file.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    images = page.evaluate(
        "[...document.images].map(i => [i.naturalWidth, i.getBoundingClientRect().right])"
    )
    assert len(images) == 4 and all(natural > 0 and right <= width for natural, right in images)
    texts = page.evaluate(COLOURS)
    assert len(texts) > 20
    low = [
        (text, fg, bg, round(contrast(fg, bg), 2))
        for text, fg, bg in texts
        if contrast(fg, bg) < 4.5
    ]
    assert low == []
    page.close()


def test_teasers_stack_on_phones_and_pair_up_on_desktop(browser: Browser, email_file: Path) -> None:
    lefts = "[...document.querySelectorAll('.nl-teaser')].map(el => Math.round(el.getBoundingClientRect().left))"
    page = browser.new_page(viewport={"width": 375, "height": 900})
    page.goto(email_file.as_uri())
    widths = (
        "[...document.querySelectorAll('.nl-teaser img')].map(i => i.getBoundingClientRect().width)"
    )
    assert len(set(page.evaluate(lefts))) == 1
    assert all(width > 300 for width in page.evaluate(widths))  # full width on a phone
    page.set_viewport_size({"width": 1024, "height": 900})
    assert len(set(page.evaluate(lefts))) == 2
    assert all(width == 264 for width in page.evaluate(widths))  # what Outlook is told, too
    page.close()
