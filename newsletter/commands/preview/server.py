"""The preview's HTTP server: stdlib ``ThreadingHTTPServer``, loopback by default.

Routes:

| path                       | what                                                        |
|----------------------------|-------------------------------------------------------------|
| ``/``                      | the issue given on the command line, else the index         |
| ``/issues``                | the index: every issue, each linking to its preview         |
| ``/issue/<file>``          | the preview page of ``issues/<file>``                       |
| ``/_/state/<file>``        | that issue's build as JSON (subject, sizes, problems ...)   |
| ``/_/web/<file>``          | the issue's web page, as ``newsletter site`` makes it       |
| ``/_/email/<file>``        | the built HTML as the sample subscriber gets it; options    |
|                            | ``scheme=light|dark|invert|none``, ``images=off``,          |
|                            | ``styles=off``, ``subscriber=`` (see :data:`SUBSCRIBERS`)   |
| ``/_/source/<file>``       | the built HTML as ``build`` writes it, as text              |
| ``/_/checks/<file>``       | the client x feature matrix of the build, as JSON           |
| ``/_/diff/<file>``         | what changed since the last test send, as JSON              |
| ``/_/diff-email/<file>``   | the email as last sent (``side=before``) or now, with its   |
|                            | changed regions highlighted                                 |
| ``/_/issues``              | every issue's subject, date and status (draft, problems,    |
|                            | sent to N), as JSON                                         |
| ``POST /_/send/<file>``    | a test send (``{"to": ADDRESS}``), with the page's token    |
| ``/_/events``              | server-sent events: ``build`` with each new generation      |
| ``/<path>``                | an image file of the workspace (``/assets/photo.jpg``)      |
| ``POST /_/teasers/<file>`` | the paste field: teasers from URLs (see :mod:`.teasers`)    |

Nothing else is served: a path is decoded once, and one with ``.``/``..`` segments, hidden
names, backslashes or NUL is refused before it is looked up; a file must resolve (symlinks
followed) inside the workspace and be an image. On a loopback address, requests whose ``Host``
is not a loopback name are refused too, so a web page cannot reach the server by DNS rebinding.

A broken file keeps its last good email on screen (``/_/email`` serves it under the page's
problems). The test send is the one request that acts: it must come from the preview's own
page (an ``X-Preview-Token`` header with the random token of this server's run, which only a
page of this origin can read, and no foreign ``Origin``), and only on a loopback address.
"""

from __future__ import annotations

import ipaddress
import json
import mimetypes
import secrets
import socket
import threading
from collections.abc import Callable
from contextlib import ExitStack
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import click

from newsletter.commands.preview.builds import Build, Builds
from newsletter.commands.preview.page import index_page, issue_page
from newsletter.commands.preview.scheme import (
    SCHEMES,
    Scheme,
    force_scheme,
    links_in_new_tab,
    strip_styles,
)
from newsletter.commands.preview.teasers import MAX_BODY, add_from_page
from newsletter.commands.preview.watcher import Watcher
from newsletter.errors import NewsletterError
from newsletter.mail.values import sample_values
from newsletter.model.issue import local_image
from newsletter.model.mergefields import fill
from newsletter.pipeline.compile import isolated
from newsletter.workspace import load_workspace

if TYPE_CHECKING:
    from newsletter.commands.diff import DiffReport

__all__ = ["PreviewServer", "matrix_of", "state_of"]

#: Where the preview links local images: its own root, so ``assets/a.jpg`` is ``/assets/a.jpg``.
#: Root-relative, it works under whatever name the browser used (``--host``), and it is no
#: ``http://`` URL that a check on insecure images would report although ``build`` does not.
ASSET_BASE = "/"
#: seconds between keep-alive comments on an idle event stream
KEEPALIVE = 15.0
#: The sample subscribers of the page's switch: first-name values that show the fallbacks.
SUBSCRIBERS: dict[str, dict[str, str]] = {
    "sample": {},  # [send.sample] as it is
    "no-name": {"first_name": ""},
    "long-name": {"first_name": "Maximiliana-Josephina Wolfeschlegelsteinhausen"},
    "rtl-name": {"first_name": "נועה"},  # Noa, in Hebrew
}
#: The most issues the sidebar lists (each is loaded, not built, to show its subject).
SIDEBAR_LIMIT = 200
#: The largest test-send request the server reads (``{"to": ADDRESS}``).
SEND_MAX_BODY = 4096


