"""Safe by default: what a send refuses, asks and signs, on real sends to loopback servers.

Test sends refuse check errors, a list send asks before it starts, nothing from a list reaches
a header or the SMTP stream unchecked, tokens are signed on one code path, and the journal
knows an issue by its content wherever its file or workspace went.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import pty
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.commands.send import SendSummary, list_send
from newsletter.delivery.recipients import check_address, read_recipients
from newsletter.delivery.smtp import SmtpSender
from newsletter.errors import NewsletterError, ProblemsError
from newsletter.mail.values import SAMPLE_SECRET
from newsletter.model.settings import SmtpSettings
from newsletter.workspace import load_workspace

from .delivery_support import (
    ISSUE,
    SECRET,
    SLUG,
    SmtpServer,
    journal_file,
    journal_states,
    make_workspace,
    process_env,
    send,
    send_command,
    write_list,
)

FAST = "retries = 2\nretry_delay = 0.01\nrate = 1000\nconnections = 2"
TRICKY = "issues/2025-06-27-tricky.yaml"


def token(address: str, secret: str) -> str:
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def server() -> SmtpServer:
    with SmtpServer() as running:
        yield running  # type: ignore[misc]


# -- 2: test sends refuse check errors ---------------------------------------------------


def test_a_test_send_prints_the_findings_and_refuses_errors(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    code, output = send(ws, "--to", "ed@example.com", issue=TRICKY)
    assert code == 1
    assert "check leftover-template: " in output
    assert output.endswith("nothing was sent: fix them, or send anyway with --force\n")
    assert server.sink.received == []
    code, output = send(ws, "--to", "ed@example.com", "--force", issue=TRICKY)
    assert code == 0, output
    assert (
        "warning: issues/2025-06-27-tricky.yaml" in output and "(sending anyway: --force)" in output
    )
    assert output.endswith("sent ed@example.com\n")
    assert server.sink.counts() == {"ed@example.com": 1}


# -- 5: a list send asks first -----------------------------------------------------------


def test_without_a_terminal_or_yes_a_list_send_refuses_after_the_summary(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann", "", "bob@example.com,Bob"])
    code, output = send(ws, "--list", str(path), yes=False)
    assert code == 1
    assert output.splitlines()[:7] == [
        f"about to send {ISSUE}",
        "  subject:    Putin poaches the neighbors for his Ukraine invasion",
        "  from:       GZERO Media <newsletter@gzeromedia.com>",
        f"  server:     127.0.0.1:{server.port} (none)",
        "  list:       2 row(s) read, 2 recipient(s)",
        "  recipients: 2 will get the issue now",
        output.splitlines()[6],
    ]
    assert output.splitlines()[6].startswith("  findings:   ")
    assert output.endswith(
        "error: no terminal to ask on, so nothing was sent: pass --yes to start a list send "
        "without asking\n"
    )
    assert server.sink.received == []
    assert journal_states(ws) == {}  # nothing claimed: a later edit is not "a different issue"


def test_the_summary_goes_to_the_caller_who_may_decline(tmp_path: Path, server: SmtpServer) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann"])
    seen: list[SendSummary] = []
    os.environ["NEWSLETTER_STATE_DIR"] = str(tmp_path / "state")
    os.environ["NEWSLETTER_UNSUBSCRIBE_SECRET"] = SECRET
    try:
        with pytest.raises(NewsletterError, match="not confirmed: nothing was sent"):
            list_send(load_workspace(ws), ws / ISSUE, path, confirm=lambda s: bool(seen.append(s)))
    finally:
        del os.environ["NEWSLETTER_STATE_DIR"], os.environ["NEWSLETTER_UNSUBSCRIBE_SECRET"]
    (summary,) = seen
    assert (summary.rows, summary.listed, summary.recipients, summary.done) == (1, 1, 1, 0)
    assert summary.sender == "GZERO Media <newsletter@gzeromedia.com>"
    assert server.sink.received == []


def test_on_a_terminal_the_list_send_asks_and_goes_ahead_on_yes(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann", "bob@example.com,Bob"])
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        send_command(ws, "--list", str(path)),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=process_env(ws),
    )
    os.close(terminal)
    seen = b""
    asked = False
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        seen += chunk
        if not asked and b"recipient(s) now? [y/N]" in seen:
            assert server.sink.received == []  # nothing before the answer
            os.write(main, b"y\n")
            asked = True
    os.close(main)
    assert process.wait(timeout=60) == 0, seen.decode()
    assert asked, seen.decode()
    assert b"recipients: 2 will get the issue now" in seen
    assert server.sink.counts() == {"ann@example.com": 1, "bob@example.com": 1}


# -- 7: nothing from the list reaches a header unchecked -----------------------------------


def test_a_list_cannot_inject_headers_or_replace_the_links(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = ws / "subscribers.csv"
    path.write_text(
        "email,first_name,unsubscribe_url\n"
        'ann@example.com,"Ann\r\nBcc: victim@example.net",https://evil.example/\n'
        "bob@example.com,Bob,\n"
    )
    code, output = send(ws, "--list", str(path), "--force")
    assert code == 1
    assert "subscribers.csv:2: a quoted field runs on to line 3" in output
    assert server.sink.received == []
    path.write_text("email,first_name,unsubscribe_url\nbob@example.com,Bob,\n")
    code, output = send(ws, "--list", str(path))
    assert code == 1
    assert "subscribers.csv:1: unsubscribe_url: a reserved merge field" in output
    code, output = send(ws, "--list", str(path), "--force")  # the column is ignored
    assert code == 0, output
    (message,) = server.sink.messages("bob@example.com")
    expected = f"token={token('bob@example.com', SECRET)}>"
    assert message["List-Unsubscribe"].split(",")[0].endswith(expected)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_data_values_are_checked_and_links_are_never_given(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    code, output = send(ws, "--to", "ed@example.com", "--data", "first_name=A\r\nBcc: x@y.org")
    assert code == 1 and "merge field first_name: the value" in output
    assert "holds a control character (U+000D)" in output
    code, output = send(ws, "--to", "ed@example.com", "--data", "unsubscribe_url=https://x.org")
    assert code == 1
    assert "--data: unsubscribe_url is made for each subscriber from newsletter.toml" in output
    assert server.sink.received == []


def test_the_smtp_stream_never_carries_a_bare_line_break(server: SmtpServer) -> None:
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, security="none"), None)
    marks: list[str] = []
    smuggled = b"Subject: x\r\n\r\nhello\n.\nMAIL FROM:<a@example.com>\r\n"
    for message in (smuggled, b"Subject: x\r\n\r\nbare\rCR\r\n", b"Subject: x\r\n\r\nNUL\0\r\n"):
        with pytest.raises(
            NewsletterError, match=r"refusing to send the message to b@example\.com"
        ):
            sender.send("a@example.com", "b@example.com", message, lambda: marks.append("DATA"))
    with pytest.raises(NewsletterError, match="a line break in it"):
        sender.send("a@example.com", "b@example.com\r\nRCPT TO:<c@x.org>", b"x\r\n", lambda: None)
    sender.close()
    assert marks == [] and server.sink.received == []


# -- 8: a strict list reader -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'email,first_name\na@example.com,Ann\nb@example.com,"Bob\nc@example.com,Cy\n'
            'd@example.com,"Dee\ne@example.com,E\n',
            "l.csv:3: a stray quote: the quoted field that opens here closes inside a field on "
            "line 5",
        ),
        (
            'email,first_name\na@example.com,Ann\nb@example.com,"Bob\nc@example.com,Cy\n',
            "l.csv:3: the file ends inside a quoted field: a quote that does not close?",
        ),
        (
            "email,first_name\na@example.com,Ann,extra\n",
            "l.csv:2: 3 fields, but the header has 2: a stray comma or quote?",
        ),
        (
            "email,first_name\na@example.com," + "x" * 1001 + "\n",
            "l.csv:2: first_name: 1,001 characters, over the 1,000 a list field may hold",
        ),
        (
            'email,first_name\na@example.com,"Ann b@example.com, c@example.com"\n',
            "l.csv:2: first_name: holds an address (b@example.com): a quote or comma out of place",
        ),
        (
            "email,first_name\na@example.com,A\0\n",
            "l.csv:2: first_name: holds a control character (NUL)",
        ),
    ],
)
def test_a_broken_list_is_an_error_with_its_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "l.csv"
    path.write_text(text)
    with pytest.raises(ProblemsError) as refused:
        read_recipients(path, display="l.csv")
    assert str(refused.value.problems[0]).startswith(problem)


def test_the_stray_quote_that_swallowed_41_of_100_subscribers_sends_nobody(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    rows = [f"r{i:03}@example.com,Reader {i}" for i in range(100)]
    rows[58] = 'r058@example.com,"Reader 58'  # one stray quote
    path = write_list(ws, rows)
    code, output = send(ws, "--list", str(path), "--force")
    assert code == 1
    assert output.startswith("subscribers.csv:60: the file ends inside a quoted field: a quote ")
    assert server.sink.received == []


_NAME = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30).filter(
    lambda name: "@" not in name
)
_WORD = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
_ADDRESS = st.builds("{}@d{}.{}".format, _WORD, _WORD, st.sampled_from(["com", "org", "de"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_ADDRESS, _NAME), max_size=20, unique_by=lambda row: row[0]))
def test_fuzz_a_well_formed_list_reads_back_exactly(rows: list[tuple[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["email", "first_name"])
    writer.writerows(rows)
    listed = _read(buffer.getvalue())
    assert isinstance(listed, tuple)
    recipients, problems, count = listed
    assert problems == ()
    assert count == len(rows)
    assert [(r.email, r.row["first_name"]) for r in recipients] == [(a, n.strip()) for a, n in rows]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='a@.,"\r\n x;é\0\t', max_size=200))
def test_fuzz_any_text_is_read_or_refused_never_misread(text: str) -> None:
    result = _read("email,first_name\n" + text)
    if isinstance(result, str):
        assert result  # refused with a message
        return
    recipients, _, count = result
    assert len(recipients) <= count
    for recipient in recipients:
        assert check_address(recipient.email) is None
        assert not any(c in value for value in recipient.row.values() for c in "\r\n\0")
        assert "@" not in recipient.row["first_name"] or "." not in recipient.row["first_name"]


def _read(text: str) -> tuple[tuple[object, ...], tuple[object, ...], int] | str:
    """The list read from ``text``: (recipients, problems, rows), or the refusal."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "l.csv"
        path.write_text(text, newline="")
        try:
            listed = read_recipients(path)
        except NewsletterError as error:
            return error.format_message()
    return listed.recipients, listed.problems, listed.rows


