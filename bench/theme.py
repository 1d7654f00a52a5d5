"""The theme's measurement table: the example and four issues that push it, in chromium.

    python bench/theme.py [--theme gzero|digest]

For each issue, at 375, 600 and 1024 px, in four modes (light; prefers-color-scheme: dark;
every <style> removed, as Gmail shows non-Google accounts; images blocked): the text nodes
under WCAG AA contrast and whether the page scrolls sideways. Then the HTML's size and the
caniemail features that Outlook for Windows and Gmail do not support. Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newsletter.pipeline.checks.clients import (  # noqa: E402
    CONDITIONAL_CLIENT,
    _visible_to,
    features,
    unsupported,
)
from newsletter.pipeline.stages import build_issue  # noqa: E402
from newsletter.workspace import load_workspace  # noqa: E402
from tests.theme_issues import ARABIC, MIXED, TEXT_COLOURS, below_aa, teasers  # noqa: E402

ISSUES = {"example": None, "arabic": ARABIC, "mixed": MIXED, "3 teasers": teasers(3)}
ISSUES["12 teasers"] = teasers(12)
MODES = ("light", "dark", "no <style>", "images blocked")


def client_counts(html: str) -> dict[str, int]:
    everyone, not_outlook = _visible_to(html)
    used = features(everyone)
    used_but_outlook = features(not_outlook) if not_outlook else {}
    counts = {}
    for client in ("outlook-windows", "gmail"):
        pool = used if client == CONDITIONAL_CLIENT else {**used_but_outlook, **used}
        counts[client] = len(set(pool) & set(unsupported((client,))))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theme", default="gzero")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="theme-bench-"))
    config = (REPO / "newsletter.toml").read_text().replace("assets = true", "assets = false")
    config = config.replace('template = "gzero"', f'template = "{args.theme}"')
    (root / "newsletter.toml").write_text(config)
    shutil.copytree(REPO / "assets", root / "assets")
    (root / "issues").mkdir()
    workspace = load_workspace(root)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for name, text in ISSUES.items():
            source = root / "issues" / f"2025-06-26-{name.replace(' ', '-')}.yaml"
            source.write_text(
                text
                or (REPO / "issues" / "2025-06-26-putin-poaches-the-neighbors.yaml").read_text()
            )
            result = build_issue(source, workspace)
            assert result.email is not None, result.problems
            html_path = root / f"{source.stem}.html"
            html_path.write_text(result.email.html)
            low, scroll = 0, 0
            for mode in MODES:
                scheme = "dark" if mode == "dark" else "light"
                page = browser.new_page(color_scheme=scheme)
                if mode == "images blocked":
                    page.route("**/*.{jpg,png}", lambda route: route.abort())
                page.goto(html_path.as_uri())
                if mode == "no <style>":
                    page.evaluate("document.querySelectorAll('style').forEach(s => s.remove())")
                for width in (375, 600, 1024):
                    page.set_viewport_size({"width": width, "height": 900})
                    low += len(below_aa(page.evaluate(TEXT_COLOURS)))
                    scroll += page.evaluate("document.documentElement.scrollWidth") > width
                page.close()
            counts = client_counts(result.email.html)
            size = len(result.email.html.encode()) / 1024
            rows.append((name, low, scroll, size, counts["outlook-windows"], counts["gmail"]))
        browser.close()
    print(
        "| issue | texts under AA (12 renders) | renders that scroll sideways | HTML KB | "
        "Outlook Win unsupported | Gmail unsupported |"
    )
    print("|---|---|---|---|---|---|")
    for name, low, scroll, size, outlook, gmail in rows:
        print(f"| {name} | {low} | {scroll} | {size:.1f} | {outlook} | {gmail} |")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
