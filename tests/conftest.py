"""Shared fixtures: real workspaces in temporary folders, built with the real pipeline."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lxml import html as lxml_html

from newsletter import Workspace
from newsletter.model.artifact import BuildResult
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = "2025-06-26-putin-poaches-the-neighbors"

#: The parse cache of a test run (and of every command it starts) is a folder of its own, not
#: the user's ~/.cache/newsletter: a run neither evicts an editor's entries with its thousands
#: of throwaway ones nor leans on what an earlier run kept. Removed when the run ends.
_CACHE = tempfile.mkdtemp(prefix="newsletter-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE


#: A suite started in the background by a shell without job control (``./scripts/test &`` in a
#: script) inherits SIGINT ignored, and so would every command a test starts: Python then
#: never raises KeyboardInterrupt, and the Ctrl-C tests wait for a stop that cannot come. A
#: handler here (not an ignore) is reset to the default in each command the tests start.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    """A copy of the repository's GZERO workspace (settings, issues, assets)."""
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    shutil.copytree(REPO / "issues", root / "issues")
    shutil.copytree(REPO / "assets", root / "assets")
    return root


@pytest.fixture
def workspace(workspace_dir: Path) -> Workspace:
    return load_workspace(workspace_dir)


MINIMAL = """\
subject: A plain subject
preheader: A plain preheader that says more.
date: 2025-06-26
lead:
  headline: A headline
  url: https://www.gzeromedia.com/news/a-story
  body: |
    A first paragraph.
teasers: []
"""


@pytest.fixture
def write_issue(workspace_dir: Path) -> Callable[..., Path]:
    """Write an issue file into the workspace's issues/ folder and return its path."""

    def write(text: str, name: str = "2025-06-26-test.yaml") -> Path:
        path = workspace_dir / "issues" / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def build(workspace_dir: Path) -> Callable[..., BuildResult]:
    """Build an issue file of the workspace (re-reading newsletter.toml each time)."""

    def run(path: Path) -> BuildResult:
        result = build_issue(path, load_workspace(workspace_dir))
        assert result.ok, "\n".join(map(str, result.problems))
        return result

    return run


def parse(html: str) -> lxml_html.HtmlElement:
    """The email's HTML as an lxml tree, comments kept."""
    return lxml_html.document_fromstring(html)


#: Debian's chromium (installed by scripts/test), started as this machine needs: no sandbox as
#: root, and none of the background connections that a closed network refuses.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless chromium per test process, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    skip = os.environ.get("NEWSLETTER_SKIP_BROWSER")
    if skip and not Path(CHROMIUM).exists():
        pytest.skip(f"browser test skipped: {skip}")  # scripts/test said so, once, loudly
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./scripts/test, which installs it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
