"""``newsletter teasers add`` and ``newsletter new --lead`` against real pages on loopback.

A stdlib HTTP server in a thread serves the article fixtures (tests/fixtures/articles/, written
after the metadata of real news sites) and the awkward cases: redirects, a 404, a slow page, a
binary file, an over-size page, a redirect to another server that must never be reached. The
tests allow only that server's host:port; every request stays on 127.0.0.1. The commands run
for real through click's CliRunner on a workspace made by ``newsletter init``.
"""

from __future__ import annotations

import io
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from newsletter.cli import cli

from .conftest import parse

ARTICLES = Path(__file__).parent / "fixtures" / "articles"


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(out, "JPEG")
    return out.getvalue()


@dataclass
class Site:
    """A loopback web server: what it serves, and every path it was asked for."""

    routes: dict[str, tuple[int, dict[str, str], bytes]]
    requests: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # the Host header of each request
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the timeout test) is expected; keep the output clean."""


def start_site(site: Site, tls: ssl.SSLContext | None = None) -> Site:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(self.path)
            site.hosts.append(self.headers.get("Host", ""))
            if self.path == "/slow":
                site.release.wait(5)
            route = self.path.split("?")[0]
            status, headers, body = site.routes.get(route, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers and not headers.get("X-No-Length"):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    site.server = _Server(("127.0.0.1", 0), Handler)
    if tls is not None:
        site.server.socket = tls.wrap_socket(site.server.socket, server_side=True)
    threading.Thread(target=site.server.serve_forever, args=(0.05,), daemon=True).start()
    return site


def stop_site(site: Site) -> None:
    assert site.server is not None
    site.release.set()
    site.server.shutdown()
    site.server.server_close()


HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture(scope="module")
def other() -> Iterator[Site]:
    """A second loopback server, never allowed: nothing may ever reach it."""
    site = start_site(Site({"/secret": (200, HTML, b"<title>internal</title>")}))
    yield site
    stop_site(site)


@pytest.fixture(scope="module")
def site(other: Site) -> Iterator[Site]:
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {
        f"/news/{path.stem}": (200, HTML, path.read_bytes()) for path in ARTICLES.glob("*.html")
    }
    routes.update(
        {
            "/images/photo.jpg": (200, {"Content-Type": "image/jpeg"}, _jpeg(1200, 800)),
            "/images/not-an-image.jpg": (200, {"Content-Type": "image/jpeg"}, b"<html>no</html>"),
            "/r1": (301, {"Location": "/r2"}, b""),
            "/r2": (302, {"Location": "http://{host}/r3"}, b""),
            "/r3": (307, {"Location": "/news/plain-html?utm_source=x"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
            "/to-other": (302, {"Location": f"{other.url('/secret')}"}, b""),
            "/to-login": (302, {"Location": "/account/login?next=/news/x"}, b""),
            "/slow": (200, HTML, b"<title>late</title>"),
            "/file.bin": (200, {"Content-Type": "application/octet-stream"}, b"\x00\x01" * 500),
            "/huge": (200, {**HTML, "X-No-Length": "1"}, b"<title>big</title>" + b" " * 300_000),
            "/huge-declared": (200, HTML, b"<title>big</title>" + b" " * 300_000),
            "/server-error": (503, HTML, b"down"),
            "/with-image": (200, HTML, b""),  # filled in below, it needs the server's address
            "/with-broken-image": (200, HTML, b""),
            "/merge-field": (
                200,
                HTML,
                b"<title>Save 10%%firstname%% now</title><meta name='description' content='x'>",
            ),
            "/merge-field-image": (200, HTML, b""),
            "/unlisted": (
                200,
                {**HTML, "X-Robots-Tag": "noindex"},
                b"<title>Unlisted</title><meta name='description' content='Not for search.'>",
            ),
        }
    )
    started = start_site(Site(routes))
    head = b"<meta property='og:description' content='An article with a real photo.'>"
    for path, image in (("/with-image", "photo.jpg"), ("/with-broken-image", "not-an-image.jpg")):
        page = (
            b"<html><head><title>A photo story | Site</title>"
            + head
            + b"<meta property='og:image' "
            b"content='" + started.url(f"/images/{image}").encode() + b"'>"
            b"<meta property='og:image:alt' content='A red square'></head></html>"
        )
        started.routes[path] = (200, HTML, page)
    started.routes["/merge-field-image"] = (
        200,
        HTML,
        b"<title>10%%firstname%% off</title><meta name='description' content='x'>"
        b"<meta property='og:image' content='" + started.url("/images/photo.jpg").encode() + b"'>",
    )
    started.routes["/r2"] = (302, {"Location": started.url("/r3")}, b"")
    yield started
    stop_site(started)


@pytest.fixture
def ws(tmp_path: Path, site: Site) -> Path:
    """A workspace made by ``newsletter init``, allowed to fetch from the fixture server only."""
    root = tmp_path / "news"
    result = CliRunner().invoke(cli, ["init", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with (root / "newsletter.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[fetch]\nallow_hosts = ["{site.host}"]\ntimeout = 5\nmax_bytes = 200000\n')
    return root


def issue_of(root: Path) -> Path:
    (path,) = (root / "issues").glob("*.yaml")
    return path


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(ws: Path) -> Run:
    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, [*args, "--workspace", str(ws)], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def teasers_of(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    teasers: list[dict[str, Any]] = data["teasers"]
    return teasers


def test_adds_a_teaser_from_json_ld_and_keeps_the_file_as_it_was(
    ws: Path, site: Site, run: Run
) -> None:
    issue = issue_of(ws)
    before = issue.read_text(encoding="utf-8")
    url = site.url("/news/jsonld-only")
    code, out, err = run("teasers", "add", str(issue), url)
    assert (code, err) == (0, "")
    assert out == (
        f"added {url}: Budapest Pride goes ahead despite ban\n"
        f"wrote issues/{issue.name} (1 teaser(s) added)\n"
    )
    after = issue.read_text(encoding="utf-8")
    assert after.startswith(before)  # every line, comment and blank kept; the teaser appended
    added = after[len(before) :]
    assert added.count(f"# from {url}") == 6  # headline, url, summary, image src, alt, credit
    assert teasers_of(issue)[-1] == {
        "headline": "Budapest Pride goes ahead despite ban",
        "url": url,
        "summary": "Hungary’s capital will proceed with Saturday’s Pride parade celebrating the "
        "LGBTQ+ community, despite the rightwing national government’s recent ban on the event.",
        "image": {
            "src": "https://cdn.wire.example.com/pride-1200.jpg",
            "alt": "A woman lights a cigarette placed in a placard during a demonstration in "
            "Budapest.",
            "credit": "REUTERS/Marton Monus",
        },
    }
    assert "ARTICLE BODY" not in after
    code, out, err = run("build")
    assert code == 0, err


def test_json_ld_wins_over_open_graph_and_the_canonical_url_is_used(
    ws: Path, site: Site, run: Run
) -> None:
    issue = issue_of(ws)
    url = site.url("/news/both-disagree?utm_source=newsletter&gclid=abc")
    code, _, err = run("teasers", "add", str(issue), url)
    assert (code, err) == (0, "")
    teaser = teasers_of(issue)[-1]
    assert teaser["headline"] == "NATO allies agree to Trump’s 5% spending target"
    assert teaser["summary"].startswith("The two-day NATO summit at the Hague wrapped")
    assert teaser["url"] == "https://www.gzeromedia.com/news/nato-allies-agree-to-five-percent"
    assert teaser["image"]["src"] == "https://www.gzeromedia.com/media/nato-summit-hague.jpg"
    assert teaser["image"]["credit"] == "REUTERS"


def test_open_graph_only_strips_tracking_from_the_canonical(ws: Path, site: Site, run: Run) -> None:
    issue = issue_of(ws)
    code, _, err = run("teasers", "add", str(issue), site.url("/news/og-only"))
    assert (code, err) == (0, "")
    teaser = teasers_of(issue)[-1]
    assert teaser["url"] == "https://magazine.example.com/news/from-swan-lake-to-the-feed?page=2"
    assert teaser["headline"] == "From Swan Lake to the feed, the fight to control information"
    assert teaser["image"] == {
        "src": "https://magazine.example.com/media/trump-x-tiktok.jpg",
        "alt": "Donald Trump's X page on a smartphone with a TikTok logo behind it",
    }


def test_plain_html_title_and_description_entities_and_long_text(
    ws: Path, site: Site, run: Run
) -> None:
    issue = issue_of(ws)
    urls = [site.url(f"/news/{name}") for name in ("plain-html", "entities", "long-description")]
    code, _, err = run("teasers", "add", str(issue), *urls)
    assert (code, err) == (0, "")
    plain, entities, long = teasers_of(issue)[-3:]
    assert plain["headline"] == "Small businesses, a big engine of global growth"  # no "| Site"
    assert "image" not in plain
    assert entities["headline"] == "Trump’s “big, beautiful” bill & the Senate"
    assert entities["summary"] == "The Senate’s rules <matter>: a parliamentarian decides."
    assert entities["image"]["alt"] == 'The "Ward" & its patients'
    assert len(long["summary"]) <= 300 and long["summary"].endswith(" dragged on for…")
    assert run("validate")[0] == 0


def test_the_same_url_twice_is_added_once(ws: Path, site: Site, run: Run) -> None:
    issue = issue_of(ws)
    url = site.url("/news/og-only")
    assert run("teasers", "add", str(issue), url)[0] == 0
    once = issue.read_text(encoding="utf-8")
    count = len(teasers_of(issue))
    code, out, err = run("teasers", "add", str(issue), url + "?utm_medium=email", url)
    assert (code, err) == (0, "")
    assert out == (
        f"skipped {url}?utm_medium=email: already in the issue (teaser {count})\n"
        f"skipped {url}: already in the issue (teaser {count})\n"
    )
    assert issue.read_text(encoding="utf-8") == once


def test_failures_are_one_line_each_and_the_rest_is_added(
    ws: Path, site: Site, other: Site, run: Run
) -> None:
    issue = issue_of(ws)
    count = len(teasers_of(issue))
    bad = {
        "/news/missing": "answered 404 Not Found",
        "/server-error": "answered 503 Service Unavailable",
        "/file.bin": "is not an HTML page (Content-Type: application/octet-stream)",
        "/huge": "is too large (over the limit of 200,000 bytes)",
        "/huge-declared": "is too large (300,018 bytes; the limit is 200,000)",
        "/news/no-headline": "has no headline (JSON-LD, og:title, twitter:title or <title>)",
        "/news/title-only": "has no description (JSON-LD, og:description, twitter:description "
        "or meta description) to use as the summary",
        "/loop": "more than 5 redirects ([fetch] max_redirects)",
        "/to-login": f"redirects to a login or subscription page ({site.url('/account/login?next=/news/x')})",
    }
    good = site.url("/r1")
    code, out, err = run("teasers", "add", str(issue), *(site.url(p) for p in bad), good)
    assert code == 1
    assert err.splitlines() == [
        *(f"error: {site.url(path)}: {message}" for path, message in bad.items()),
        f"{len(bad)} of {len(bad) + 1} URL(s) failed; nothing was added for them",
    ]
    assert out.splitlines()[0] == f"added {good}: Small businesses, a big engine of global growth"
    teasers = teasers_of(issue)
    assert len(teasers) == count + 1
    assert teasers[-1]["url"] == site.url("/news/plain-html")  # the redirect's end, utm_ gone


def test_a_redirect_to_a_server_not_allowed_is_refused_before_connecting(
    ws: Path, site: Site, other: Site, run: Run
) -> None:
    issue = issue_of(ws)
    before = issue.read_text(encoding="utf-8")
    code, out, err = run("teasers", "add", str(issue), site.url("/to-other"), other.url("/secret"))
    assert (code, out) == (1, "")
    refused = (
        f"refused: 127.0.0.1 is a loopback address; pass --allow-host {other.host} "
        "(or [fetch] allow_hosts) if you trust it"
    )
    assert err.splitlines() == [
        f"error: {site.url('/to-other')}: {refused}",
        f"error: {other.url('/secret')}: {refused}",
        "2 of 2 URL(s) failed; nothing was added for them",
    ]
    assert other.requests == []
    assert issue.read_text(encoding="utf-8") == before


def test_a_redirect_to_another_allowed_site_is_still_refused(
    ws: Path, site: Site, other: Site, run: Run
) -> None:
    code, _, err = run(
        "teasers", "add", str(issue_of(ws)), site.url("/to-other"), "--allow-host", other.host
    )
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: {site.url('/to-other')}: redirects to another site ({other.url('/secret')}); "
        "paste that URL if it is the article"
    )
    assert other.requests == []


def test_a_private_address_given_by_name_is_refused(ws: Path, site: Site, run: Run) -> None:
    port = site.host.split(":")[1]
    seen = len(site.requests)
    code, _, err = run("teasers", "add", str(issue_of(ws)), f"http://localhost:{port}/news/og-only")
    assert code == 1
    assert err.startswith(f"error: http://localhost:{port}/news/og-only: refused: localhost is ")
    assert f"address; pass --allow-host localhost:{port} " in err
    assert len(site.requests) == seen


def test_only_http_urls_without_passwords_are_read(ws: Path, run: Run) -> None:
    secret = "https://editor:hunter2@cms.example.com/draft"
    code, _, err = run("teasers", "add", str(issue_of(ws)), "file:///etc/passwd", secret)
    assert code == 1
    assert err.splitlines()[:2] == [
        "error: file:///etc/passwd: not an http(s) URL; paste the article's address, https://...",
        "error: https://***@cms.example.com/draft: has a user name or password in it; paste the "
        "article's public URL",
    ]
    assert "hunter2" not in err


def test_a_slow_page_times_out(ws: Path, site: Site, run: Run) -> None:
    config = ws / "newsletter.toml"
    config.write_text(config.read_text().replace("timeout = 5", "timeout = 0.3"))
    code, _, err = run("teasers", "add", str(issue_of(ws)), site.url("/slow"))
    assert code == 1
    assert (
        err.splitlines()[0]
        == f"error: {site.url('/slow')}: timed out after 0.3 s ([fetch] timeout)"
    )


def test_dry_run_prints_yaml_and_touches_nothing(ws: Path, site: Site, run: Run) -> None:
    issue = issue_of(ws)
    before = issue.read_text(encoding="utf-8")
    url = site.url("/news/relative-image")
    code, out, err = run("teasers", "add", str(issue), url, "--dry-run", "--download")
    assert code == 0
    assert issue.read_text(encoding="utf-8") == before
    assert list((ws / "assets").iterdir()) == []
    assert yaml.safe_load(out) == [
        {
            "headline": "Relative image, resolved",
            "url": url,
            "summary": "The image path is relative to this page.",
            "image": {
                "src": site.url("/images/photo.jpg"),
                "alt": "A photo served by the same site",
            },
        }
    ]
    assert f"# from {url}" in out
    assert err.splitlines() == [
        f"warning: {url}: the page asks search engines not to index it (robots noindex): "
        "check that it is meant to be public",
        f"added {url}: Relative image, resolved",
    ]
    code, _, err = run("teasers", "add", str(issue), url, "--dry-run")  # without --download
    assert code == 0
    assert (
        f"warning: {url}: the image {site.url('/images/photo.jpg')} is not https: mail clients "
        "may block it (use --download)"
    ) in err.splitlines()


def test_download_saves_a_resized_image_and_the_issue_builds(
    ws: Path, site: Site, run: Run
) -> None:
    issue = issue_of(ws)
    code, out, err = run(
        "teasers",
        "add",
        str(issue),
        site.url("/with-image"),
        site.url("/with-broken-image"),
        "--download",
    )
    assert code == 0, err
    assert "saved assets/with-image.jpg\n" in out
    image = teasers_of(issue)[-2]["image"]
    assert image == {"src": "assets/with-image.jpg", "alt": "A red square"}
    with Image.open(ws / "assets" / "with-image.jpg") as saved:
        assert (saved.format, saved.size) == ("JPEG", (600, 400))
    assert "image" not in teasers_of(issue)[-1]
    assert f"warning: {site.url('/with-broken-image')}: the image " in err
    assert "is not a JPEG, PNG, GIF or WebP image; the teaser has no image" in err
    code, _, err = run("build")
    assert code == 0, err


def test_a_markdown_issue_keeps_its_body(ws: Path, site: Site, run: Run) -> None:
    md = ws / "issues" / "2025-06-27-md.md"
    body = "A *Markdown* body.\n\n---\n\nWith a rule, and   odd   spacing.\n"
    front = (
        "---\n"
        "subject: A subject   # kept\n"
        "date: 2025-06-27\n"
        "lead:\n"
        "  headline: A lead\n"
        "teasers: []\n"
        "---\n"
    )
    md.write_text(front + body, encoding="utf-8")
    code, _, err = run("teasers", "add", str(md), site.url("/news/og-only"))
    assert (code, err[:0]) == (0, ""), err
    text = md.read_text(encoding="utf-8")
    assert text.endswith("---\n" + body)
    assert text.startswith("---\nsubject: A subject   # kept\n")
    assert run("validate", str(md))[0] == 0


def test_new_with_lead_fills_the_lead(ws: Path, site: Site, run: Run) -> None:
    url = site.url("/news/jsonld-only")
    code, out, err = run("new", "pride", "--date", "2025-06-28", "--lead", url)
    assert (code, err) == (0, "")
    assert (
        out == "wrote issues/2025-06-28-pride.yaml (lead: Budapest Pride goes ahead despite ban)\n"
    )
    path = ws / "issues" / "2025-06-28-pride.yaml"
    text = path.read_text(encoding="utf-8")
    lead = yaml.safe_load(text)["lead"]
    assert lead["headline"] == "Budapest Pride goes ahead despite ban"
    assert lead["kicker"] == "Europe"
    assert lead["byline"] == "By Anita Komuves and Krisztina Than"
    assert lead["url"] == url
    assert lead["image"]["credit"] == "REUTERS/Marton Monus"
    assert lead["image"]["caption"].startswith("A woman lights a cigarette")
    assert lead["body"] == (
        "Hungary’s capital will proceed with Saturday’s Pride parade celebrating the LGBTQ+ "
        "community, despite the rightwing national government’s recent ban on the event.\n"
    )
    assert "ARTICLE BODY" not in text
    assert "# An issue of the newsletter." in text  # the skeleton's comments are kept
    assert f"# from {url}" in text
    assert run("build", str(path))[0] == 0


def test_new_with_a_failing_lead_writes_nothing(ws: Path, site: Site, run: Run) -> None:
    url = site.url("/news/missing")
    code, out, err = run("new", "pride", "--date", "2025-06-28", "--lead", url)
    assert (code, out) == (1, "")
    assert err == f"error: {url}: answered 404 Not Found; no issue written\n"
    assert not (ws / "issues" / "2025-06-28-pride.yaml").exists()


def test_help_has_examples() -> None:
    result = CliRunner().invoke(cli, ["teasers", "add", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "--allow-host HOST[:PORT]" in result.stdout
    result = CliRunner().invoke(cli, ["teasers", "add", "x.yaml", "u", "--allow-host", "a:b"])
    assert result.exit_code == 2


def test_a_teaser_that_would_not_load_is_not_added(ws: Path, site: Site, run: Run) -> None:
    issue = issue_of(ws)
    before = issue.read_text(encoding="utf-8")
    code, out, err = run("teasers", "add", str(issue), site.url("/merge-field"))
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        f"error: {site.url('/merge-field')}: the teaser would not load (teasers[1].headline: "
        "unknown merge field '%%firstname%%': did you mean '%%first_name%%'? (known: first_name, "
        "email, unsubscribe_url, web_version_url, preferences_url)); nothing added for it"
    )
    assert issue.read_text(encoding="utf-8") == before


def test_a_story_in_another_language_gets_its_lang(ws: Path, site: Site, run: Run) -> None:
    issue = issue_of(ws)
    url = site.url("/news/arabic")
    code, _, err = run("teasers", "add", str(issue), url, site.url("/unlisted"))
    assert code == 0
    assert err == (
        f"warning: {url}: the page gives no alt text for its image: describe it in image.alt\n"
        f"warning: {site.url('/unlisted')}: the page asks search engines not to index it "
        "(robots noindex): check that it is meant to be public\n"
    )
    arabic = teasers_of(issue)[-2]
    assert arabic["lang"] == "ar"
    assert arabic["url"] == "https://arabic.example.com/news/nato-summit"
    assert arabic["image"] == {"src": "https://arabic.example.com/images/nato.jpg", "alt": ""}
    code, _, err = run("build")
    assert code == 0, err
    html = next((ws / "out").glob("*/email.html")).read_text(encoding="utf-8")
    headline = parse(html).find('.//h3[@lang="ar"]')
    assert headline is not None and headline.get("dir") == "rtl"


def test_the_connection_goes_to_the_checked_address_under_the_real_name(site: Site) -> None:
    from newsletter.fetch.client import FetchPolicy, fetch

    port = int(site.host.split(":")[1])
    policy = FetchPolicy(allow_hosts=frozenset({("localhost", port)}), user_agent="test-agent")
    try:
        result = fetch(f"http://localhost:{port}/news/plain-html", policy)
    except Exception as error:  # localhost may resolve to ::1 first, where nothing listens
        pytest.fail(f"fetching through localhost failed: {error}")
    assert result.body.startswith(b"<!DOCTYPE html>")
    assert site.hosts[-1] == f"localhost:{port}"


def test_downloads_never_overwrite_and_are_undone_with_their_teaser(
    ws: Path, site: Site, run: Run
) -> None:
    from newsletter.fetch.images import prepare

    issue = issue_of(ws)
    own = ws / "assets" / "with-image.jpg"
    own.write_bytes(b"the editor's own file")
    code, out, err = run("teasers", "add", str(issue), site.url("/with-image"), "--download")
    assert code == 0, err
    assert own.read_bytes() == b"the editor's own file"
    assert teasers_of(issue)[-1]["image"]["src"] == "assets/with-image-2.jpg"
    assert "saved assets/with-image-2.jpg\n" in out

    failing = site.url("/merge-field-image")
    code, _, err = run("teasers", "add", str(issue), failing, "--download")
    assert code == 1 and "unknown merge field" in err
    assert not (ws / "assets" / "merge-field-image.jpg").exists()  # written, then undone
    same = ws / "assets" / "merge-field-image.jpg"
    same.write_bytes(prepare(_jpeg(1200, 800)).data)  # already there, identical: reused
    assert run("teasers", "add", str(issue), failing, "--download")[0] == 1
    assert same.exists()


def test_new_with_lead_and_download_saves_the_image(ws: Path, site: Site, run: Run) -> None:
    code, out, err = run(
        "new", "photo", "--date", "2025-06-29", "--lead", site.url("/with-image"), "--download"
    )
    assert (code, err) == (0, "")
    assert out == (
        "saved assets/with-image.jpg\nwrote issues/2025-06-29-photo.yaml (lead: A photo story)\n"
    )
    lead = yaml.safe_load((ws / "issues" / "2025-06-29-photo.yaml").read_text())["lead"]
    assert lead["image"] == {"src": "assets/with-image.jpg", "alt": "A red square"}
    assert lead["body"] == "An article with a real photo.\n"


def test_https_checks_the_certificate_of_the_real_name_at_the_checked_address(
    tmp_path: Path,
) -> None:
    import trustme

    from newsletter.fetch.client import FetchError, FetchPolicy, fetch

    authority = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("localhost").configure_cert(context)
    names: list[str | None] = []
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    body = (ARTICLES / "plain-html.html").read_bytes()
    secure = start_site(Site({"/news/plain-html": (200, HTML, body)}), tls=context)
    try:
        port = int(secure.host.split(":")[1])
        ca_file = tmp_path / "ca.pem"
        authority.cert_pem.write_to_path(str(ca_file))
        allowed = frozenset({("localhost", port)})
        url = f"https://localhost:{port}/news/plain-html"
        page = fetch(url, FetchPolicy(allow_hosts=allowed, ca_file=ca_file))
        assert page.body == body
        assert (names[-1], secure.hosts[-1]) == ("localhost", f"localhost:{port}")
        with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(url, FetchPolicy(allow_hosts=allowed))  # an authority nobody trusts
        with pytest.raises(FetchError, match="cannot use \\[fetch\\] ca_file"):
            fetch(url, FetchPolicy(allow_hosts=allowed, ca_file=tmp_path / "missing.pem"))
    finally:
        stop_site(secure)


def test_an_invalid_issue_is_reported_and_no_page_is_read(ws: Path, site: Site, run: Run) -> None:
    issue = issue_of(ws)
    issue.write_text(issue.read_text(encoding="utf-8").replace("date: ", "date: soon "))
    seen = len(site.requests)
    code, out, err = run("teasers", "add", str(issue), site.url("/news/og-only"))
    assert (code, out) == (1, "")
    assert err.endswith("1 problem found\n") and ": date: expected a date" in err
    assert len(site.requests) == seen
