"""Faults that would double, lose or hang a send, injected by a raw-socket server on loopback
(tests/delivery_support.RawSmtp), by real signals to real processes, and by real files."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

from newsletter.delivery.send import WINDOW, WINDOW_SECONDS

from .delivery_support import (
    ISSUE,
    RawSmtp,
    Script,
    Sink,
    SmtpServer,
    journal_file,
    journal_states,
    make_workspace,
    process_env,
    send,
    send_command,
    send_process,
    write_list,
)

FAST = "retries = 2\nretry_delay = 0.01\nrate = 1000\nconnections = 1"


def wait_for(condition: object, process: subprocess.Popen[str] | None = None) -> None:
    """Wait (generously) until ``condition()`` holds; fail if the process ended first."""
    deadline = time.monotonic() + 60
    while not condition():  # type: ignore[operator]
        if process is not None and process.poll() is not None:
            raise AssertionError(process.communicate()[0])
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)


def once(reply: str, then: str, who: str) -> object:
    """A reply function: ``reply`` the first time ``who`` is answered, ``then`` after."""
    seen: set[str] = set()

    def answer(rcpt: str) -> str:
        if rcpt == who and rcpt not in seen:
            seen.add(rcpt)
            return reply
        return then

    return answer


# -- 4xx at any stage is a deferral ------------------------------------------------------


def test_a_421_to_data_is_retried_not_unknown(tmp_path: Path) -> None:
    script = Script(
        data_reply=once("421 4.7.0 too busy, closing", "354 go ahead", "busy@example.com"),  # type: ignore[arg-type]
        dot_reply=once("451 4.3.0 try again", "250 OK", "late@example.com"),  # type: ignore[arg-type]
    )
    with RawSmtp(script) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        path = write_list(ws, ["ann@example.com,A", "busy@example.com,B", "late@example.com,L"])
        code, output = send(ws, "--list", str(path))
        assert code == 0, output
        assert server.counts() == dict.fromkeys(
            ["ann@example.com", "busy@example.com", "late@example.com"], 1
        )
        assert set(journal_states(ws).values()) == {"sent"}


def test_only_a_loss_after_the_final_dot_is_unknown(tmp_path: Path) -> None:
    # hanging up at DATA (before the message): retried; after the final dot: fate unknown
    script = Script(
        data_reply=once(None, "354 go ahead", "drop@example.com"),  # type: ignore[arg-type]
        dot_reply=once(None, "250 OK", "maybe@example.com"),  # type: ignore[arg-type]
    )
    with RawSmtp(script) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        path = write_list(ws, ["drop@example.com,D", "maybe@example.com,M", "zed@example.com,Z"])
        code, output = send(ws, "--list", str(path))
        assert code == 1
        assert "  unknown  maybe@example.com  connection lost after DATA" in output
        assert journal_states(ws) == {
            "drop@example.com": "sent",
            "maybe@example.com": "unknown",
            "zed@example.com": "sent",
        }
        code, output = send(ws, "--list", str(path))
        assert code == 1
        assert "may or may not have reached the server" in output
        assert "sends a second copy to everyone the server did take it from" in output


def test_at_a_slow_server_each_result_is_committed_before_the_next_message(
    tmp_path: Path,
) -> None:
    # a server that takes longer per message than a journal window lasts gets one recipient
    # claimed at a time: a kill loses at most the message in flight
    seen: list[dict[str, str]] = []
    ws = tmp_path / "ws"

    def dot_reply(rcpt: str) -> str:
        seen.append(journal_states(ws))  # what the journal says while this message waits
        return "250 OK"

    with RawSmtp(Script(dot_reply=dot_reply, hang=2 * WINDOW_SECONDS)) as server:
        make_workspace(ws, server.toml(), send=FAST)
        path = write_list(ws, ["a@example.com,A", "b@example.com,B", "c@example.com,C"])
        code, output = send(ws, "--list", str(path))
        assert code == 0, output
    assert [states["a@example.com"] for states in seen] == ["sending", "sent", "sent"]
    assert [states["b@example.com"] for states in seen] == ["pending", "sending", "sent"]


def test_at_a_fast_server_a_window_is_claimed_before_its_messages_leave(tmp_path: Path) -> None:
    # one commit records a window's answers and claims the next: whatever the server has read
    # the end of, its recipient was "sending" before, and nobody is "sending" beyond a window
    seen: list[tuple[str, dict[str, str]]] = []
    ws = tmp_path / "ws"

    def dot_reply(rcpt: str) -> str:
        seen.append((rcpt, journal_states(ws)))
        return "250 OK"

    with RawSmtp(Script(dot_reply=dot_reply, pipelining=True)) as server:
        make_workspace(ws, server.toml(), send=FAST)
        addresses = [f"r{i:03}@example.com" for i in range(120)]
        code, output = send(ws, "--list", str(write_list(ws, [f"{a},R" for a in addresses])))
        assert code == 0, output
        assert server.counts() == dict.fromkeys(addresses, 1)
    assert set(journal_states(ws).values()) == {"sent"}
    for rcpt, states in seen:
        assert states[rcpt] == "sending"
        assert 1 <= sum(1 for state in states.values() if state == "sending") <= WINDOW
        before = addresses[: addresses.index(rcpt)]
        assert {states[a] for a in before} <= {"sent", "sending"}


def test_a_kill_inside_a_window_doubles_nobody_and_leaves_no_worker_sending(
    tmp_path: Path,
) -> None:
    # killed while a window of recipients is claimed: the workers die with the send, the
    # window is unknown to the next run (never sent again unasked), and everyone else gets the
    # issue exactly once
    ws = tmp_path / "ws"
    at_kill: dict[str, str] = {}
    killed: list[subprocess.Popen[str]] = []
    dots: list[int] = []  # read at the kill
    lock = threading.Lock()

    def dot_reply(rcpt: str) -> str | None:
        with lock:
            if not at_kill and server.dots >= 60:
                at_kill.update(journal_states(ws), killed=rcpt)
                os.kill(killed[0].pid, signal.SIGKILL)
                wait_for(lambda: _dead(killed[0].pid))  # no other answer before it is
                dots.append(server.dots)
                return None  # this message never has its answer
        return "250 OK"

    with RawSmtp(Script(dot_reply=dot_reply, pipelining=True)) as server:
        make_workspace(ws, server.toml(), send=FAST.replace("connections = 1", "connections = 2"))
        addresses = [f"r{i:03}@example.com" for i in range(150)]
        path = write_list(ws, [f"{a},R" for a in addresses])
        command = send_command(ws, "--list", str(path), "--yes")
        killed.append(
            subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=process_env(ws),
            )
        )
        killed[0].communicate(timeout=120)
        wait_for(lambda: dots)  # the server has seen the kill through
        wait_for(lambda: not _running(command))  # no worker outlives the send it belonged to
        assert server.dots <= dots[0] + 2  # but for what each connection had handed over
        taken = server.counts()
        code, output = send(ws, "--list", str(path))
        states = journal_states(ws)
        counts = server.counts()
    window = {a for a, s in at_kill.items() if s == "sending"}
    unknown = {a for a, s in states.items() if s == "unknown"}
    assert at_kill[at_kill["killed"]] == "sending"  # claimed before its message left
    # each of the window is unknown now, or had its answer recorded in the instant before the kill
    assert all(a in unknown or (states[a] == "sent" and taken[a] == 1) for a in window)
    assert len(unknown) <= 2 * WINDOW
    assert code == 1 and f"{len(unknown)} recipient(s) of unknown fate" in output, output
    assert all(counts[a] == 1 for a in addresses if a not in unknown), counts
    assert all(counts[a] == taken[a] <= 1 for a in unknown)  # never sent again unasked
    assert {a for a, s in states.items() if s == "sent"} == set(addresses) - unknown


def _dead(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie not yet reaped, or gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def _running(command: list[str]) -> bool:
    """Whether a process runs ``command`` (a send's workers are forks of it, the same line)."""
    wanted = "\0".join(command).encode()
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().rstrip(b"\0") == wanted:
                return True
    return False


# -- nothing hangs ----------------------------------------------------------------------


def test_a_server_trickling_a_byte_a_second_cannot_hang_a_send(tmp_path: Path) -> None:
    with RawSmtp(Script(trickle_dot=1.0)) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(timeout=1), send=FAST)
        path = write_list(ws, ["ann@example.com,A", "bob@example.com,B"])
        done = send_process(ws, "--list", str(path), "--yes", timeout=120)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "unknown  ann@example.com  connection lost after DATA" in done.stdout
        assert set(journal_states(ws).values()) == {"unknown"}
    with RawSmtp(Script(trickle=1.0)) as greeting:
        ws = make_workspace(tmp_path / "ws2", greeting.toml(timeout=1), send=FAST)
        code, output = send(ws, "--to", "ed@example.com")
        assert code == 1
        assert "cannot connect to the SMTP server" in output and "within 1 s" in output