# -- 9: signed tokens, one code path -----------------------------------------------------


def test_a_list_send_needs_the_secret_and_test_sends_sign_with_the_sample_one(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    config = ws / "newsletter.toml"
    config.write_text(config.read_text().replace("unsubscribe_secret_env =", "# was ="))
    path = write_list(ws, ["ann@example.com,Ann"])
    code, output = send(ws, "--list", str(path), "--force")
    assert code == 1
    assert output.startswith(
        "error: newsletter.toml: send.unsubscribe_secret_env: a list send signs each "
        "unsubscribe link"
    )
    code, output = send(ws, "--to", "ed@example.com")
    assert code == 0, output
    assert "warning newsletter.toml: send.unsubscribe_secret_env: no secret signs" in output
    (message,) = server.sink.messages("ed@example.com")
    sample = token("alex@example.com", SAMPLE_SECRET)  # the sample subscriber's, as message.eml
    assert f"token={sample}>" in message["List-Unsubscribe"]
    assert server.sink.counts() == {"ed@example.com": 1}


# -- 11: the journal knows an issue by its content ---------------------------------------


def test_a_renamed_or_copied_issue_is_refused_not_sent_again(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann", "bob@example.com,Bob"])
    code, output = send(ws, "--list", str(path))
    assert code == 0, output
    copy = "issues/2025-06-26-putin-copy.yaml"
    shutil.copy(ws / ISSUE, ws / copy)
    (ws / ISSUE).rename(ws / "issues/2025-06-26-renamed.yaml")
    for issue in (copy, "issues/2025-06-26-renamed.yaml"):
        code, output = send(ws, "--list", str(path), issue=issue)
        assert code == 1
        assert f"this issue was already sent as '{SLUG}'" in output
        assert "nothing to send" not in output
    assert server.sink.counts() == {"ann@example.com": 1, "bob@example.com": 1}


def test_a_different_issue_with_a_reused_slug_is_refused(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann"])
    code, output = send(ws, "--list", str(path))
    assert code == 0, output
    issue = ws / ISSUE
    issue.write_text(issue.read_text().replace("subject: Putin poaches", "subject: Xi courts", 1))
    code, output = send(ws, "--list", str(path))
    assert code == 1
    assert f"a different issue was sent as '{SLUG}'" in output
    assert "give this one a slug of its own" in output and "nothing to send" not in output
    assert server.sink.counts() == {"ann@example.com": 1}


def test_git_clean_cannot_reach_the_journal_and_a_copied_workspace_refuses(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann"])
    git = ["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "newsletter.toml", "issues", "assets"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    code, output = send(ws, "--list", str(path))
    assert code == 0, output
    (ws / "out").mkdir()
    subprocess.run([*git, "clean", "-q", "-fdx"], check=True)  # out/, the list, everything
    path = write_list(ws, ["ann@example.com,Ann"])
    code, output = send(ws, "--list", str(path))
    assert code == 0, output
    assert "nothing to send" in output
    copy = tmp_path / "copy"
    shutil.copytree(ws, copy)
    code, output = send(copy, "--list", str(copy / "subscribers.csv"))
    assert code == 1
    assert f"this issue was already started from the workspace {ws.resolve()}" in output
    assert server.sink.counts() == {"ann@example.com": 1}
    assert journal_file(copy) != journal_file(ws)


def test_a_journal_from_before_the_move_is_read_not_ignored(
    tmp_path: Path, server: SmtpServer
) -> None:
    ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
    path = write_list(ws, ["ann@example.com,Ann", "bob@example.com,Bob"])
    code, output = send(ws, "--list", str(path))
    assert code == 0, output
    old = ws / ".newsletter" / "sends.sqlite"  # where journals lived before
    old.parent.mkdir()
    journal_file(ws).rename(old)
    code, output = send(ws, "--status")
    assert output == f"{SLUG}: 2 sent\n"
    code, output = send(ws, "--list", str(path))
    assert code == 1
    assert f"this issue was already started from the workspace {ws}" in output
    assert f"move the journal to {journal_file(ws)}" in output
    assert server.sink.counts() == {"ann@example.com": 1, "bob@example.com": 1}
