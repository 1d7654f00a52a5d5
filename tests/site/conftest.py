"""Fixtures for the web archive's tests: workspaces of many issues, and reading a built site."""

from __future__ import annotations

import datetime as dt
import posixpath
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from lxml import html as lxml_html

from newsletter.commands.site import build_site
from newsletter.workspace import load_workspace
from tests.conftest import EXAMPLE, REPO

BASE = "https://www.gzeromedia.com/newsletter/"


def add_copies(root: Path, n: int) -> list[Path]:
    """Add ``n`` copies of the example issue to the workspace at ``root``, one a day before
    the example, each with its own subject; return the new files, newest first."""
    text = (root / "issues" / f"{EXAMPLE}.yaml").read_text(encoding="utf-8")
    day = dt.date(2025, 6, 26)
    paths = []
    for i in range(1, n + 1):
        date = day - dt.timedelta(days=i)
        body = text.replace("date: 2025-06-26", f"date: {date.isoformat()}").replace(
            "subject: Putin poaches the neighbors for his Ukraine invasion",
            f"subject: Issue number {n - i + 1} of the archive",
        )
        path = root / "issues" / f"{date.isoformat()}-copy-{i}.yaml"
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture
def many_issues(workspace_dir: Path) -> Callable[[int], list[Path]]:
    """``add_copies`` for the test's own workspace."""
    return lambda n: add_copies(workspace_dir, n)


@pytest.fixture(scope="module")
def site30(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site of the example and 30 more issues, built once for the tests that only read it."""
    root = tmp_path_factory.mktemp("ws30")
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    shutil.copytree(REPO / "issues", root / "issues")
    shutil.copytree(REPO / "assets", root / "assets")
    add_copies(root, 30)
    return build_site(load_workspace(root), today=dt.date(2025, 7, 1)).folder


def pages(site: Path) -> Iterator[Path]:
    """Every HTML page of a built site."""
    yield from sorted(site.rglob("*.html"))


def parse(path: Path) -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(path.read_bytes())


def links(tree: lxml_html.HtmlElement) -> Iterator[str]:
    """Every URL a page links or loads: href, src and each srcset candidate."""
    for element in tree.iter():
        for attribute in ("href", "src"):
            value = element.get(attribute)
            if value is not None:
                yield value
        srcset = element.get("srcset")
        if srcset:
            yield from (candidate.split()[0] for candidate in srcset.split(","))


def site_file(site: Path, page: Path, url: str) -> Path | None:
    """The file of the site that ``url`` (as written in ``page``) names, or None when the URL
    is outside the site; a relative URL is resolved against the page, an absolute one under
    the site's base URL."""
    if url.startswith(BASE):
        path = unquote(urlsplit(url).path).removeprefix(urlsplit(BASE).path)
    elif urlsplit(url).scheme or url.startswith("//"):
        return None
    else:
        folder = page.parent.relative_to(site).as_posix()
        path = posixpath.normpath(posixpath.join(folder, unquote(urlsplit(url).path)))
        path = "" if path == "." else path + ("/" if url.endswith("/") else "")
    if path == "" or path.endswith("/"):
        path += "index.html"
    elif "." not in path.rsplit("/", 1)[-1]:
        path += "/index.html"
    return site / path