def test_a_server_silent_after_the_final_dot_costs_the_timeout_not_the_send(
    tmp_path: Path,
) -> None:
    # once a connection is set up its socket has no timeout of its own (one polled before every
    # read and write): the deadline of each message alone ends the wait for an answer that
    # never comes, and the message is unknown
    with RawSmtp(Script(hang=600)) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(timeout=1), send=FAST)
        path = write_list(ws, ["ann@example.com,A"])
        done = send_process(ws, "--list", str(path), "--yes", timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "unknown  ann@example.com  connection lost after DATA" in done.stdout
    assert "no complete answer within 1 s" in done.stdout
    assert journal_states(ws) == {"ann@example.com": "unknown"}


def test_ctrl_c_stops_a_hung_send_records_it_and_prints_the_summary(tmp_path: Path) -> None:
    with RawSmtp(Script(hang=600)) as server:  # far longer than the test waits
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        path = write_list(ws, ["ann@example.com,A", "bob@example.com,B"])
        process = subprocess.Popen(
            send_command(ws, "--list", str(path), "--yes"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=process_env(ws),
        )
        wait_for(lambda: server.dots >= 1, process)
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0]
        assert process.returncode == 1, output
        assert "sent 0 of 2 in " in output
        assert "  unknown  ann@example.com  connection lost after DATA" in output
        assert "interrupted: run the same command again to resume" in output
        assert "Traceback" not in output
        assert journal_states(ws) == {"ann@example.com": "unknown", "bob@example.com": "pending"}


def test_a_rerun_after_5xx_failures_exits_1_and_lists_them(tmp_path: Path) -> None:
    sink = Sink(rcpt_codes={"gone@example.com": "550 5.1.1 no such user"})
    with SmtpServer(sink) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        path = write_list(ws, ["ann@example.com,A", "gone@example.com,G"])
        code, output = send(ws, "--list", str(path))
        assert code == 1
        code, output = send(ws, "--list", str(path))
        assert code == 1
        assert "nothing to send: each of the 2 recipients" in output
        assert output.endswith("  failed   gone@example.com  550 5.1.1 no such user\n")
        assert sink.counts() == {"ann@example.com": 1}


# -- ESMTP PIPELINING (RFC 2920) --------------------------------------------------------


def test_a_server_offering_pipelining_gets_the_envelope_and_data_in_one_write(
    tmp_path: Path,
) -> None:
    # The server answers MAIL and RCPT only once DATA has come: a client waiting for those
    # answers first would hit the 5 s deadline, and every message would be retried, then fail.
    with RawSmtp(Script(pipelining=True)) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(timeout=5), send=FAST)
        path = write_list(ws, ["ann@example.com,A", "bob@example.com,B", "cat@example.com,C"])
        code, output = send(ws, "--list", str(path))
        assert code == 0, output
        assert server.counts() == dict.fromkeys(
            ["ann@example.com", "bob@example.com", "cat@example.com"], 1
        )
        assert set(journal_states(ws).values()) == {"sent"}