def state_of(
    build: Build, name: str, *, last_good: Build | None = None, subscriber: str = "sample"
) -> dict[str, Any]:
    """What the page shows of one build: the inbox line, size, findings, text, or problems.

    The email is shown as the sample subscriber (``[send.sample]``) receives it: merge fields
    filled with the values ``message.eml`` gets (``subscriber`` swaps in one of
    :data:`SUBSCRIBERS`). ``last_good`` says whether an older email can stay on screen.
    """
    result, workspace = build.result, build.workspace
    state: dict[str, Any] = {
        "name": name,
        "generation": build.generation,
        "built_ms": round(build.milliseconds),
        "ok": result.ok and workspace is not None,
        "problems": [str(problem) for problem in result.problems],
        "findings": [],
        "last_good": last_good is not None and last_good.result.ok,
    }
    artifact = result.artifact
    if artifact is None or workspace is None:
        return state
    email = artifact.email
    values = sample_values(workspace.settings, email.slug, SUBSCRIBERS.get(subscriber))
    state.update(
        date=artifact.issue.date.isoformat(),
        subject=fill(email.subject, values, html_escape=False),
        preheader=fill(email.preheader, values, html_escape=False),
        from_name=workspace.settings.newsletter.from_name,
        text=fill(email.text, values, html_escape=False),
        html_bytes=len(email.html.encode()),
        clip_bytes=round(workspace.settings.check.clip_kb * 1024),
        findings=[finding.to_dict() for finding in artifact.findings],
    )
    return state


def matrix_of(build: Build) -> dict[str, Any]:
    """The Checks tab: each feature of the email that a target client lacks, by client, with
    caniemail's page for it (the ``client-support`` findings, as a table)."""
    from newsletter.model.clients import CLIENTS
    from newsletter.pipeline.checks.clients import gaps

    email, workspace = build.result.email, build.workspace
    if email is None or workspace is None:
        return {"clients": [], "rows": []}
    clients = tuple(workspace.settings.check.clients)
    rows = [
        {
            "slug": gap.support.slug,
            "title": gap.support.title,
            "url": gap.support.url,
            "example": gap.example,
            "lacking": {client: ", ".join(platforms) for client, platforms in gap.clients.items()},
        }
        for gap in gaps(email.html, clients)
    ]
    return {"clients": [[client, CLIENTS[client][2]] for client in clients], "rows": rows}


