"""The preview's paste field: URLs typed into the page become teasers in the issue file, and
the email in the page shows them, in a real chromium driven by Playwright. Requests that do
not come from the page itself are refused without touching the file."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, expect

from newsletter.cli import cli
from newsletter.commands.preview import PreviewServer

from .test_teasers import ARTICLES, HTML, Site, start_site, stop_site


@pytest.fixture(scope="module")
def articles() -> Iterator[Site]:
    site = start_site(
        Site({f"/news/{p.stem}": (200, HTML, p.read_bytes()) for p in ARTICLES.glob("*.html")})
    )
    yield site
    stop_site(site)


@pytest.fixture
def root(tmp_path: Path, articles: Site) -> Path:
    folder = tmp_path / "news"
    assert CliRunner().invoke(cli, ["init", str(folder)]).exit_code == 0
    with (folder / "newsletter.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[fetch]\nallow_hosts = ["{articles.host}"]\n')
    return folder


@pytest.fixture
def server(root: Path) -> Iterator[PreviewServer]:
    with PreviewServer(root, port=0) as running:
        yield running


def issue_name(root: Path) -> str:
    (path,) = (root / "issues").glob("*.yaml")
    return path.name


def test_pasted_urls_become_teasers_in_the_page(
    browser: Browser, server: PreviewServer, root: Path, articles: Site
) -> None:
    name = issue_name(root)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{server.url}issue/{name}")
        frame = page.frame_locator("#frame")
        expect(frame.locator("h3")).to_have_count(1)
        good, missing = articles.url("/news/both-disagree"), articles.url("/news/missing")
        page.locator("#teaser-urls").fill(f"{good}\n{missing}")
        page.get_by_role("button", name="Add teasers").click()
        results = page.locator("#teasers li")
        expect(results).to_have_text(
            [
                f"added {good}: NATO allies agree to Trump’s 5% spending target",
                f"error: {missing}: answered 404 Not Found",
                f"wrote issues/{name} (1 teaser(s) added)",
                "1 of 2 URL(s) failed; nothing was added for them",
            ]
        )
        expect(page.locator("#teasers li.error")).to_have_count(2)
        expect(frame.locator("h3")).to_have_count(2)  # rebuilt from the edited file
        expect(frame.locator("h3").nth(1)).to_have_text(
            "NATO allies agree to Trump’s 5% spending target"
        )
        assert (
            page.locator("#teaser-urls").input_value() == f"{good}\n{missing}"
        )  # kept: one failed
    finally:
        context.close()
    assert f"# from {good}" in (root / "issues" / name).read_text(encoding="utf-8")


def post(
    server: PreviewServer, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_only_the_page_itself_may_add_teasers(
    server: PreviewServer, root: Path, articles: Site
) -> None:
    name = issue_name(root)
    before = (root / "issues" / name).read_text(encoding="utf-8")
    seen = len(articles.requests)
    own = server.url.removeprefix("http://").rstrip("/")
    body = json.dumps({"urls": [articles.url("/news/og-only")]}).encode()
    json_type = {"Content-Type": "application/json"}
    refused = [
        ({**json_type, "Origin": "http://attacker.example"}, 403),  # another site's page
        (json_type, 403),  # no Origin at all
        ({"Content-Type": "text/plain", "Origin": f"http://{own}"}, 415),  # a simple form post
    ]
    for headers, status in refused:
        assert post(server, f"/_/teasers/{name}", body, headers)[0] == status, headers
    assert (
        post(
            server, "/_/teasers/not-an-issue.yaml", body, {**json_type, "Origin": f"http://{own}"}
        )[0]
        == 404
    )
    assert (root / "issues" / name).read_text(encoding="utf-8") == before
    assert len(articles.requests) == seen  # refused before any page was read

    status, answer = post(
        server, f"/_/teasers/{name}", b'{"urls": 3}', {**json_type, "Origin": f"http://{own}"}
    )
    assert (status, json.loads(answer)["error"]) == (400, 'expected {"urls": ["https://..."]}')
    status, answer = post(
        server, f"/_/teasers/{name}", body, {**json_type, "Origin": f"http://{own}"}
    )
    assert status == 200
    assert json.loads(answer) == {
        "ok": True,
        "lines": [
            [
                "note",
                f"added {articles.url('/news/og-only')}: From Swan Lake to the feed, the fight to control information",
            ],
            ["note", f"wrote issues/{name} (1 teaser(s) added)"],
        ],
    }