def test_a_recipient_refused_in_a_pipelined_envelope_fails_alone(tmp_path: Path) -> None:
    script = Script(
        pipelining=True,
        rcpt_reply=lambda rcpt: (
            "550 5.1.1 no such user" if rcpt == "gone@example.com" else "250 OK"
        ),
    )
    with RawSmtp(script) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(timeout=5), send=FAST)
        path = write_list(ws, ["ann@example.com,A", "gone@example.com,G", "zed@example.com,Z"])
        code, output = send(ws, "--list", str(path))
        assert code == 1
        assert "  failed   gone@example.com  550 5.1.1 no such user" in output
        assert server.counts() == {"ann@example.com": 1, "zed@example.com": 1}
        assert journal_states(ws) == {
            "ann@example.com": "sent",
            "gone@example.com": "failed",
            "zed@example.com": "sent",
        }


def test_a_pipelined_data_taken_for_a_refused_recipient_is_ended_empty(tmp_path: Path) -> None:
    # A server may answer 354 to a pipelined DATA although it refused the only recipient
    # (RFC 2920 4): the client ends it with a lone dot and sends nothing of the message.
    script = Script(
        pipelining=True,
        rcpt_reply=lambda rcpt: (
            "550 5.1.1 no such user" if rcpt == "gone@example.com" else "250 OK"
        ),
        data_reply=lambda rcpt: "354 go ahead",
    )
    with RawSmtp(script) as server:
        server.accept_data_without_recipients = True
        ws = make_workspace(tmp_path / "ws", server.toml(timeout=5), send=FAST)
        path = write_list(ws, ["gone@example.com,G", "zed@example.com,Z"])
        code, output = send(ws, "--list", str(path))
        assert code == 1
        assert "  failed   gone@example.com  550 5.1.1 no such user" in output
        # what the server took for no recipient is the lone dot: an empty body
        assert server.counts() == {"": 1, "zed@example.com": 1}
        assert ("", b"") in server.received
        assert journal_states(ws) == {"gone@example.com": "failed", "zed@example.com": "sent"}