class PreviewServer:
    """A preview of one workspace: the HTTP server, the rebuild loop and the file watcher.

    ``port=0`` picks a free port; :attr:`url` says which. The server is bound when made, so a
    port in use is a :class:`NewsletterError` before anything starts.
    """

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        issue: Path | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root.resolve()
        self.issue = issue.resolve() if issue else None
        self.log = log or (lambda _line: None)
        self.loopback = is_loopback(host)
        self.token = secrets.token_urlsafe(24)  # the page's key to POST /_/send
        self._diffs: dict[Path, tuple[int, DiffReport | str]] = {}  # by generation
        self._diff_lock = threading.Lock()
        self.httpd = _bind(host, port)
        self.httpd.preview = self
        bound_port = self.httpd.server_address[1]
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else ("::1" if host == "::" else host)
        self.url = f"http://{f'[{shown}]' if ':' in shown else shown}:{bound_port}/"
        self.builds = Builds(
            self.root, asset_base_url=ASSET_BASE, extra_issue=self.issue, on_build=self._logged
        )
        self.watcher = Watcher(
            self.root, self.builds.mark_stale, extra_issue=self.issue, log=self.log
        )
        self._isolation = ExitStack()
        self._threads = [
            threading.Thread(target=self.httpd.serve_forever, name="preview-http", daemon=True),
            threading.Thread(target=self.builds.rebuild_loop, name="preview-build", daemon=True),
        ]

    def start(self) -> None:
        """Serve, watch and rebuild, each in a thread of its own; MJML compiles in a child
        process, so a crash of the native compiler is an error in the page, not a dead server."""
        self._isolation.enter_context(isolated())
        self.watcher.start()
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Stop everything and free the port."""
        self.builds.close()
        self.watcher.stop()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._isolation.close()

    def __enter__(self) -> PreviewServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def diff(self, path: Path) -> DiffReport | str:
        """What changed in ``path`` since its last test send (the Diff tab), or why nothing
        can be said; computed once per generation, for the summary and both frames."""
        from newsletter.commands.diff import diff_issue

        generation = self.builds.generation
        with self._diff_lock:
            kept = self._diffs.get(path)
            if kept is not None and kept[0] == generation:
                return kept[1]
            answer: DiffReport | str
            try:  # this generation's workspace; loaded again only to raise its problems
                answer = diff_issue(self.builds.workspace() or load_workspace(self.root), path)
            except click.ClickException as error:  # no test send yet, a broken file ...
                answer = error.format_message()
            self._diffs[path] = (generation, answer)
            return answer

    def _logged(self, build: Build) -> None:
        result = build.result
        name = result.source.name
        if result.ok:
            self.log(f"built {name} in {build.milliseconds:.0f} ms")
        else:
            count = len(result.problems)
            self.log(f"{name}: {count} problem{'s' if count != 1 else ''} (shown in the page)")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    preview: PreviewServer


class _Server6(_Server):
    address_family = socket.AF_INET6


def _bind(host: str, port: int) -> _Server:
    server_class = _Server6 if ":" in host else _Server
    try:
        return server_class((host, port), _Handler)
    except OSError as error:
        if error.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise NewsletterError(
                f"port {port} on {host} is already in use; "
                "stop the other server or pick another with --port"
            ) from None
        raise NewsletterError(
            f"cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "newsletter-preview"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the command logs builds, not every request of the page."""

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_POST(self) -> None:
        preview = self.server.preview
        if preview.loopback and not self._host_is_loopback():
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"unexpected Host header\n", False)
            return
        parts = _safe_parts(urlsplit(self.path).path) or []
        issues = preview.builds.issues()
        if len(parts) == 3 and parts[:2] == ["_", "send"] and parts[2] in issues:
            self._send_test_checked(parts, issues)
            return
        if len(parts) != 3 or parts[:2] != ["_", "teasers"] or parts[2] not in issues:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n", False)
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "text/plain", b"too large\n", False)
            return
        status, answer = add_from_page(
            preview.root,
            issues[parts[2]],
            body=self.rfile.read(int(length)),
            content_type=self.headers.get("Content-Type", ""),
            origin=self.headers.get("Origin"),
            host=self.headers.get("Host"),
        )
        self._send(status, "application/json", json.dumps(answer).encode(), False)

    def _send_test_checked(self, parts: list[str], issues: dict[str, Path]) -> None:
        """A test send, if the request comes from the preview's own page on loopback."""
        preview = self.server.preview
        origin = self.headers.get("Origin")
        expected = {f"http://{self.headers.get('Host', '')}"}
        if not preview.loopback or not self._host_is_loopback():
            self._json(
                HTTPStatus.FORBIDDEN, {"ok": False, "message": "test sends need a loopback address"}
            )
        elif origin is not None and origin not in expected:
            self._json(
                HTTPStatus.FORBIDDEN, {"ok": False, "message": f"refused: a request from {origin}"}
            )
        elif not secrets.compare_digest(self.headers.get("X-Preview-Token", ""), preview.token):
            self._json(
                HTTPStatus.FORBIDDEN, {"ok": False, "message": "refused: not the preview's page"}
            )
        else:
            self._send_test(issues[parts[2]])

    def _send_test(self, path: Path) -> None:
        """Send the issue to the address in the request, as ``newsletter send --to`` does."""
        from newsletter.commands.diff import save_snapshot
        from newsletter.commands.send import test_send

        given = self.headers.get("Content-Length", "")
        length = int(given) if given.isdigit() else 0
        if not 0 < length <= SEND_MAX_BODY:
            self._json(HTTPStatus.BAD_REQUEST, {"ok": False, "message": 'expected {"to": ADDRESS}'})
            return
        try:
            to = json.loads(self.rfile.read(length)).get("to")
        except (ValueError, AttributeError):
            to = None
        if not isinstance(to, str) or not to.strip():
            self._json(
                HTTPStatus.BAD_REQUEST, {"ok": False, "message": "give an address to send to"}
            )
            return
        preview = self.server.preview
        try:
            workspace = load_workspace(preview.root)
            report = test_send(workspace, path, [to.strip()])
            if report.ok:
                save_snapshot(workspace, path)  # what `newsletter diff` compares with
        except click.ClickException as error:  # NewsletterError, a bad address ...
            self._json(HTTPStatus.OK, {"ok": False, "message": error.format_message()})
            return
        settings = workspace.settings
        built = self.server.preview.builds.get(path).result.email
        subject = settings.send.test_prefix + (built.subject if built is not None else "")
        failed = [f"{o.to}: {o.state} ({o.detail})" for o in report.outcomes if o.state != "sent"]
        where = f"via {settings.smtp.host}:{settings.smtp.port}"
        if report.ok:
            sent = ", ".join(o.to for o in report.outcomes)
            message = f"sent {json.dumps(subject, ensure_ascii=False)} to {sent} {where}"
        else:
            message = f"not sent {where}: " + ("; ".join(failed) or "nothing was sent")
        preview.log(message)
        self._json(HTTPStatus.OK, {"ok": report.ok, "message": message})

    def _json(self, status: HTTPStatus, data: dict[str, Any], head: bool = False) -> None:
        body = json.dumps(data, ensure_ascii=False).encode()
        self._send(status, "application/json", body, head)

    def _dispatch(self, *, head: bool) -> None:
        preview = self.server.preview
        if preview.loopback and not self._host_is_loopback():
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"unexpected Host header\n", head)
            return
        target = urlsplit(self.path)
        parts = _safe_parts(target.path)
        if parts is None:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n", head)
            return
        query = parse_qs(target.query)
        builds = preview.builds
        issues = builds.issues()
        match parts:
            case [] if preview.issue is not None:
                self._html(issue_page(preview.issue.name, preview.token), head)
            case [] | ["issues"]:
                self._html(index_page(issues, str(preview.root)), head)
            case ["issue", name] if name in issues:
                self._html(issue_page(name, preview.token), head)
            case ["_", "state", name] if name in issues:
                subscriber = query.get("subscriber", ["sample"])[0]
                path = issues[name]
                build = builds.get(path)
                state = state_of(
                    build, name, last_good=builds.last_good(path), subscriber=subscriber
                )
                body = json.dumps(state, ensure_ascii=False).encode()
                self._send(HTTPStatus.OK, "application/json", body, head)
            case ["_", "email", name] if name in issues:
                self._email(builds.get(issues[name]), builds.last_good(issues[name]), query, head)
            case ["_", "source", name] if name in issues:
                email = builds.get(issues[name]).result.email
                text = email.html if email is not None else ""
                self._send(HTTPStatus.OK, "text/plain; charset=utf-8", text.encode(), head)
            case ["_", "checks", name] if name in issues:
                self._json(HTTPStatus.OK, matrix_of(builds.get(issues[name])), head)
            case ["_", "diff", name] if name in issues:
                report = preview.diff(issues[name])
                summary = {"error": report} if isinstance(report, str) else report.to_dict()
                self._json(HTTPStatus.OK, summary, head)
            case ["_", "diff-email", name] if name in issues:
                self._diff_email(preview.diff(issues[name]), query.get("side") == ["before"], head)
            case ["_", "issues"]:
                listing = json.dumps(_sidebar(builds, issues), ensure_ascii=False)
                self._send(HTTPStatus.OK, "application/json", listing.encode(), head)
            case ["_", "web", name] if name in issues:
                web_scheme: Scheme = "dark" if query.get("scheme") == ["dark"] else "light"
                self._web(builds.get(issues[name]), web_scheme, head)
            case ["_", "events"]:
                self._events(builds, head)
            case _:
                self._file(parts, head)

    def _host_is_loopback(self) -> bool:
        host = self.headers.get("Host")
        if host is None:  # HTTP/1.0 clients may send none
            return True
        name = host if host.endswith("]") else host.rsplit(":", 1)[0]
        return is_loopback(name.strip("[]"))

    def _html(self, page: str, head: bool) -> None:
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", page.encode(), head)

    def _email(
        self, build: Build, last_good: Build | None, query: dict[str, list[str]], head: bool
    ) -> None:
        """The email as a client shows it: the scheme, images and styles the query asks for,
        the sample subscriber's values; the last good one while the file is broken."""
        if build.result.email is None or build.workspace is None:
            build = last_good or build
        email, workspace = build.result.email, build.workspace
        if email is None or workspace is None:
            self._html(
                "<p>The email cannot be built; the preview page lists the problems.</p>", head
            )
            return
        subscriber = SUBSCRIBERS.get(query.get("subscriber", ["sample"])[0])
        values = sample_values(workspace.settings, email.slug, subscriber)
        html = fill(email.html, values, html_escape=True)
        asked = query.get("scheme", ["light"])[0]
        scheme: Scheme = next((s for s in SCHEMES if s == asked), "light")
        html = force_scheme(html, scheme)
        if query.get("styles") == ["off"]:
            html = strip_styles(html)
        # No mail client runs an email's scripts; neither does the preview. Images off is
        # the browser refusing them, as a client does, so the alt texts show.
        policy = "script-src 'none'" + (
            "; img-src 'none'" if query.get("images") == ["off"] else ""
        )
        body = links_in_new_tab(html).encode()
        self._send(
            HTTPStatus.OK,
            "text/html; charset=utf-8",
            body,
            head,
            {"Content-Security-Policy": policy},
        )

    def _diff_email(self, report: DiffReport | str, before: bool, head: bool) -> None:
        """One side of the visual diff, its images served by the preview like the email's."""
        if isinstance(report, str) or not report.visual[0]:
            self._html("<p>No test send of this issue to compare with yet.</p>", head)
            return
        html = report.visual[0 if before else 1]
        for url, original in report.image_files.items():
            html = html.replace(f'src="{escape(url)}"', f'src="{ASSET_BASE}{escape(original)}"')
        policy = {"Content-Security-Policy": "script-src 'none'"}
        body = links_in_new_tab(html).encode()
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", body, head, policy)

    def _web(self, build: Build, scheme: Scheme, head: bool) -> None:
        """The issue's page of the web archive, its images served by the preview itself."""
        from newsletter.targets.web import issue_page

        artifact = build.result.artifact
        if artifact is None or build.workspace is None:
            self._html(
                "<p>The issue cannot be built; the preview page lists the problems.</p>", head
            )
            return
        try:
            html = issue_page(artifact, build.workspace, image_base=ASSET_BASE)
        except NewsletterError as error:
            self._html(f"<pre>{escape(error.format_message())}</pre>", head)
            return
        body = force_scheme(html, scheme).encode()
        policy = {"Content-Security-Policy": "script-src 'none'"}
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", body, head, policy)

    def _file(self, parts: list[str], head: bool) -> None:
        root = self.server.preview.root
        try:  # the same test as an issue's images: a real image, inside, not hidden
            path = local_image(root, "/".join(parts))
        except ValueError:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n", head)
            return
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # An SVG opened on its own runs no script in the preview's origin.
        policy = {"Content-Security-Policy": "sandbox"}
        self._send(HTTPStatus.OK, kind, path.read_bytes(), head, policy)

    def _events(self, builds: Builds, head: bool) -> None:
        """A stream of ``build`` events, one per generation, until the page or server goes."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if head:
            return
        generation = builds.generation
        message = f"retry: 1000\nevent: build\ndata: {generation}\n\n"
        try:
            while not builds.closed:
                self.wfile.write(message.encode())
                self.wfile.flush()
                current = builds.wait_for_change(generation, KEEPALIVE)
                if current != generation:
                    generation = current
                    message = f"event: build\ndata: {generation}\n\n"
                else:
                    message = ": keep-alive\n\n"
        except (BrokenPipeError, ConnectionResetError):
            return  # the page was closed or reloaded

    def _send(
        self,
        status: HTTPStatus,
        kind: str,
        body: bytes,
        head: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _sidebar(builds: Builds, issues: dict[str, Path]) -> list[dict[str, Any]]:
    """Each issue's subject, date and status (``draft``, how many problems, or how many it
    was sent to, from the send journal), newest first; loaded, not built, so that listing
    many costs milliseconds."""
    from newsletter.delivery.journal import sent_counts
    from newsletter.delivery.plan import journal_to_read
    from newsletter.errors import ProblemsError
    from newsletter.pipeline.load import load_issue

    workspace = builds.workspace()
    sent = sent_counts(journal_to_read(workspace)) if workspace is not None else {}
    listing = []
    for name, path in sorted(issues.items(), reverse=True)[:SIDEBAR_LIMIT]:
        entry: dict[str, Any] = {
            "name": name,
            "subject": name,
            "date": "",
            "state": "draft",
            "status": "draft",
        }
        try:
            issue = load_issue(path, builds.root)
        except ProblemsError as error:
            count = len(error.problems)
            entry.update(state="problems", status=f"{count} problem{'s' if count != 1 else ''}")
        else:
            entry.update(subject=issue.subject, date=issue.date.isoformat())
            if sent.get(issue.slug):
                entry.update(state="sent", status=f"sent to {sent[issue.slug]:,}")
        listing.append(entry)
    return listing


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost`` or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: 127.attacker.example is not loopback
        return False


def _safe_parts(path: str) -> list[str] | None:
    """The segments of a request path, decoded once, or ``None`` for anything suspicious."""
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\x00" in decoded or "\\" in decoded or not decoded.startswith("/"):
        return None
    parts = [part for part in decoded.split("/") if part]
    if any(part.startswith(".") for part in parts):  # ".", "..", and hidden files alike
        return None
    return parts
