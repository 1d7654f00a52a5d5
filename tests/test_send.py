"""``newsletter send``: test sends and list sends to a real aiosmtpd server on loopback."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest

from newsletter import Workspace, build_issue
from newsletter.delivery import send as send_module
from newsletter.delivery.send import Delivery, Report, deliver
from newsletter.delivery.smtp import SmtpSender
from newsletter.mail.message import MessageTemplate, data
from newsletter.mail.values import merge_values
from newsletter.model import mergefields
from newsletter.model.settings import SmtpSettings
from newsletter.workspace import load_workspace

from .delivery_support import (
    ISSUE,
    SLUG,
    RawSmtp,
    Script,
    Sink,
    SmtpServer,
    environment,
    journal_file,
    journal_states,
    make_workspace,
    parse,
    parts,
    send,
    write_list,
)

TRICKY_SLUG = "2025-06-27-tricky"
TRICKY = f"issues/{TRICKY_SLUG}.yaml"
FAST = "retries = 2\nretry_delay = 0.01\nrate = 1000\nconnections = 2"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


# -- the message ---------------------------------------------------------------------------


def test_a_personalised_message_reads_as_the_filled_email(tmp_path: Path) -> None:
    """The email package, parsing each message, finds exactly the filled-in email."""
    ws = load_workspace(make_workspace(tmp_path / "ws"))
    for issue in (ISSUE, "issues/2025-06-27-tricky.yaml"):
        email = build_issue(ws.root / issue, ws).email
        assert email is not None
        values = merge_values(ws.settings, email.slug, {"email": "b@x.org", "first_name": "Bö <&>"})
        now = dt.datetime(2025, 6, 26, 6, 0, tzinfo=dt.UTC)
        message = parse(MessageTemplate(email, ws.settings).message("b@x.org", values, date=now))
        assert message.get_content_type() == "multipart/alternative"
        assert message["From"] == "GZERO Media <newsletter@gzeromedia.com>"
        assert message["To"] == "b@x.org"
        assert message["Subject"] == mergefields.fill(email.subject, values, html_escape=False)
        assert message["Date"] == "Thu, 26 Jun 2025 06:00:00 +0000"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].startswith(f"<{values['unsubscribe_url']}>")
        # MIME text is CRLF-separated on the wire; the decoded lines are the email's own
        text, html = (part.replace("\r\n", "\n") for part in parts(message))
        assert text == mergefields.fill(email.text, values, html_escape=False).rstrip("\n") + "\n"
        assert html == mergefields.fill(email.html, values, html_escape=True).rstrip("\n") + "\n"


# -- the wire ------------------------------------------------------------------------------

#: The lines of a message that differ between two makings of it.
_FRESH = re.compile(rb"^(Date|Message-ID): [^\r\n]*\r\n", re.MULTILINE)


def _deliveries(ws: Workspace, names: list[str]) -> list[Delivery]:
    found = []
    for number, name in enumerate(names):
        address = f"r{number:02}@example.com"
        row = {"email": address, "first_name": name}
        values = merge_values(ws.settings, TRICKY_SLUG, row, secret="wire-secret")
        found.append(Delivery(address, values, address))
    return found


def _tricky(tmp_path: Path) -> tuple[Workspace, MessageTemplate]:
    """A workspace with the tricky issue, and the message template of its email."""
    ws = load_workspace(make_workspace(tmp_path / "ws"))
    email = build_issue(ws.root / TRICKY, ws).email
    assert email is not None
    return ws, MessageTemplate(email, ws.settings)


def _deliver_to(
    server: RawSmtp, deliveries: list[Delivery], template: MessageTemplate, **options: Any
) -> Report:
    """:func:`deliver` to ``server`` through the real SMTP sender, with no retries."""
    settings = SmtpSettings(host="127.0.0.1", port=server.port, security="none")
    return deliver(
        deliveries,
        template,
        connect=lambda: SmtpSender(settings, None),
        retries=0,
        retry_delay=0,
        **options,
    )


@pytest.mark.parametrize(("pipelining", "processes"), [(False, True), (True, True), (True, False)])
def test_each_message_on_the_wire_is_its_recipients_message_stuffed(
    tmp_path: Path, pipelining: bool, processes: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what the server reads up to the final dot is the message made for that recipient, as
    # DATA must carry it: the bytes a whole-message stuffing gives, values that start a line
    # with a dot and long quoted-printable ones included; from worker processes, and from the
    # threads that send where processes cannot (macOS)
    monkeypatch.setattr(send_module, "_PROCESSES", processes and send_module._PROCESSES)
    ws, template = _tricky(tmp_path)
    names = [".Dot", "..two", "Bö <&> = x", "=3D.", " a space", "." + "x" * 300, "", "Ann"]
    deliveries = _deliveries(ws, names)
    with RawSmtp(Script(pipelining=pipelining)) as server:
        report = _deliver_to(server, deliveries, template, connections=2, rate=1000)
        assert report.error is None and report.count("sent") == len(deliveries)
        received = dict(server.received)  # the DATA lines as sent, dot-stuffed
    now = dt.datetime.now(dt.UTC)
    for item in deliveries:
        expected = data(template.message(item.to, item.values, date=now)).wire
        assert _FRESH.sub(b"", received[item.to] + b".\r\n") == _FRESH.sub(b"", expected)
    assert any(line.startswith(b"..") for line in received["r00@example.com"].split(b"\r\n"))


@pytest.mark.skipif(not send_module._PROCESSES, reason="worker processes are Linux's")
def test_the_heap_is_out_of_collection_while_workers_send_and_thawed_after(tmp_path: Path) -> None:
    # what exists when the workers are forked is never traversed by their collections (nor
    # copied page by page from the parent for it); the parent gets it back when the send ends
    import gc

    ws, template = _tricky(tmp_path)
    frozen: list[int] = []
    with RawSmtp(Script(pipelining=True)) as server:
        report = _deliver_to(
            server,
            _deliveries(ws, ["Ann", "Bob", "Cy"]),
            template,
            connections=2,
            rate=1000,
            on_outcome=lambda outcome: frozen.append(gc.get_freeze_count()),
        )
    assert report.count("sent") == 3
    assert len(frozen) == 3 and min(frozen) > 10_000  # the modules, the template, the list
    assert gc.get_freeze_count() == 0


def test_the_rate_holds_over_every_connection_together(tmp_path: Path) -> None:
    # 24 messages at 20 a second take 23 intervals whatever the number of connections (or of
    # worker processes): a limit of each connection's own would end four times as soon
    ws, template = _tricky(tmp_path)
    deliveries = _deliveries(ws, [f"R{i}" for i in range(24)])
    with RawSmtp(Script(pipelining=True)) as server:
        report = _deliver_to(server, deliveries, template, connections=4, rate=20)
        assert report.count("sent") == 24 and len(server.counts()) == 24
    assert report.seconds >= 23 / 20


# -- test sends ----------------------------------------------------------------------------


def test_test_send(tmp_path: Path, server: SmtpServer) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    code, output = send(ws, "--to", "ed@example.com,chief@example.com", "--data", "first_name=Sam")
    assert code == 0, output
    subject = "[TEST] Putin poaches the neighbors for his Ukraine invasion"
    assert output.splitlines() == [
        f"test send of {subject!r} through 127.0.0.1:{server.port} (none):",
        "sent ed@example.com",
        "sent chief@example.com",
    ]
    ed, chief = server.sink.messages("ed@example.com"), server.sink.messages("chief@example.com")
    assert len(ed) == len(chief) == 1
    message = ed[0]
    assert message["Subject"] == "[TEST] Putin poaches the neighbors for his Ukraine invasion"
    assert message["To"] == "ed@example.com"
    assert message["Message-ID"] != chief[0]["Message-ID"]
    text, html = parts(message)
    assert "GZERO DAILY" in text and "Putin poaches the neighbors" in html
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    code, output = send(ws, "--to", "ed@example.com")
    assert code == 0
    again = server.sink.messages("ed@example.com")
    assert len(again) == 2 and again[1]["Message-ID"] != message["Message-ID"]


def test_test_send_fills_merge_fields_from_data(tmp_path: Path, server: SmtpServer) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST + '\ntest_prefix = "[PROOF] "')
    # the issue's typed tags are on purpose here: --force past the check that flags them
    code, output = send(
        ws, "--to", "ed@example.com", "--data", "first_name=Sam", "--force", issue=TRICKY
    )
    assert code == 0, output
    (message,) = server.sink.messages("ed@example.com")
    assert message["Subject"] == "[PROOF] Hi Sam: *|FNAME|* and {{ 7*7 }}"
    text, html = parts(message)
    assert "Hello Sam, this goes to alex@example.com." in text
    assert "Hello Sam, this goes to alex@example.com." in html


def test_test_send_with_the_password_from_the_environment(tmp_path: Path) -> None:
    from aiosmtpd.smtp import AuthResult

    seen: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"pw-from-env", handled=False)

    sink = Sink()
    with SmtpServer(sink, authenticator=authenticator) as server:
        smtp = server.toml() + 'username = "newsletter"\npassword_env = "NL_TEST_PW"\n'
        ws = make_workspace(tmp_path / "ws", smtp, send=FAST)
        code, output = send(ws, "--to", "ed@example.com")
        assert code == 1
        assert "NL_TEST_PW (smtp.password_env in newsletter.toml) is not set" in output
        code, output = send(ws, "--to", "ed@example.com", env={"NL_TEST_PW": "wrong-pw"})
        assert code == 1
        assert "refused the login of 'newsletter': 535" in output and "wrong-pw" not in output
        code, output = send(ws, "--to", "ed@example.com", env={"NL_TEST_PW": "pw-from-env"})
        assert code == 0, output
        path = write_list(ws, ["ann@example.com,Ann"])
        code, output = send(ws, "--list", str(path), env={"NL_TEST_PW": "pw-from-env"})
        assert code == 0 and "pw-from-env" not in output
        for file in journal_file(ws).parent.iterdir():  # the journal, its WAL and its lock
            assert b"pw-from-env" not in file.read_bytes()
        assert all(b"pw-from-env" not in data for _, data in sink.received)
    assert set(seen) == {("newsletter", "wrong-pw"), ("newsletter", "pw-from-env")}
    assert len(sink.messages("ed@example.com")) == 1
    assert len(sink.messages("ann@example.com")) == 1


def test_dkim_signature_verifies(tmp_path: Path, server: SmtpServer) -> None:
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    options = FAST + f'\ndkim_key_file = "{key}"\ndkim_selector = "news"'
    ws = make_workspace(tmp_path / "ws", server.toml(), send=options)
    code, output = send(ws, "--to", "ed@example.com")
    assert code == 0, output
    ((_, raw),) = server.sink.received

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"news._domainkey.gzeromedia.com."
        return record

    assert dkim.verify(raw, dnsfunc=dns)
    signature = parse(raw)["DKIM-Signature"]
    signed = signature.replace(" ", "").split("h=")[1].split(";")[0].lower().split(":")
    assert {"from", "subject", "list-unsubscribe", "list-unsubscribe-post"} <= set(signed)
    assert not dkim.verify(raw.replace(b"Putin poaches", b"Putin praises", 1), dnsfunc=dns)


# -- list sends ----------------------------------------------------------------------------


def test_list_send_personalises_each_message(tmp_path: Path, server: SmtpServer) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann", "bob@example.com,", "Cy@Example.com,Cy & Co"])
    # the issue's typed tags are on purpose here: --force past any check that flags them
    code, output = send(ws, "--list", str(path), "--force", issue=TRICKY)
    assert code == 0, output
    assert output.splitlines()[-1].startswith("sent 3 of 3 in ")
    assert server.sink.counts() == {"ann@example.com": 1, "bob@example.com": 1, "Cy@Example.com": 1}
    urls = set()
    for address, name, html_name in (
        ("ann@example.com", "Ann", "Ann"),
        ("bob@example.com", "there", "there"),
        ("Cy@Example.com", "Cy & Co", "Cy &amp; Co"),
    ):
        (message,) = server.sink.messages(address)
        assert message["Subject"] == f"Hi {name}: *|FNAME|* and {{{{ 7*7 }}}}"
        assert message["To"] == address
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith("<https://www.gzeromedia.com/newsletter/unsubscribe?token=")
        assert unsubscribe.endswith(">, <mailto:unsubscribe@gzeromedia.com?subject=unsubscribe>")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text, html = parts(message)
        assert f"Hello {name}, this goes to {address}." in text
        assert f"Hello {html_name}, this goes to {address}." in html
        url = unsubscribe[1 : unsubscribe.index(">")]
        urls.add(url)
        assert f"Unsubscribe: {url}" in " ".join(text.split())
        assert f'href="{url}"' in html
    assert len(urls) == 3  # a token per subscriber
    assert set(journal_states(ws, TRICKY_SLUG).values()) == {"sent"}
    code, output = send(ws, "--list", str(path), "--force", issue=TRICKY)  # nobody gets it twice
    assert code == 0
    assert "nothing to send: each of the 3 recipients was sent the issue, refused it" in output
    assert sum(server.sink.counts().values()) == 3
    code, output = send(ws, "--status", issue=TRICKY)
    assert output == f"{TRICKY_SLUG}: 3 sent\n"


def test_list_problems_stop_the_send_before_the_first_message(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann", "bob@example,Bob", "ANN@example.com,Annie", ",x"])
    code, output = send(ws, "--list", str(path))
    assert code == 1
    assert output == (
        "subscribers.csv:3: email: invalid address 'bob@example'\n"
        "subscribers.csv:4: email: ANN@example.com is also on line 2\n"
        "subscribers.csv:5: email: no address\n"
        "3 problems found\n"
        "nothing was sent: fix them, or send anyway with --force\n"
    )
    assert server.sink.received == []
    code, output = send(ws, "--list", str(path), "--force")
    assert code == 0, output
    assert server.sink.counts() == {"ann@example.com": 1}
    assert "  forced:     subscribers.csv:3: email: invalid address 'bob@example'\n" in output


def test_4xx_is_retried_5xx_is_not_and_a_drop_is_handled(tmp_path: Path) -> None:
    sink = Sink(
        rcpt_codes={"gone@example.com": "550 5.1.1 no such user"},
        data_codes={
            "busy@example.com": ["451 4.3.0 try later", "451 4.3.0 try later"],
            "full@example.com": ["452 4.2.2 mailbox full"] * 10,
        },
        drop_at_rcpt={"dropped@example.com"},
    )
    with SmtpServer(sink) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        rows = [
            f"{name}@example.com,{name}"
            for name in ("ann", "gone", "busy", "full", "dropped", "zed")
        ]
        path = write_list(ws, rows)
        code, output = send(ws, "--list", str(path))
        assert code == 1
        lines = output.splitlines()
        assert lines[-3].startswith("sent 4 of 6 in ") and lines[-3].endswith(
            ": 1 failed, 1 deferred"
        )
        assert sorted(lines[-2:]) == [
            "  deferred full@example.com  452 4.2.2 mailbox full",
            "  failed   gone@example.com  550 5.1.1 no such user",
        ]
        assert sink.counts() == {
            "ann@example.com": 1,
            "busy@example.com": 1,  # after two 451s
            "dropped@example.com": 1,  # on a new connection
            "zed@example.com": 1,
        }
        assert journal_states(ws)["full@example.com"] == "deferred"
        assert journal_states(ws)["gone@example.com"] == "failed"
        # a next run tries the deferred one again, and only that one
        sink.data_codes.clear()
        code, output = send(ws, "--list", str(path))
        assert code == 0, output
        assert "resuming: 4 already sent, 1 to send" in output
        assert sink.counts()["full@example.com"] == 1
        assert sum(sink.counts().values()) == 5
        code, output = send(ws, "--status")
        assert output.startswith(f"{SLUG}: 5 sent, 1 failed\n  failed   gone@example.com  550 ")


def test_a_drop_after_data_is_unknown_and_not_resent_unless_asked(tmp_path: Path) -> None:
    sink = Sink(drop_at_data={"maybe@example.com"})
    with SmtpServer(sink) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        path = write_list(
            ws, ["ann@example.com,Ann", "maybe@example.com,May", "zed@example.com,Zed"]
        )
        code, output = send(ws, "--list", str(path))
        assert code == 1
        assert "  unknown  maybe@example.com  connection lost after DATA" in output
        assert sink.counts() == {"ann@example.com": 1, "maybe@example.com": 1, "zed@example.com": 1}
        code, output = send(ws, "--list", str(path))
        assert code == 1
        assert "1 recipient(s) of unknown fate are not sent again" in output
        assert sink.counts()["maybe@example.com"] == 1
        code, output = send(ws, "--list", str(path), "--resend-unknown")
        assert code == 0, output
        assert sink.counts()["maybe@example.com"] == 2  # the editor asked for it


def test_dry_run_connects_to_nothing(tmp_path: Path) -> None:
    ws = make_workspace(
        tmp_path / "ws", '[smtp]\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\n'
    )
    path = write_list(ws, [f"r{i}@example.com,R{i}" for i in range(50)])
    code, output = send(ws, "--list", str(path), "--dry-run")
    assert code == 0, output
    assert output.startswith("dry run: 50 message(s) made in ")
    assert output.endswith("; nothing was sent\n")
    assert not journal_file(ws).exists()
    code, output = send(ws, "--list", str(path))  # port 9: nobody listens
    assert code == 1
    assert "cannot connect to the SMTP server 127.0.0.1:9 (none)" in output
    assert set(journal_states(ws).values()) == {"pending"}


def test_list_send_needs_an_unsubscribe_link(tmp_path: Path, server: SmtpServer) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml())
    config = ws / "newsletter.toml"
    config.write_text(config.read_text().replace("unsubscribe_url =", "# unsubscribe_url ="))
    path = write_list(ws, ["ann@example.com,Ann"])
    code, output = send(ws, "--list", str(path), "--force")
    assert code == 1
    assert "newsletter.toml: send.unsubscribe_url: a list send needs a per-subscriber" in output
    assert server.sink.received == []


def test_killed_send_resumes_and_everyone_gets_it_exactly_once(tmp_path: Path) -> None:
    sink = Sink(delay=0.03)
    with SmtpServer(sink) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send="rate = 1000\nconnections = 2")
        addresses = [f"r{i:02}@example.com" for i in range(40)]
        path = write_list(ws, [f"{a},R" for a in addresses])
        command = [
            str(Path(sys.executable).parent / "newsletter"),
            "send",
            "-w",
            str(ws),
            str(ws / ISSUE),
        ]
        process = subprocess.Popen(
            [*command, "--list", str(path), "--yes"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **environment(ws)},
        )
        deadline = time.monotonic() + 60
        while sum(sink.counts().values()) < 8:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        first = sink.counts()
        assert 8 <= sum(first.values()) < 40
        sink.delay = 0.0
        resumed = subprocess.run(
            [*command, "--list", str(path), "--yes"],
            capture_output=True,
            text=True,
            env={**os.environ, **environment(ws)},
        )
        states = journal_states(ws)
        unknown = {a for a, state in states.items() if state == "unknown"}
        assert len(unknown) <= 2  # at most one message in flight per connection
        assert resumed.returncode == (1 if unknown else 0), resumed.stdout + resumed.stderr
        counts = sink.counts()
        # nobody is sent the issue twice, and nobody is skipped but those in flight at the
        # kill, whose fate is unknown (the server has them or not) and who are not resent
        assert all(counts[a] == 1 for a in addresses if a not in unknown), (counts, states)
        assert all(counts[a] <= 1 for a in unknown), (counts, states)
        assert {a for a, s in states.items() if s == "sent"} == set(addresses) - unknown


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls(tmp_path: Path, security: str) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    options = (
        {"tls_context": context, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": context}
    )
    with SmtpServer(Sink(), **options) as server:
        smtp = server.toml().replace('security = "none"', f'security = "{security}"')
        ws = make_workspace(tmp_path / "ws", smtp, send=FAST)
        code, output = send(ws, "--to", "ed@example.com")  # the self-signed cert is not trusted
        assert code == 1
        assert f"cannot connect to the SMTP server 127.0.0.1:{server.port} ({security}):" in output
        assert "CERTIFICATE_VERIFY_FAILED" in output
        code, output = send(ws, "--to", "ed@example.com", env={"SSL_CERT_FILE": str(cert)})
        assert code == 0, output
        assert server.sink.counts() == {"ed@example.com": 1}


def test_only_a_connection_that_starts_tls_loads_the_certificate_authorities(
    tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # loading them takes some 20 ms, which each connection of a list send spent: a plain one
    # has no use for them, and the connections of a send that starts TLS share one set
    import ssl

    from newsletter.delivery.plan import smtp_connector

    made: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    ws = make_workspace(tmp_path / "ws", server.toml())
    for _ in range(2):
        sender = smtp_connector(load_workspace(ws).settings)()
        assert sender.send("a@example.com", "b@example.com", MESSAGE, _no_op).code == 250
        sender.close()
    assert made == []
    cert, key = _self_signed(tmp_path)
    context = real(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with SmtpServer(Sink(), tls_context=context, require_starttls=True) as tls:
        toml = tls.toml().replace('security = "none"', 'security = "starttls"')
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        connect = smtp_connector(load_workspace(make_workspace(tmp_path / "ws2", toml)).settings)
        for sender in (connect(), connect()):
            assert sender.send("a@example.com", "b@example.com", MESSAGE, _no_op).code == 250
            sender.close()
        assert tls.sink.counts() == {"b@example.com": 2}
    assert len(made) == 1


MESSAGE = b"Subject: x\r\n\r\nhi"


def _no_op() -> None:
    pass


def test_dot_stuffing_keeps_lines_that_start_with_a_dot(server: SmtpServer) -> None:
    from newsletter.delivery.smtp import SmtpSender
    from newsletter.model.settings import SmtpSettings

    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, security="none"), None)
    message = b".first\r\nSubject: x\r\n\r\n.\r\n..two\r\nlast line without an end"
    marks: list[str] = []
    reply = sender.send("a@example.com", "b@example.com", message, lambda: marks.append("DATA"))
    sender.close()
    assert (reply.code, marks) == (250, ["DATA"])
    ((_, received),) = server.sink.received
    assert received == message + b"\r\n"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_after_the_messages_in_flight_and_resumes(
    tmp_path: Path, stop: signal.Signals
) -> None:
    sink = Sink(delay=0.03)
    with SmtpServer(sink) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send="rate = 1000\nconnections = 2")
        addresses = [f"r{i:02}@example.com" for i in range(30)]
        path = write_list(ws, [f"{a},R" for a in addresses])
        command = [str(Path(sys.executable).parent / "newsletter"), "send", "-w", str(ws)]
        command += [str(ws / ISSUE), "--list", str(path), "--yes"]
        env = {**os.environ, **environment(ws)}
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        deadline = time.monotonic() + 60
        while sum(sink.counts().values()) < 5:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(stop)
        output = process.communicate(timeout=30)[0]
        assert process.returncode == 1, output
        assert "interrupted: run the same command again to resume" in output
        states = journal_states(ws)
        assert "sending" not in states.values() and "unknown" not in states.values()
        assert sum(1 for s in states.values() if s == "sent") == sum(sink.counts().values()) < 30
        sink.delay = 0.0
        resumed = subprocess.run(command, capture_output=True, text=True, env=env)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert sink.counts() == dict.fromkeys(addresses, 1)


def test_unsubscribe_tokens_are_signed_with_the_secret_from_the_environment(
    tmp_path: Path, server: SmtpServer
) -> None:
    import hashlib
    import hmac

    secret = "s3cret-for-tokens"
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann"])
    variable = "NEWSLETTER_UNSUBSCRIBE_SECRET"
    code, output = send(ws, "--list", str(path), "--force", env={variable: ""})
    assert code == 1
    assert output.endswith(
        f"error: the environment variable {variable} (send.unsubscribe_secret_env in "
        "newsletter.toml) is not set; set it to the secret your unsubscribe page checks tokens with\n"
    )
    assert server.sink.counts() == {}

    code, output = send(ws, "--list", str(path), "--force", env={variable: secret})
    assert code == 0, output
    (message,) = server.sink.messages("ann@example.com")
    token = hmac.new(secret.encode(), b"ann@example.com", hashlib.sha256).hexdigest()[:32]
    assert message["List-Unsubscribe"].startswith(
        f"<https://www.gzeromedia.com/newsletter/unsubscribe?token={token}>"
    )
    assert secret not in message.as_string() and secret not in output
