"""Workspaces and an SMTP server for the export and delivery tests (imported by them).

The workspace is a copy of the repository's own (newsletter.toml, issues/, assets/) with
settings appended; the SMTP server is a real aiosmtpd on 127.0.0.1 whose handler can answer
chosen recipients with 451 or 550, or drop the connection, and records what it accepted; and
:class:`RawSmtp`, a server on raw sockets for the faults aiosmtpd will not commit.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.delivery.plan import journal_path
from newsletter.workspace import load_workspace

REPO = Path(__file__).resolve().parent.parent
SLUG = "2025-06-26-putin-poaches-the-neighbors"
ISSUE = f"issues/{SLUG}.yaml"

TRICKY_ISSUE = """\
subject: "Hi %%first_name|there%%: *|FNAME|* and {{ 7*7 }}"
preheader: "Typed {{ 7*7 }} and *|EMAIL|* stay as written"
date: 2025-06-27
lead:
  headline: "Typed tags *|FNAME|* and {{ 7*7 }} and {{{ raw }}}"
  url: https://www.gzeromedia.com/news/tricky
  image:
    src: assets/budapest-pride.jpg
    alt: A parade.
  body: |
    Hello %%first_name|there%%, this goes to %%email%%.
teasers: []
"""


def make_workspace(root: Path, toml: str = "", *, send: str = "", export_urls: bool = True) -> Path:
    """A copy of the example workspace under ``root`` with ``toml`` appended to its settings,
    ``send`` added to its ``[send]`` table, and without its ``[export]`` table when
    ``export_urls`` is false."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "issues", root / "issues")
    shutil.copytree(REPO / "assets", root / "assets")
    settings = (REPO / "newsletter.toml").read_text()
    if not export_urls:
        settings = settings.split("\n[export]")[0] + "\n"
    settings = settings.replace("\n[send]\n", f"\n[send]\n{send}\n", 1)
    (root / "newsletter.toml").write_text(settings + "\n" + toml)
    (root / "issues" / "2025-06-27-tricky.yaml").write_text(TRICKY_ISSUE)
    return root


SECRET = "test-unsubscribe-secret"


def environment(ws: Path, **extra: str) -> dict[str, str]:
    """The environment a send runs in: the unsubscribe secret, and a state folder (where the
    journal lives) of the test's own."""
    return {
        "NEWSLETTER_UNSUBSCRIBE_SECRET": SECRET,
        "NEWSLETTER_STATE_DIR": str(ws.parent / "state"),
        **extra,
    }


def send(
    ws: Path, *args: str, env: dict[str, str] | None = None, issue: str = ISSUE, yes: bool = True
) -> tuple[int, str]:
    """``newsletter send`` on ``issue`` of ``ws``; a list send with ``--yes`` unless not ``yes``."""
    extra = ["--yes"] if yes and "--list" in args else []
    result = CliRunner().invoke(
        cli,
        ["send", "-w", str(ws), str(ws / issue), *args, *extra],
        env=environment(ws, **(env or {})),
    )
    return result.exit_code, result.output


def write_list(ws: Path, rows: list[str], name: str = "subscribers.csv") -> Path:
    path = ws / name
    path.write_text("email,first_name\n" + "".join(row + "\n" for row in rows))
    return path


def journal_file(ws: Path) -> Path:
    return journal_path(load_workspace(ws), environment(ws))


def journal_states(ws: Path, slug: str = SLUG) -> dict[str, str]:
    with sqlite3.connect(journal_file(ws)) as db:
        return dict(db.execute("SELECT recipient, state FROM sends WHERE issue = ?", (slug,)))


def parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    """The decoded text and HTML parts."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


@dataclass
class Sink:
    """What the handler does: answers per recipient, and what it received."""

    rcpt_codes: dict[str, str] = field(default_factory=dict)  # address -> reply to RCPT
    data_codes: dict[str, list[str]] = field(default_factory=dict)  # address -> replies to DATA
    drop_at_rcpt: set[str] = field(default_factory=set)  # drop once, at RCPT
    drop_at_data: set[str] = field(default_factory=set)  # drop once, after receiving the data
    delay: float = 0.0  # seconds to wait before answering DATA (after recording the message)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(rcpt for rcpt, _ in self.received)

    def messages(self, rcpt: str) -> list[EmailMessage]:
        with self.lock:
            return [parse(data) for to, data in self.received if to == rcpt]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.drop_at_rcpt:
            self.drop_at_rcpt.discard(address)
            server.transport.close()
            return "421 closing"
        if address in self.rcpt_codes:
            return self.rcpt_codes[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        (rcpt,) = envelope.rcpt_tos
        answers = self.data_codes.get(rcpt)
        if answers:
            answer = answers.pop(0)
            if not answer.startswith("2"):
                return answer
        with self.lock:
            self.received.append((rcpt, bytes(envelope.content)))
        if rcpt in self.drop_at_data:
            self.drop_at_data.discard(rcpt)
            server.transport.close()
            return "421 closing"
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK queued"


class SmtpServer:
    """A real aiosmtpd server on 127.0.0.1 with a :class:`Sink` handler."""

    def __init__(self, sink: Sink | None = None, *, port: int = 0, **options: Any) -> None:
        self.sink = sink or Sink()
        if not port:
            with socket.socket() as probe:  # a free port (the controller cannot take port 0)
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        self.port = port
        if "authenticator" in options:  # login over plain text, which loopback tests allow
            options.update(auth_require_tls=False, auth_exclude_mechanism=["CRAM-MD5"])
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=port, **options)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()

    def toml(self) -> str:
        """``[smtp]`` for this server."""
        lines = ["[smtp]", 'host = "127.0.0.1"', f"port = {self.port}", 'security = "none"']
        return "\n".join(lines) + "\n"


@dataclass
class Script:
    """What a :class:`RawSmtp` server does, where aiosmtpd cannot misbehave as needed.

    ``data_reply`` answers the DATA command, ``dot_reply`` the final dot (each a function of
    the recipient that returns a reply line, or None to hang up without a word); ``trickle``
    sends every reply (greeting included) a byte at a time, that many seconds apart, and
    ``trickle_dot`` only the answer to the final dot; ``hang`` waits that long before
    answering the final dot. ``pipelining`` offers PIPELINING (RFC 2920) and holds the answers
    to MAIL and RCPT until DATA has come too, as a server may: a client that waits for them
    before sending DATA waits for ever. ``rcpt_reply`` answers RCPT.
    """

    rcpt_reply: Callable[[str], str] = lambda rcpt: "250 OK"
    data_reply: Callable[[str], str | None] = lambda rcpt: "354 go ahead"
    dot_reply: Callable[[str], str | None] = lambda rcpt: "250 OK queued"
    trickle: float = 0.0
    trickle_dot: float = 0.0
    hang: float = 0.0
    pipelining: bool = False


class RawSmtp:
    """A minimal SMTP server on 127.0.0.1, written on raw sockets so that it can do what a
    real server should not: answer DATA with 421 and hang up, trickle a byte a second, hang
    after the final dot. ``received`` is every message it answered 250 after the final dot,
    recorded before the answer is written (so a client killed before reading it has had its
    message delivered, as with a real server)."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.received: list[tuple[str, bytes]] = []
        self.dots = 0  # final dots read, answered or not
        #: answer DATA with the script's reply even when no recipient was accepted
        self.accept_data_without_recipients = False
        self.lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawSmtp:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def toml(self, timeout: float = 60.0) -> str:
        return (
            f'[smtp]\nhost = "127.0.0.1"\nport = {self.port}\nsecurity = "none"\n'
            f"timeout = {timeout}\n"
        )

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(rcpt for rcpt, _ in self.received)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _say(self, conn: socket.socket, line: str, trickle: float | None = None) -> None:
        data = line.encode() + b"\r\n"
        delay = self.script.trickle if trickle is None else trickle
        if not delay:
            conn.sendall(data)
            return
        for i in range(len(data)):
            if self._stop.wait(delay):
                return
            conn.sendall(data[i : i + 1])

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        reader = conn.makefile("rb")
        rcpt = ""
        held: list[str] = []  # answers to MAIL and RCPT, with pipelining, until DATA
        try:
            self._say(conn, "220 raw test server")
            while not self._stop.is_set():
                line = reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    self._say(
                        conn, "250-raw\r\n250 PIPELINING" if self.script.pipelining else "250 raw"
                    )
                elif verb in (b"MAIL", b"RCPT"):
                    rcpt = ""
                    if verb == b"RCPT":
                        address = line.decode().split("<", 1)[1].split(">", 1)[0]
                        held.append(self.script.rcpt_reply(address))
                        rcpt = address if held[-1].startswith("25") else ""
                    else:
                        held.append("250 OK")
                    if not self.script.pipelining:
                        self._say(conn, held.pop())
                elif verb == b"DATA":
                    answer = (
                        self.script.data_reply(rcpt)
                        if rcpt or self.accept_data_without_recipients
                        else "554 no valid recipients"
                    )
                    if answer is None:
                        return
                    self._say(conn, "\r\n".join([*held, answer]))
                    held.clear()
                    if not answer.startswith("354"):
                        if answer.startswith("421"):
                            return  # 421: the server closes the connection
                        continue
                    body = bytearray()
                    while True:
                        chunk = reader.readline()
                        if not chunk:
                            return  # the client went away before the end: nothing taken
                        if chunk == b".\r\n":
                            break
                        body += chunk
                    with self.lock:
                        self.dots += 1
                    if self.script.hang and self._stop.wait(self.script.hang):
                        return
                    answer = self.script.dot_reply(rcpt)
                    if answer is None:
                        return
                    if answer.startswith("2"):
                        with self.lock:
                            self.received.append((rcpt, bytes(body)))
                    self._say(conn, answer, self.script.trickle_dot or None)
                elif verb == b"RSET":
                    self._say(conn, "250 OK")
                elif verb == b"QUIT":
                    self._say(conn, "221 bye")
                    return
                else:
                    self._say(conn, "502 unknown command")
        except OSError:
            return
        finally:
            reader.close()
            conn.close()


def send_command(ws: Path, *args: str, issue: str = ISSUE) -> list[str]:
    """``newsletter send`` as a process of its own (to be killed, or interrupted)."""
    tool = Path(sys.executable).parent / "newsletter"
    return [str(tool), "send", "-w", str(ws), str(ws / issue), *args]


def process_env(ws: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, **environment(ws, **extra)}


def send_process(
    ws: Path, *args: str, timeout: float, **run: Any
) -> subprocess.CompletedProcess[str]:
    """``newsletter send`` run to its end as a process of its own, its output captured;
    ``run`` goes to :func:`subprocess.run` (a ``preexec_fn``, say)."""
    return subprocess.run(
        send_command(ws, *args),
        capture_output=True,
        text=True,
        env=process_env(ws),
        timeout=timeout,
        **run,
    )