# -- one-line errors, never a traceback --------------------------------------------------


def test_a_corrupt_journal_is_one_line(tmp_path: Path) -> None:
    with SmtpServer() as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        path = write_list(ws, ["ann@example.com,A"])
        journal = journal_file(ws)
        journal.parent.mkdir(parents=True)
        journal.write_bytes(b"this is not a database, but it once was one" * 100)
        code, output = send(ws, "--list", str(path))
        assert code == 1
        assert output.startswith(f"error: {journal}: the send journal is damaged (")
        assert "restore it from a backup rather than delete it" in output
        assert len(output.splitlines()) == 1
        code, output = send(ws, "--status")
        assert code == 1 and "the send journal is damaged" in output
        assert server.sink.received == []


def test_resuming_on_a_full_disk_is_one_line_and_doubles_nobody(tmp_path: Path) -> None:
    sink = Sink()
    with SmtpServer(sink) as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        addresses = [f"r{i:03}@example.com" for i in range(80)]
        code, output = send(ws, "--list", str(write_list(ws, [f"{a},R" for a in addresses[:10]])))
        assert code == 0, output  # a first run sent 10; the list has grown since
        path = write_list(ws, [f"{a},R" for a in addresses])
        journal = journal_file(ws)
        room = max(p.stat().st_size for p in journal.parent.iterdir()) + 16 * 1024

        def small_disk() -> None:  # writes past `room` bytes fail, as on a full disk
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))

        full = send_process(ws, "--list", str(path), "--yes", timeout=120, preexec_fn=small_disk)
        assert full.returncode == 1
        assert "Traceback" not in full.stderr + full.stdout
        # a file-size limit fails the write as SQLite's "disk I/O error"; a disk that is really
        # full is its "database or disk is full": both say the same thing
        assert f"error: {journal}: cannot write the send journal (disk I/O error)" in full.stderr
        assert "is the disk full? free some space and run the same command again" in full.stderr
        code, output = send(ws, "--list", str(path))
        states = journal_states(ws)
        unknown = {a for a, s in states.items() if s == "unknown"}
        assert len(unknown) <= WINDOW  # the window whose answers could not be written down
        assert code == (1 if unknown else 0), output
        counts = sink.counts()
        assert all(counts[a] == 1 for a in addresses if a not in unknown), counts
        assert all(counts[a] == 1 for a in unknown)  # the server took it; never sent twice


