"""The archive's pages in a real chromium: readable on a phone, in light and in dark."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from newsletter.commands.site import build_site
from newsletter.workspace import load_workspace
from tests.conftest import EXAMPLE, REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example workspace's site, built once for the tests that only look at it."""
    root = tmp_path_factory.mktemp("ws")
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    shutil.copytree(REPO / "issues", root / "issues")
    shutil.copytree(REPO / "assets", root / "assets")
    return build_site(load_workspace(root), today=dt.date(2025, 7, 1)).folder


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_fit_a_phone_and_show_their_images(
    browser: Browser, example_site: Path, scheme: str
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    backgrounds = set()
    try:
        for file in (f"{EXAMPLE}/index.html", "index.html"):
            page.goto((example_site / file).as_uri())
            # the cards below the fold load lazily: ask for them now, then wait for every one
            page.evaluate("() => { for (const i of document.images) i.loading = 'eager'; }")
            page.wait_for_function(
                "() => [...document.images].every(i => i.complete)", timeout=10_000
            )
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 375, f"{file} scrolls sideways at 375 px ({width} px wide)"
            images = page.evaluate(
                "() => [...document.images].map(i => [i.currentSrc, i.naturalWidth, i.clientWidth])"
            )
            assert images and all(natural > 0 for _, natural, _ in images), images
            assert all(shown <= 375 for _, _, shown in images)
            backgrounds.add(
                page.evaluate(
                    "() => getComputedStyle(document.querySelector('main')).backgroundColor"
                )
            )
    finally:
        context.close()
    assert backgrounds == {"rgb(255, 255, 255)" if scheme == "light" else "rgb(27, 30, 36)"}


AXE = (
    Path(__file__).resolve().parents[2]
    / ".venv"
    / "node"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_in_the_pages(
    browser: Browser, example_site: Path, scheme: str
) -> None:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: ./scripts/test installs axe-core from npm")
    context = browser.new_context(viewport={"width": 375, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    try:
        for file in (f"{EXAMPLE}/index.html", "index.html"):
            page.goto((example_site / file).as_uri())
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(
                "async () => (await axe.run(document)).violations"
                ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                ".map(v => `${v.id}: ${v.nodes.map(n => n.target).join(', ')}`)"
            )
            assert violations == [], f"{file} ({scheme}): {violations}"
    finally:
        context.close()
