"""``newsletter preview``: a real server on loopback, real builds, and Debian's chromium.

The server runs in this process on a free port; the browser is driven by Playwright. Nothing
is timed: every check waits for the condition it needs (Playwright's ``expect``).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, expect

from newsletter.cli import cli
from newsletter.commands.preview import PreviewServer
from newsletter.commands.preview.builds import Build
from newsletter.commands.preview.scheme import force_scheme
from newsletter.commands.preview.server import state_of
from newsletter.model.workspace import builtin_themes
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

ISSUE = "2025-06-26-putin-poaches-the-neighbors.yaml"
HEADLINE = "Putin poaches the neighbors for his Ukraine invasion"


@pytest.fixture
def preview_ws(workspace_dir: Path) -> Path:
    """A copy of the GZERO workspace, with a workspace override of the header partial."""
    root = workspace_dir
    partials = root / "templates" / "gzero" / "partials"
    partials.mkdir(parents=True)
    shutil.copy(builtin_themes() / "gzero" / "partials" / "header.mjml.j2", partials)
    return root


@pytest.fixture
def server(preview_ws: Path) -> Iterator[PreviewServer]:
    with PreviewServer(preview_ws, port=0) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # The system prefers dark: the Light button must still show the light stylesheet.
    context = browser.new_context(color_scheme="dark", viewport={"width": 1440, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def open_issue(page: Page, server: PreviewServer) -> None:
    page.goto(f"{server.url}issue/{ISSUE}")
    expect(page.frame_locator("#frame").locator("h1")).to_contain_text(HEADLINE)


def send_test_from_page(page: Page, to: str) -> None:
    page.get_by_label("Send a test to").fill(to)
    page.get_by_role("button", name="Send test").click()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def get(server: PreviewServer, target: str, host: str | None = None) -> tuple[int, bytes]:
    """A raw request: the path is sent exactly as given, as no browser would."""
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- the page in a real browser ----------------------------------------------------------------


def test_page_shows_inbox_line_size_widths_and_the_workspace_images(
    page: Page, server: PreviewServer
) -> None:
    open_issue(page, server)
    expect(page.locator("#inbox .from")).to_have_text("GZERO Media")
    expect(page.locator("#inbox .subject")).to_have_text(HEADLINE)
    expect(page.locator("#inbox .preheader")).to_contain_text("Russia is recruiting")
    expect(page.locator("#size")).to_contain_text(
        re.compile(r"HTML \d+\.\d KB of Gmail's 102\.0 KB")
    )
    # the example has no errors or warnings; its info notes stay folded
    expect(page.locator("#findings summary")).to_contain_text(re.compile(r"^\d+ info notes?$"))
    expect(page.locator("#findings ul.serious li")).to_have_count(0)
    expect(page.locator("#findings ul.notes")).to_be_hidden()
    assert page.locator("#size .fill").evaluate("e => e.getBoundingClientRect().width") > 0

    frame = page.frame_locator("#frame")
    images = frame.locator("img")
    expect(images.first).to_have_attribute("src", "/assets/putin-poaches-the-neighbors.jpg")
    for index in range(images.count()):
        assert images.nth(index).evaluate("i => i.decode().then(() => i.naturalWidth)") > 0

    page.get_by_role("button", name="Phone 375").click()
    expect(page.locator("#frame")).to_have_attribute("style", re.compile("width: 375px"))
    root = frame.locator("html")
    page.wait_for_function("document.querySelector('#frame').clientWidth === 375")
    width, scroll_width = root.evaluate("e => [e.clientWidth, e.scrollWidth]")
    assert width == 375
    assert scroll_width <= width, "the email scrolls sideways on a 375 px phone"

    page.get_by_role("button", name="Desktop").click()
    page.wait_for_function("document.querySelector('#frame').clientWidth === 1024")


def test_dark_toggle_shows_the_dark_stylesheet_and_light_ignores_the_system(
    page: Page, server: PreviewServer
) -> None:
    open_issue(page, server)
    body = page.frame_locator("#frame").locator("body")
    expect(body).to_have_css("background-color", "rgb(238, 240, 243)")  # #eef0f3, light
    page.get_by_role("button", name="Dark", exact=True).click()
    expect(body).to_have_css("background-color", "rgb(15, 17, 21)")  # #0f1115, dark
    expect(page.frame_locator("#frame").locator(".nl-headline h1 a")).to_have_css(
        "color", "rgb(241, 243, 244)"
    )
    page.get_by_role("button", name="Light", exact=True).click()
    expect(body).to_have_css("background-color", "rgb(238, 240, 243)")


def test_plain_text_tab_shows_the_text_part(page: Page, server: PreviewServer) -> None:
    open_issue(page, server)
    page.get_by_role("tab", name="Plain text").click()
    text = page.locator("#text")
    expect(text).to_be_visible()
    expect(text).to_contain_text(HEADLINE)
    expect(text).to_contain_text("View in browser: https://www.gzeromedia.com/newsletter/")
    expect(text).to_contain_text("Unsubscribe")
    expect(page.locator("#frame")).to_be_hidden()
    page.get_by_role("tab", name="Email").click()
    expect(page.locator("#frame")).to_be_visible()


def test_web_page_tab_shows_the_issue_as_the_archive_does(
    page: Page, server: PreviewServer
) -> None:
    open_issue(page, server)
    page.get_by_role("tab", name="Web page").click()
    frame = page.frame_locator("#frame")
    expect(frame.locator("main article h1")).to_have_text(HEADLINE)
    expect(frame.locator("link[rel=canonical]")).to_have_attribute(
        "href", f"https://www.gzeromedia.com/newsletter/{ISSUE.removesuffix('.yaml')}"
    )
    expect(frame.locator("nav a", has_text="Subscribe")).to_be_visible()
    expect(frame.locator("text=Unsubscribe")).to_have_count(0)
    assert frame.locator("figure img").evaluate("i => i.complete && i.naturalWidth") > 0
    page.get_by_role("button", name="Dark", exact=True).click()
    expect(frame.locator("main")).to_have_css("background-color", "rgb(27, 30, 36)")
    page.get_by_role("tab", name="Email").click()
    expect(page.frame_locator("#frame").locator("table").first).to_be_attached()


def test_edits_arrive_without_a_reload(page: Page, server: PreviewServer, preview_ws: Path) -> None:
    open_issue(page, server)
    page.get_by_role("button", name="Dark", exact=True).click()
    page.evaluate("window.notReloaded = true")
    frame = page.frame_locator("#frame")

    edit(preview_ws / "issues" / ISSUE, f"  headline: {HEADLINE}", "  headline: Kazakhstan says no")
    expect(frame.locator("h1")).to_contain_text("Kazakhstan says no")
    expect(frame.locator("body")).to_have_css("background-color", "rgb(15, 17, 21)")  # kept

    edit(
        preview_ws / "templates" / "gzero" / "partials" / "header.mjml.j2",
        "{{ nl.name }}",
        "Edited masthead",
    )
    expect(frame.locator(".nl-masthead")).to_contain_text("Edited masthead")

    edit(preview_ws / "newsletter.toml", 'from_name = "GZERO Media"', 'from_name = "GZERO Desk"')
    expect(page.locator("#inbox .from")).to_have_text("GZERO Desk")

    generation = int(page.locator("body").get_attribute("data-generation") or "0")
    shutil.copy(
        preview_ws / "assets" / "budapest-pride.jpg",
        preview_ws / "assets" / "putin-poaches-the-neighbors.jpg",
    )
    page.wait_for_function(f"Number(document.body.dataset.generation) > {generation}")

    assert page.evaluate("window.notReloaded") is True


def test_the_page_follows_a_restarted_server(page: Page, preview_ws: Path) -> None:
    issue = preview_ws / "issues" / ISSUE
    with PreviewServer(preview_ws, port=0) as first:
        open_issue(page, first)
        edit(issue, f"  headline: {HEADLINE}", "  headline: Before the restart")
        expect(page.frame_locator("#frame").locator("h1")).to_contain_text("Before the restart")
        port = int(first.url.rsplit(":", 1)[1].strip("/"))
    edit(issue, "  headline: Before the restart", "  headline: After the restart")
    with PreviewServer(preview_ws, port=port):  # its generations start from 0 again
        expect(page.frame_locator("#frame").locator("h1")).to_contain_text("After the restart")


def test_problems_show_in_the_page_and_the_email_comes_back(
    page: Page, server: PreviewServer, preview_ws: Path
) -> None:
    issue = preview_ws / "issues" / ISSUE
    good = issue.read_text(encoding="utf-8")
    open_issue(page, server)
    problems = page.locator("#problems pre")

    issue.write_text(good.replace("lead:\n", "lead: [\n", 1), encoding="utf-8")
    expect(page.locator("#problems")).to_be_visible()
    # the last good email stays on screen under the problems, instead of a blank page
    expect(page.locator("#last-good")).to_be_visible()
    expect(page.locator("#frame")).to_be_visible()
    expect(page.frame_locator("#frame").locator("h1")).to_contain_text(HEADLINE)
    assert problems.inner_text().splitlines() == validate_lines(preview_ws, issue)

    issue.write_text(
        good.replace("  byline:", "  bylin:").replace("  kicker:", "  kickr:"), encoding="utf-8"
    )
    expect(problems).to_contain_text(
        f"issues/{ISSUE}:7: lead.kickr: unknown field (did you mean 'kicker'?)"
    )
    assert problems.inner_text().splitlines() == validate_lines(preview_ws, issue)

    config = preview_ws / "newsletter.toml"
    settings = config.read_text(encoding="utf-8")
    config.write_text(settings.replace('lang = "en"', "lang = ["), encoding="utf-8")
    expect(problems).to_contain_text("newsletter.toml")
    expect(problems).to_contain_text("invalid TOML")
    assert problems.inner_text().splitlines() == validate_lines(preview_ws, issue)
    config.write_text(settings, encoding="utf-8")
    issue.write_text(good, encoding="utf-8")

    expect(page.frame_locator("#frame").locator("h1")).to_contain_text(HEADLINE)
    expect(page.locator("#problems")).to_be_hidden()


def validate_lines(root: Path, issue: Path) -> list[str]:
    """What ``newsletter validate`` prints for ``issue``, one problem a line."""
    result = CliRunner().invoke(cli, ["validate", "--workspace", str(root), str(issue)])
    assert result.exit_code == 1
    return result.stderr.splitlines()


def test_index_links_to_every_issue(page: Page, server: PreviewServer, preview_ws: Path) -> None:
    shutil.copy(preview_ws / "issues" / ISSUE, preview_ws / "issues" / "2025-06-27-second.yaml")
    page.goto(server.url)
    links = page.locator("main a")
    expect(links).to_have_text(
        ["2025-06-26-putin-poaches-the-neighbors.yaml", "2025-06-27-second.yaml"]
    )
    links.nth(1).click()
    expect(page).to_have_url(f"{server.url}issue/2025-06-27-second.yaml")
    expect(page.frame_locator("#frame").locator("h1")).to_contain_text(HEADLINE)


def test_the_browser_cannot_leave_the_workspace(page: Page, server: PreviewServer) -> None:
    for target in (
        "..%2f..%2fetc/passwd",
        "%2e%2e/%2e%2e/etc/passwd",
        "assets/..%2f..%2fnewsletter.toml",
    ):
        response = page.goto(server.url + target)
        assert response is not None and response.status == 404, target


# -- raw HTTP ---------------------------------------------------------------------------------


TRAVERSALS = [
    "/../../../../etc/passwd",
    "/..%2f..%2f..%2f..%2fetc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/assets/../../../../etc/passwd",
    "/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/..\\..\\..\\etc\\passwd",
    "/assets/%00.jpg",
    "//etc/passwd",
    "/_/email/..%2f..%2fnewsletter.toml",
    "/issue/..%2f..%2f..%2fetc%2fpasswd",
    "/newsletter.toml",
    "/issues/" + ISSUE,
    "/.git/config",
    "/assets/%ff%fe.jpg",
]


def test_nothing_outside_the_workspace_is_served(server: PreviewServer, preview_ws: Path) -> None:
    outside = preview_ws.parent / "secret.png"
    outside.write_bytes(b"root:x:0:0 not an image")
    (preview_ws / "assets" / "link.png").symlink_to(outside)
    (preview_ws / "assets" / "passwd.jpg").symlink_to("/etc/passwd")
    shutil.copy(preview_ws / "assets" / "budapest-pride.jpg", preview_ws / "assets" / ".hidden.jpg")
    status, body = get(server, "/assets/budapest-pride.jpg")
    assert status == 200 and body == (preview_ws / "assets" / "budapest-pride.jpg").read_bytes()
    for target in [*TRAVERSALS, "/assets/link.png", "/assets/passwd.jpg", "/assets/.hidden.jpg"]:
        status, body = get(server, target)
        assert status == 404, target
        assert b"root:" not in body, target


def test_emails_run_no_script_and_files_are_sandboxed(server: PreviewServer) -> None:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    for target, policy in (
        (f"/_/email/{ISSUE}?scheme=dark", "script-src 'none'"),
        ("/assets/budapest-pride.jpg", "sandbox"),
    ):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", target)
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 200, target
        assert response.getheader("Content-Security-Policy") == policy, target


def test_a_foreign_host_name_is_refused(server: PreviewServer) -> None:
    assert get(server, "/", host=f"127.0.0.1:{server.url.split(':')[-1].strip('/')}")[0] == 200
    assert get(server, "/", host="localhost")[0] == 200
    assert get(server, "/", host="[::1]:8000")[0] == 200
    for host in ("attacker.example:8000", "127.0.0.1.attacker.example", "127.attacker.example"):
        assert get(server, "/", host=host) == (403, b"unexpected Host header\n"), host


def test_events_announce_each_generation(server: PreviewServer, preview_ws: Path) -> None:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    connection.request("GET", "/_/events")
    response = connection.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream"
    assert read_event(response) == ("build", "0")
    (preview_ws / "newsletter.toml").write_text(
        (preview_ws / "newsletter.toml").read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )
    assert read_event(response) == ("build", "1")
    connection.close()


def test_a_saved_issue_is_rebuilt_with_the_settings_read_before_and_a_setting_is_read_again(
    server: PreviewServer, preview_ws: Path
) -> None:
    """The common save, an issue's, rebuilds that issue without reading newsletter.toml and
    the theme again (the page waits for less); a change to either is read at once."""
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    events = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    events.request("GET", "/_/events")
    stream = events.getresponse()
    read_event(stream)
    get(server, f"/_/email/{ISSUE}")
    before = server.builds.workspace()
    assert before is not None
    issue = preview_ws / "issues" / ISSUE
    issue.write_text(issue.read_text().replace(HEADLINE, "A headline saved"))
    wait_for_email(server, stream, "A headline saved")
    assert server.builds.workspace() is before
    config = preview_ws / "newsletter.toml"
    config.write_text(config.read_text().replace('name = "GZERO Daily"', 'name = "Renamed Daily"'))
    wait_for_email(server, stream, "Renamed Daily")
    assert server.builds.workspace() is not before
    events.close()


def test_folders_made_after_the_start_are_watched(preview_ws: Path) -> None:
    shutil.rmtree(preview_ws / "templates")
    with PreviewServer(preview_ws, port=0) as server:
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        # Less than the keep-alive interval: a missed change fails the test in 10 s.
        events = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        events.request("GET", "/_/events")
        stream = events.getresponse()
        read_event(stream)
        assert "Edited masthead" not in get(server, f"/_/email/{ISSUE}")[1].decode()

        partials = preview_ws / "templates" / "gzero" / "partials"
        partials.mkdir(parents=True)
        header = (builtin_themes() / "gzero" / "partials" / "header.mjml.j2").read_text()
        (partials / "header.mjml.j2").write_text(header.replace("{{ nl.name }}", "Edited masthead"))
        wait_for_email(server, stream, "Edited masthead")

        (partials / "header.mjml.j2").write_text(header.replace("{{ nl.name }}", "Masthead again"))
        wait_for_email(server, stream, "Masthead again")
        events.close()


def wait_for_email(server: PreviewServer, stream: http.client.HTTPResponse, text: str) -> None:
    """Wait, one build event at a time, until the email holds ``text`` (the stream times out)."""
    while text not in get(server, f"/_/email/{ISSUE}")[1].decode():
        read_event(stream)


def read_event(response: http.client.HTTPResponse) -> tuple[str, str]:
    """The next event of a server-sent event stream, keep-alive comments skipped."""
    fields: dict[str, str] = {}
    while True:
        line = response.fp.readline().decode().rstrip("\n")
        if not line:
            if "event" in fields:
                return fields["event"], fields["data"]
            continue
        if not line.startswith(":"):
            key, _, value = line.partition(": ")
            fields[key] = value


def test_state_lists_the_findings_of_the_build(preview_ws: Path) -> None:
    workspace = load_workspace(preview_ws)
    built = build_issue(preview_ws / "issues" / ISSUE, workspace)
    assert built.artifact is not None
    state = state_of(Build(built, workspace, generation=3, milliseconds=12.0), ISSUE)
    assert state["generation"] == 3 and state["ok"] is True
    assert state["html_bytes"] == len(built.artifact.email.html.encode())
    assert state["findings"] == [f.to_dict() for f in built.artifact.findings]
    assert state["findings"] and all(f["severity"] == "info" for f in state["findings"])
    # a warning the checks really find shows too (an insecure image link)
    issue = (preview_ws / "issues" / ISSUE).read_text()
    (preview_ws / "issues" / ISSUE).write_text(
        issue.replace("url: https://www.gzeromedia.com/", "url: http://www.gzeromedia.com/", 1)
    )
    insecure = build_issue(preview_ws / "issues" / ISSUE, workspace)
    findings = state_of(Build(insecure, workspace, 4, 12.0), ISSUE)["findings"]
    assert "link-insecure" in {f["id"] for f in findings if f["severity"] == "warning"}


# -- the shared pipeline and the scheme filter --------------------------------------------------


def test_build_links_local_images_to_the_given_base_and_nothing_else_changes(
    preview_ws: Path,
) -> None:
    workspace = load_workspace(preview_ws)
    path = preview_ws / "issues" / ISSUE
    built = build_issue(path, workspace)
    previewed = build_issue(path, workspace, asset_base_url="http://127.0.0.1:8123/")
    assert built.email is not None and previewed.email is not None
    published = "https://www.gzeromedia.com/newsletter/"
    assert f'src="{published}assets/putin-poaches-the-neighbors.1200w.' in built.email.html
    # the email links the 2x copies that `newsletter site` publishes; the preview, which
    # serves the workspace's own files, links the originals they are made from
    assert built.artifact is not None
    expected = built.email.html
    for image in built.artifact.rewrites.images:
        expected = expected.replace(image.final, f"http://127.0.0.1:8123/{image.original}")
    assert previewed.email.html == expected.replace(published, "http://127.0.0.1:8123/")
    assert previewed.email.text == built.email.text
    ids = {f.id for f in previewed.findings} - {"image-insecure"}  # http: the base given here
    assert ids == {f.id for f in built.findings}  # the preview's own image URLs are no finding


CSS = """<html><head><style>
p { color: red; }
@media (prefers-color-scheme: dark) {
  body { background: #000 !important; }
  @supports (display: grid) { .a { color: #fff; } }
}
@media only screen and (max-width: 479px) { p { font-size: 20px; } }
</style></head><body></body></html>"""


def test_force_scheme_unwraps_dark_rules_for_dark() -> None:
    assert force_scheme(CSS, "dark") == (
        """<html><head><meta name="color-scheme" content="dark"><style>
p { color: red; }

  body { background: #000 !important; }
  @supports (display: grid) { .a { color: #fff; } }

@media only screen and (max-width: 479px) { p { font-size: 20px; } }
</style></head><body></body></html>"""
    )


def test_force_scheme_drops_dark_rules_for_light() -> None:
    assert force_scheme(CSS, "light") == (
        """<html><head><meta name="color-scheme" content="light"><style>
p { color: red; }

@media only screen and (max-width: 479px) { p { font-size: 20px; } }
</style></head><body></body></html>"""
    )


# -- the command ---------------------------------------------------------------------------------


def test_the_command_serves_opens_the_browser_and_stops_on_ctrl_c(
    preview_ws: Path, tmp_path: Path
) -> None:
    issue = preview_ws / "issues" / ISSUE
    opened = tmp_path / "opened.txt"
    script = "import sys; open(sys.argv[1], 'w').write(sys.argv[2])"
    browser = f'{sys.executable} -c "{script}" {opened} %s'
    newsletter = str(Path(sys.executable).parent / "newsletter")
    process = subprocess.Popen(
        [newsletter, "preview", "--port", "0", "--open", str(issue)],
        cwd=preview_ws,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "BROWSER": browser},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"previewing issues/{ISSUE} at http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        assert process.stdout.readline().startswith("watching ")
        assert process.stdout.readline() == "opened the page in the browser\n"
        assert opened.read_text() == url
        with urllib.request.urlopen(url + f"_/state/{ISSUE}", timeout=30) as response:
            assert json.load(response)["subject"] == HEADLINE
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert out.splitlines()[-1] == "stopped"


def test_a_port_in_use_is_one_line_and_exit_1(preview_ws: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["preview", "--workspace", str(preview_ws), "--port", str(port)]
        )
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: port {port} on 127.0.0.1 is already in use; "
        "stop the other server or pick another with --port\n"
    )


def test_a_missing_issue_is_a_usage_error(preview_ws: Path) -> None:
    result = CliRunner().invoke(cli, ["preview", "--workspace", str(preview_ws), "nope.yaml"])
    assert result.exit_code == 2
    assert "Invalid value for 'ISSUE': no such file: nope.yaml" in result.stderr


def test_help_shows_the_options_and_an_example() -> None:
    result = CliRunner().invoke(cli, ["preview", "--help"])
    assert result.exit_code == 0
    for text in ("--port", "--host", "--open", "newsletter preview issues/"):
        assert text in result.stdout
    assert "preview" in CliRunner().invoke(cli, ["--help"]).stdout


def test_hostile_issues_are_problems_in_the_page_and_the_server_lives_on(
    server: PreviewServer, preview_ws: Path
) -> None:
    """Issue 9, item 15: 64 KB of nested emphasis used to segfault MRML inside the server."""
    from tests.test_bounds import ALIAS_BOMB, STARS

    stars = preview_ws / "issues" / "2025-06-26-stars.md"
    stars.write_text(
        f"---\nsubject: S\ndate: 2025-06-26\nlead: {{headline: H}}\n---\n{STARS}w{STARS}\n"
    )
    bomb = preview_ws / "issues" / "2025-06-26-bomb.yaml"
    bomb.write_text(ALIAS_BOMB + "\n")
    for name, expected in [
        (stars.name, "the Markdown nests 16001 levels"),
        (bomb.name, "YAML alias"),
    ]:
        status, body = get(server, f"/_/state/{name}")
        state = json.loads(body)
        assert status == 200 and state["ok"] is False
        (problem,) = state["problems"]  # the problems alone: the page counts them itself
        assert expected in problem
    status, body = get(server, f"/_/state/{ISSUE}")
    assert status == 200 and json.loads(body)["ok"] is True


# -- issue 14: the editor's preview --------------------------------------------------------------


def test_three_dark_modes_each_as_its_model_says(page: Page, server: PreviewServer) -> None:
    open_issue(page, server)
    frame = page.frame_locator("#frame")
    body = frame.locator("body")
    # the theme's own dark stylesheet (Apple Mail)
    page.get_by_role("button", name="Dark", exact=True).click()
    expect(body).to_have_css("background-color", "rgb(15, 17, 21)")
    # the client inverts the light email (Gmail app, Outlook.com): light colours, inverted
    page.get_by_role("button", name="Inverted").click()
    expect(body).to_have_css("background-color", "rgb(238, 240, 243)")
    expect(frame.locator("html")).to_have_css("filter", "invert(1) hue-rotate(180deg)")
    expect(frame.locator("img").first).to_have_css("filter", "invert(1) hue-rotate(180deg)")
    # a dark client that leaves the email light (Gmail web): neither stylesheet nor filter
    page.get_by_role("button", name="Dark ignored").click()
    expect(frame.locator("html")).to_have_css("filter", "none")
    expect(body).to_have_css("background-color", "rgb(238, 240, 243)")
    assert frame.locator("meta[name=color-scheme]").first.get_attribute("content") == "dark"
    # the choice survives a reload (localStorage)
    page.reload()
    expect(page.get_by_role("button", name="Dark ignored")).to_have_attribute(
        "aria-pressed", "true"
    )


def test_images_off_and_style_blocks_stripped(page: Page, server: PreviewServer) -> None:
    open_issue(page, server)
    frame = page.frame_locator("#frame")
    images = frame.locator("img")
    assert images.first.evaluate("i => i.decode().then(() => i.naturalWidth)") > 0
    assert frame.locator("style").count() > 0
    page.get_by_label("Images off").check()
    expect(page.locator("#frame")).to_have_attribute("src", re.compile("images=off"))
    expect(frame.locator("img").first).to_be_attached()
    page.wait_for_function(
        "[...document.querySelector('#frame').contentDocument.images].every(i => i.complete && i.naturalWidth === 0)"
    )
    assert frame.locator("img").first.get_attribute("alt")  # what a reader sees instead
    page.get_by_label("Images off").uncheck()
    page.get_by_label("No <style>").check()
    expect(page.locator("#frame")).to_have_attribute("src", re.compile("styles=off"))
    page.wait_for_function(
        "document.querySelector('#frame').contentDocument.querySelectorAll('style').length === 0"
    )
    # the inlined styles are still there: the headline keeps its colour from its style attribute
    assert frame.locator("h1").first.evaluate("e => e.closest('[style]') !== null")


def test_html_source_tab_highlights_and_copies(page: Page, server: PreviewServer) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_issue(page, server)
    page.get_by_role("tab", name="HTML source").click()
    source = page.locator("#source")
    expect(source).to_be_visible()
    expect(source).to_contain_text('<html lang="en"')
    expect(source.locator(".tag").first).to_be_visible()
    assert source.locator(".attr").count() > 10 and source.locator(".val").count() > 10
    built = build_issue(server.root / "issues" / ISSUE, load_workspace(server.root)).email
    assert built is not None
    assert source.text_content() == get(server, f"/_/source/{ISSUE}")[1].decode()
    assert "%%unsubscribe_url%%" in built.html and "%%unsubscribe_url%%" in str(
        source.text_content()
    )
    page.get_by_role("button", name="Copy HTML").click()
    expect(page.locator("#copied")).to_have_text("copied")
    assert page.evaluate("navigator.clipboard.readText()") == source.text_content()
    expect(page.locator("#frame")).to_be_hidden()


def test_sample_subscriber_switch_shows_the_fallbacks(page: Page, server: PreviewServer) -> None:
    issue = server.root / "issues" / "2025-06-27-hello.yaml"
    text = (server.root / "issues" / ISSUE).read_text()
    issue.write_text(
        text.replace("  body: |\n", "  body: |\n    Hello, %%first_name|there%%!\n\n", 1)
    )
    page.goto(f"{server.url}issue/{issue.name}")
    frame = page.frame_locator("#frame")
    expect(frame.locator("body")).to_contain_text("Hello, Alex!")  # [send.sample]
    page.get_by_label("Subscriber").select_option("no-name")
    expect(frame.locator("body")).to_contain_text("Hello, there!")
    page.get_by_label("Subscriber").select_option("long-name")
    expect(frame.locator("body")).to_contain_text(
        "Hello, Maximiliana-Josephina Wolfeschlegelsteinhausen!"
    )
    page.get_by_label("Subscriber").select_option("rtl-name")
    expect(frame.locator("body")).to_contain_text("Hello, \u05e0\u05d5\u05e2\u05d4!")


def test_the_sidebar_lists_subject_date_and_status(page: Page, server: PreviewServer) -> None:
    broken = server.root / "issues" / "2025-06-25-broken.yaml"
    broken.write_text("subject: Broken\nlead: [\n")
    open_issue(page, server)
    links = page.locator("#issues a")
    expect(links).to_have_count(2)
    current = page.locator("#issues a[aria-current=page]")
    expect(current.locator(".subject")).to_have_text(HEADLINE)
    expect(current.locator(".meta")).to_have_text("2025-06-26 · draft")
    other = page.locator("#issues a[data-name='2025-06-25-broken.yaml']")
    expect(other.locator(".meta")).to_have_text("1 problem")
    expect(other.locator(".status")).to_have_css("color", "rgb(207, 34, 46)")
    other.click()
    expect(page.locator("#problems")).to_be_visible()
    expect(page.locator("#last-good")).to_be_hidden()  # never built: nothing to keep on screen


def test_links_in_the_email_open_in_a_new_tab(page: Page, server: PreviewServer) -> None:
    # Nothing leaves the machine: every request off 127.0.0.1 is answered here.
    page.context.route(
        re.compile(r"^https?://(?!127\.0\.0\.1)"),
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>outside</p>"),
    )
    open_issue(page, server)
    link = page.frame_locator("#frame").locator(".nl-headline h1 a")
    with page.context.expect_page() as opened:
        link.click()
    assert opened.value.url.startswith("https://www.gzeromedia.com/")
    assert page.url.startswith(server.url)  # the preview stayed where it was


@pytest.fixture
def smtp_ws(tmp_path: Path) -> Iterator[tuple[Path, object]]:
    from tests.delivery_support import SmtpServer, make_workspace

    with SmtpServer() as smtp:
        yield make_workspace(tmp_path / "ws", smtp.toml()), smtp


def test_send_test_from_the_page_reaches_the_smtp_server(
    page: Page, smtp_ws: tuple[Path, object]
) -> None:
    root, smtp = smtp_ws
    with PreviewServer(root, port=0) as server:
        open_issue(page, server)
        send_test_from_page(page, "editor@example.org")
        expect(page.locator("#send-result")).to_contain_text(
            re.compile(rf'^sent "\[TEST\] {HEADLINE}" to editor@example\.org via 127\.0\.0\.1:\d+$')
        )
    messages = smtp.sink.messages("editor@example.org")  # type: ignore[attr-defined]
    assert len(messages) == 1
    assert messages[0]["Subject"] == f"[TEST] {HEADLINE}"


def test_a_forged_send_request_is_refused(smtp_ws: tuple[Path, object]) -> None:
    root, smtp = smtp_ws
    with PreviewServer(root, port=0) as server:
        port = int(server.url.rsplit(":", 1)[1].strip("/"))

        def post(headers: dict[str, str]) -> tuple[int, dict[str, object]]:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            body = json.dumps({"to": "victim@example.org"})
            connection.request(
                "POST", f"/_/send/{ISSUE}", body, {"Content-Type": "application/json", **headers}
            )
            response = connection.getresponse()
            data, kind = response.read(), response.getheader("Content-Type", "")
            answer = response.status, json.loads(data) if "json" in kind else {"text": data}
            connection.close()
            return answer

        status, answer = post({})  # a form on another site cannot send the page's token
        assert (status, answer["message"]) == (403, "refused: not the preview's page")
        status, answer = post({"X-Preview-Token": "guessed"})
        assert status == 403
        status, answer = post({"X-Preview-Token": server.token, "Origin": "http://evil.example"})
        assert (status, answer["message"]) == (403, "refused: a request from http://evil.example")
        status, answer = post({"X-Preview-Token": server.token, "Host": "evil.example"})
        assert status == 403
        assert server.token not in get(server, "/issues")[1].decode()  # only issue pages hold it
    assert smtp.sink.messages("victim@example.org") == []  # type: ignore[attr-defined]


def test_a_custom_width_is_kept_across_reloads(page: Page, server: PreviewServer) -> None:
    open_issue(page, server)
    field = page.get_by_label("Custom width in pixels")
    field.fill("480")
    field.press("Enter")
    expect(page.locator("#frame")).to_have_css("width", "480px")
    expect(page.locator("[data-width][aria-pressed=true]")).to_have_count(0)
    page.reload()
    expect(page.locator("#frame")).to_have_css("width", "480px")
    expect(page.get_by_label("Custom width in pixels")).to_have_value("480")
    page.get_by_role("button", name="Phone 375").click()
    expect(page.locator("#frame")).to_have_css("width", "375px")
    expect(page.get_by_label("Custom width in pixels")).to_have_value("")


def test_the_checks_tab_is_a_client_by_feature_matrix(page: Page, server: PreviewServer) -> None:
    workspace = load_workspace(server.root)
    result = build_issue(server.root / "issues" / ISSUE, workspace)
    assert result.artifact is not None
    notes = [f for f in result.artifact.findings if f.id == "client-support"]
    open_issue(page, server)
    page.get_by_role("tab", name="Checks").click()
    headers = page.locator("#matrix thead th")
    expect(headers).to_have_count(1 + len(workspace.settings.check.clients))
    expect(headers.nth(1)).to_have_text("Gmail")
    rows = page.locator("#matrix tbody tr")
    expect(rows).to_have_count(len(notes))  # one row per client-support finding
    dark = page.locator("#matrix tr[data-feature=css-at-media-prefers-color-scheme]")
    link = dark.locator("th a")
    expect(link).to_have_attribute(
        "href", "https://www.caniemail.com/features/css-at-media-prefers-color-scheme/"
    )
    expect(link).to_have_attribute("target", "_blank")
    gmail_cell = dark.locator("td").nth(0)
    expect(gmail_cell).to_have_class("no")
    expect(gmail_cell).to_contain_text("Desktop Webmail")
    apple = workspace.settings.check.clients.index("apple-mail")
    expect(dark.locator("td").nth(apple)).to_have_text("✓")
    titles = page.locator("#matrix tbody th a").all_text_contents()
    assert all(  # the rows are the findings, in their order
        finding.message.startswith(title) for finding, title in zip(notes, titles, strict=True)
    )


def test_the_sidebar_says_how_many_an_issue_was_sent_to(
    page: Page, smtp_ws: tuple[Path, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.delivery_support import environment, send, write_list

    root, _ = smtp_ws
    addresses = ["ana@example.org,Ana", "bo@example.org,Bo", "cy@example.org,Cy"]
    code, output = send(root, "--list", str(write_list(root, addresses)))
    assert code == 0, output
    monkeypatch.setenv("NEWSLETTER_STATE_DIR", environment(root)["NEWSLETTER_STATE_DIR"])
    with PreviewServer(root, port=0) as server:
        open_issue(page, server)
        current = page.locator("#issues a[aria-current=page]")
        expect(current.locator(".meta")).to_have_text("2025-06-26 · sent to 3")
        expect(current.locator(".status")).to_have_css("color", "rgb(26, 127, 55)")
        other = page.locator("#issues a[data-name='2025-06-27-tricky.yaml'] .meta")
        expect(other).to_contain_text("draft")


def test_the_diff_tab_highlights_what_changed_since_the_test_send(
    page: Page, smtp_ws: tuple[Path, object]
) -> None:
    root, _ = smtp_ws
    with PreviewServer(root, port=0) as server:
        open_issue(page, server)
        page.get_by_role("tab", name="Diff").click()
        expect(page.locator("#diff-summary")).to_contain_text("no test send of this issue")
        send_test_from_page(page, "editor@example.org")
        expect(page.locator("#send-result")).to_contain_text("sent ")
        edit(
            root / "issues" / ISSUE, f"headline: {HEADLINE}", "headline: Putin raids the neighbors"
        )
        expect(page.locator("#diff-summary")).to_contain_text("1 region of the email changed")
        expect(page.locator("#diff-summary pre .add")).to_contain_text(
            ["Putin raids the neighbors"]
        )
        now = page.frame_locator("#diff-now").locator("[data-diff]")
        expect(now).to_have_count(1)
        expect(now).to_have_text("Putin raids the neighbors")
        expect(now).to_have_css("outline-color", "rgb(207, 34, 46)")
        before = page.frame_locator("#diff-before").locator("[data-diff]")
        expect(before).to_have_text(HEADLINE)
        # the rest of the email is there, unmarked, with its images served by the preview
        teaser = page.frame_locator("#diff-now").get_by_text(
            "Budapest Pride goes ahead despite ban"
        )
        expect(teaser).to_have_css("outline-style", "none")
        image = page.frame_locator("#diff-now").locator("img[src^='/assets/']").first
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") > 0