def test_a_csv_field_over_128_kb_is_one_line(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    path = ws / "subscribers.csv"
    path.write_text('email,first_name\nann@example.com,"' + "x" * 200_000 + "\nbob@example.com,B\n")
    code, output = send(ws, "--list", str(path))
    assert code == 1
    assert output == (
        "subscribers.csv:2: a field over 131,072 characters: a quote that does not close?\n"
        "1 problem found\n"
        "nothing was sent: fix the list (--force does not skip these)\n"
    )


def test_the_password_is_never_sent_in_clear_text_to_another_host(tmp_path: Path) -> None:
    smtp = (
        '[smtp]\nhost = "smtp.example.com"\nsecurity = "none"\nusername = "newsletter"\n'
        'password_env = "NL_TEST_PW"\n'
    )
    ws = make_workspace(tmp_path / "ws", smtp, send=FAST)
    code, output = send(ws, "--to", "ed@example.com", env={"NL_TEST_PW": "pw"})
    assert code == 1
    assert output == (
        'error: newsletter.toml: smtp.security: "none" would send the password of '
        '\'newsletter\' to smtp.example.com in clear text; use "starttls" or "tls" (a server '
        "on this machine, 127.0.0.1 or localhost, may go without)\n"
    )


def test_the_journal_is_private(tmp_path: Path) -> None:
    with SmtpServer() as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        path = write_list(ws, ["ann@example.com,A"])
        old = os.umask(0o022)
        try:
            code, output = send(ws, "--list", str(path))
        finally:
            os.umask(old)
        assert code == 0, output
        journal = journal_file(ws)
        assert journal.parent.stat().st_mode & 0o777 == 0o700
        for file in journal.parent.iterdir():
            assert file.stat().st_mode & 0o077 == 0, file
        with sqlite3.connect(journal) as db:
            assert db.execute("SELECT root FROM workspace").fetchone() == (str(ws.resolve()),)
        assert not (ws / ".newsletter").exists()
        assert ISSUE  # the journal lives outside the workspace, which git clean cannot reach


def test_a_message_a_killed_run_left_sending_is_unknown_and_resent_only_when_asked(
    tmp_path: Path,
) -> None:
    from newsletter.delivery.journal import Journal
    from newsletter.delivery.plan import journal_path
    from newsletter.workspace import load_workspace

    from .delivery_support import SLUG, environment

    with SmtpServer() as server:
        ws = make_workspace(tmp_path / "ws", server.toml(), send=FAST)
        path = write_list(ws, ["ann@example.com,A", "bob@example.com,B"])
        # what a run killed during ann's DATA leaves behind
        with Journal(journal_path(load_workspace(ws), environment(ws))) as journal:
            journal.add(SLUG, ["ann@example.com", "bob@example.com"])
            journal.mark_many(SLUG, [("ann@example.com", "sending", None, "")])
        code, output = send(ws, "--list", str(path))
        assert code == 1
        assert "an earlier send of" in output and "stopped during 1 message(s)" in output
        assert server.sink.counts() == {"bob@example.com": 1}
        code, output = send(ws, "--list", str(path), "--resend-unknown")
        assert code == 0, output
        assert "those whose first message did reach the server get it twice" in output
        assert server.sink.counts() == {"ann@example.com": 1, "bob@example.com": 1}
