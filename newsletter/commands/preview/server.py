"""The preview's HTTP server: stdlib ``ThreadingHTTPServer``, loopback by default.

Routes:

| path                       | what                                                        |
|----------------------------|-------------------------------------------------------------|
| ``/``                      | the issue given on the command line, else the index         |
| ``/issues``                | the index: every issue, each linking to its preview         |
| ``/issue/<file>``          | the preview page of ``issues/<file>``                       |
| ``/_/state/<file>``        | that issue's build as JSON (subject, sizes, problems ...)   |
| ``/_/email/<file>``        | the built HTML, ``?scheme=light|dark`` (see :mod:`.scheme`) |
| ``/_/events``              | server-sent events: ``build`` with each new generation      |
| ``/<path>``                | an image file of the workspace (``/assets/photo.jpg``)      |
| ``POST /_/teasers/<file>`` | the paste field: teasers from URLs (see :mod:`.teasers`)    |

Nothing else is served: a path is decoded once, and one with ``.``/``..`` segments, hidden
names, backslashes or NUL is refused before it is looked up; a file must resolve (symlinks
followed) inside the workspace and be an image. On a loopback address, requests whose ``Host``
is not a loopback name are refused too, so a web page cannot reach the server by DNS rebinding.
"""

from __future__ import annotations

import ipaddress
import json
import mimetypes
import socket
import threading
from collections.abc import Callable
from contextlib import ExitStack
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from newsletter.commands.preview.builds import Build, Builds
from newsletter.commands.preview.page import index_page, issue_page
from newsletter.commands.preview.scheme import Scheme, force_scheme
from newsletter.commands.preview.teasers import MAX_BODY, add_from_page
from newsletter.commands.preview.watcher import Watcher
from newsletter.errors import NewsletterError
from newsletter.mail.values import sample_values
from newsletter.model.issue import local_image
from newsletter.model.mergefields import fill
from newsletter.pipeline.compile import isolated

__all__ = ["PreviewServer", "state_of"]

#: Where the preview links local images: its own root, so ``assets/a.jpg`` is ``/assets/a.jpg``.
#: Root-relative, it works under whatever name the browser used (``--host``), and it is no
#: ``http://`` URL that a check on insecure images would report although ``build`` does not.
ASSET_BASE = "/"
#: seconds between keep-alive comments on an idle event stream
KEEPALIVE = 15.0


def state_of(build: Build, name: str) -> dict[str, Any]:
    """What the page shows of one build: the inbox line, size, findings, text, or problems.

    The email is shown as the sample subscriber (``[send.sample]``) receives it: merge fields
    filled with the values ``message.eml`` gets.
    """
    result, workspace = build.result, build.workspace
    state: dict[str, Any] = {
        "name": name,
        "generation": build.generation,
        "built_ms": round(build.milliseconds),
        "ok": result.ok and workspace is not None,
        "problems": [str(problem) for problem in result.problems],
        "findings": [],
    }
    count = len(result.problems)
    if count:
        state["problems"].append(f"{count} problem{'s' if count != 1 else ''} found")
    artifact = result.artifact
    if artifact is None or workspace is None:
        return state
    email = artifact.email
    values = sample_values(workspace.settings, email.slug)
    state.update(
        subject=fill(email.subject, values, html_escape=False),
        preheader=fill(email.preheader, values, html_escape=False),
        from_name=workspace.settings.newsletter.from_name,
        text=fill(email.text, values, html_escape=False),
        html_bytes=len(email.html.encode()),
        clip_bytes=round(workspace.settings.check.clip_kb * 1024),
        findings=[finding.to_dict() for finding in artifact.findings],
    )
    return state


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
                self._html(issue_page(preview.issue.name), head)
            case [] | ["issues"]:
                self._html(index_page(issues, str(preview.root)), head)
            case ["issue", name] if name in issues:
                self._html(issue_page(name), head)
            case ["_", "state", name] if name in issues:
                state = state_of(builds.get(issues[name]), name)
                body = json.dumps(state, ensure_ascii=False).encode()
                self._send(HTTPStatus.OK, "application/json", body, head)
            case ["_", "email", name] if name in issues:
                scheme: Scheme = "dark" if query.get("scheme") == ["dark"] else "light"
                self._email(builds.get(issues[name]), scheme, head)
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

    def _email(self, build: Build, scheme: Scheme, head: bool) -> None:
        email = build.result.email
        if email is None or build.workspace is None:
            self._html(
                "<p>The email cannot be built; the preview page lists the problems.</p>", head
            )
            return
        values = sample_values(build.workspace.settings, email.slug)
        html = fill(email.html, values, html_escape=True)
        body = force_scheme(html, scheme).encode()
        # No mail client runs an email's scripts; neither does the preview.
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
