"""Workspaces and an SMTP server for the export and delivery tests (imported by them).

The workspace is a copy of the repository's own (newsletter.toml, issues/, assets/) with
settings appended; the SMTP server is a real aiosmtpd on 127.0.0.1 whose handler can answer
chosen recipients with 451 or 550, or drop the connection, and records what it accepted.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parent.parent
ISSUE = "issues/2025-06-26-putin-poaches-the-neighbors.yaml"

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
