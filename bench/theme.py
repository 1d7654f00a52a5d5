"""The theme's measurement table: the example and four issues that push it, in chromium.

    python bench/theme.py [--theme gzero|digest]

For each issue, at 375, 600 and 1024 px, in five modes (light; prefers-color-scheme: dark;
chromium's forced dark, read from the pixels; every <style> removed, as Gmail shows non-Google
accounts; images blocked): the text nodes under WCAG AA contrast and whether the page scrolls
sideways. Then SpamAssassin's score of the sample message (local rules only, ``-L``), the
HTML's size and the caniemail features that Outlook for Windows and Gmail do not support. Run
by hand, not in CI.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
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
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.theme_issues import (  # noqa: E402
    TEXT_COLOURS,
    TEXT_RUNS,
    below_aa,
    build_all,
    painted,
)

MODES = ("light", "dark", "forced dark", "no <style>", "images blocked")
FORCED_DARK = ["--force-dark-mode", "--enable-features=WebContentsForceDark"]


def client_counts(html: str) -> dict[str, int]:
    everyone, not_outlook = _visible_to(html)
    used = features(everyone)
    used_but_outlook = features(not_outlook) if not_outlook else {}
    counts = {}
    for client in ("outlook-windows", "gmail"):
        pool = used if client == CONDITIONAL_CLIENT else {**used_but_outlook, **used}
        counts[client] = len(set(pool) & set(unsupported((client,))))
    return counts


def spam_score(message: bytes) -> str:
    """SpamAssassin's points for ``message``, local rules only; "n/a" where it is missing."""
    if not shutil.which("spamassassin"):
        return "n/a"
    run = subprocess.run(["spamassassin", "-L", "-t"], input=message, capture_output=True)
    found = re.search(rb"Content analysis details:\s+\((-?[\d.]+) points", run.stdout)
    return found[1].decode() if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theme", default="gzero")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="theme-bench-"))
    built = build_all(root, args.theme)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        forced = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FORCED_DARK]
        )
        for name, artifact in built.items():
            html_path = root / f"{name}.html"
            low, scroll = 0, 0
            for mode in MODES:
                scheme = "dark" if mode == "dark" else "light"
                page = (forced if mode == "forced dark" else browser).new_page(color_scheme=scheme)
                if mode == "images blocked":
                    page.route("**/*.{jpg,png}", lambda route: route.abort())
                page.goto(html_path.as_uri())
                if mode == "no <style>":
                    page.evaluate("document.querySelectorAll('style').forEach(s => s.remove())")
                for width in (375, 600, 1024):
                    page.set_viewport_size({"width": width, "height": 900})
                    if mode == "forced dark":
                        runs = page.evaluate(TEXT_RUNS)
                        texts = painted(page.screenshot(full_page=True), runs)
                    else:
                        texts = page.evaluate(TEXT_COLOURS)
                    low += len(below_aa(texts))
                    scroll += page.evaluate("document.documentElement.scrollWidth") > width
                page.close()
            counts = client_counts(artifact.email.html)
            size = len(artifact.email.html.encode()) / 1024
            score = spam_score(artifact.message)
            rows.append(
                (name, low, scroll, score, size, counts["outlook-windows"], counts["gmail"])
            )
        forced.close()
        browser.close()
    renders = len(MODES) * 3
    print(
        f"| issue | texts under AA ({renders} renders) | renders that scroll sideways | "
        "SpamAssassin score | HTML KB | Outlook Win unsupported | Gmail unsupported |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, low, scroll, score, size, outlook, gmail in rows:
        print(f"| {name} | {low} | {scroll} | {score} | {size:.1f} | {outlook} | {gmail} |")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
