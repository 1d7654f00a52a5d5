"""How fast a list send goes: personalisation alone, and whole sends to a loopback SMTP sink.

    python bench/send.py [--recipients N] [--runs N]

The sink is aiosmtpd in worker processes sharing one port (SO_REUSEPORT, so the kernel spreads
connections over them), answering 250 to everything and keeping nothing; then, to show what the
sender itself can do, a minimal SMTP sink that reads each message in one call (aiosmtpd reads
DATA line by line, some 800 lines a message, and is the limit). On a two-core machine the sink
and the sender share the cores. A send here is the real thing minus the network:
MessageTemplate, the worker processes, the shared rate limiter (set far above the achievable
rate), real SMTP connections reused across messages, and the SQLite journal committed a window
at a time. Targets from the send issue:
personalising a message under 0.2 ms; 500 messages per second or more.

Where Postfix's ``smtp-sink`` and ``smtp-source`` are installed (Debian: ``apt-get install
postfix``; the bench only, never the tests), a second table sets our list send against
``smtp-source`` sending messages of the same size to the same ``smtp-sink`` at 1, 4 and 8
connections: the tool ceiling, and issue 15's target of 80 % of it. Each cell is ``--runs``
interleaved trials of the two (see :func:`against_postfix`), so that a load that comes and goes
slows both alike; the ratio is that of the medians.

Prints tables of medians (these machines are shared and noisy: compare numbers from one run,
not across runs).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from newsletter import Workspace
from newsletter.delivery.journal import Journal
from newsletter.delivery.plan import list_deliveries
from newsletter.delivery.recipients import Recipient
from newsletter.delivery.send import deliver
from newsletter.delivery.smtp import SmtpSender
from newsletter.mail.message import MessageTemplate
from newsletter.mail.values import merge_values
from newsletter.model.settings import SmtpSettings
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "issues" / "2025-06-26-putin-poaches-the-neighbors.yaml"


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


async def _minimal(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Just enough SMTP to take messages: the message is read in one call, not line by line
    as aiosmtpd does, to show what the sender can do when the server is not the limit."""
    writer.write(b"220 sink\r\n")
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb == b"DATA":
            writer.write(b"354 go on\r\n")
            await reader.readuntil(b"\r\n.\r\n")
            writer.write(b"250 OK\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            break
        else:
            writer.write(b"250 OK\r\n")
    writer.close()


def _serve(port: int, ready: Any, kind: str) -> None:
    from aiosmtpd.smtp import SMTP

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if kind == "aiosmtpd":
            await loop.create_server(
                lambda: SMTP(_Sink(), hostname="sink"), "127.0.0.1", port, reuse_port=True
            )
        else:
            await asyncio.start_server(_minimal, "127.0.0.1", port, reuse_port=True, limit=2**20)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def start_sink(processes: int, kind: str) -> tuple[int, list[multiprocessing.Process]]:
    port = _free_port()
    workers = []
    for _ in range(processes):
        ready = multiprocessing.Event()
        worker = multiprocessing.Process(target=_serve, args=(port, ready, kind), daemon=True)
        worker.start()
        ready.wait(10)
        workers.append(worker)
    return port, workers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def against_postfix(
    ws: Workspace, template: MessageTemplate, people: list[Recipient], size: int, runs: int
) -> None:
    """Our send and ``smtp-source`` against one ``smtp-sink``, at 1, 4 and 8 connections.

    Each cell is ``runs`` interleaved trials of ours and smtp-source's (ours first in even
    trials, smtp-source first in odd ones, so that neither always runs in the other's wake):
    both see the same load of a shared machine, and the table gives each one's median, the
    ratio of the medians and the range of the trials' own ratios. Beside the rates: the CPU
    our send spends per message (user + system) in its worker processes and in the sending
    process, and the sink's for each sender's messages."""
    sink, source = _tool("smtp-sink"), _tool("smtp-source")
    if sink is None or source is None:
        print("\n(smtp-sink/smtp-source not installed: apt-get install postfix to compare)")
        return
    port = _free_port()
    root = ["-u", "nobody"] if os.geteuid() == 0 else []  # smtp-sink refuses to run as root
    server = subprocess.Popen([sink, *root, f"127.0.0.1:{port}", "256"], stdout=subprocess.DEVNULL)
    per = len(people)
    try:
        time.sleep(0.5)
        print(
            f"\nAgainst Postfix's smtp-sink, {per:,} messages of {size:,} bytes, "
            f"medians of {runs} interleaved trials"
        )
        heads = (
            "connections",
            "ours msg/s",
            "smtp-source msg/s",
            "ratio of medians",
            "trials' ratios",
            "our CPU us/msg: workers + parent",
            "sink CPU us/msg: ours / source's",
        )
        print("| " + " | ".join(heads) + " |")
        print("|" + "|".join("-" * (len(h) + 2) for h in heads) + "|")
        for connections in (1, 4, 8):
            ours, theirs, workers, parent, sunk, sunk_theirs = [], [], [], [], [], []
            for trial in range(runs):
                for turn in ("ours", "source") if trial % 2 == 0 else ("source", "ours"):
                    before = _cpu(server.pid)
                    if turn == "ours":
                        rate, (in_workers, in_parent) = send(
                            ws, template, people, port, connections
                        )
                        ours.append(rate)
                        workers.append(in_workers * 1e6 / per)
                        parent.append(in_parent * 1e6 / per)
                        sunk.append((_cpu(server.pid) - before) * 1e6 / per)
                    else:
                        theirs.append(_source(source, port, connections, per, size))
                        sunk_theirs.append((_cpu(server.pid) - before) * 1e6 / per)
            ratios = sorted(a / b for a, b in zip(ours, theirs, strict=True))
            median = statistics.median
            cells = (
                f"{connections:,}",
                f"{median(ours):,.0f}",
                f"{median(theirs):,.0f}",
                f"{median(ours) / median(theirs):.0%}",
                f"{ratios[0]:.0%}-{ratios[-1]:.0%}",
                f"{median(workers):.0f} + {median(parent):.0f}",
                f"{median(sunk):.0f} / {median(sunk_theirs):.0f}",
            )
            print(
                "| " + " | ".join(c.rjust(len(h)) for c, h in zip(cells, heads, strict=True)) + " |"
            )
    finally:
        server.kill()
        server.wait()


def _source(source: str, port: int, connections: int, messages: int, size: int) -> float:
    """Messages per second of one run of ``smtp-source``: ``messages`` of ``size`` bytes over
    ``connections`` sessions, each kept for its next message (``-d``)."""
    sessions = ["-d", "-s", str(connections), "-m", str(messages), "-l", str(size)]
    envelope = ["-f", "newsletter@example.com", "-t", "reader@example.com"]
    started = time.perf_counter()
    subprocess.run(
        [source, *sessions, *envelope, f"127.0.0.1:{port}"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return messages / (time.perf_counter() - started)


def _cpu_of(who: int) -> float:
    """Seconds of CPU (user + system) this process (``RUSAGE_SELF``) or its finished children
    (``RUSAGE_CHILDREN``: a send's worker processes, once joined) have used."""
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


def _cpu(pid: int) -> float:
    """Seconds of CPU (user + system) process ``pid`` has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def recipients(count: int) -> list[Recipient]:
    return [
        Recipient(
            f"reader{i}@example.com",
            i + 2,
            {"email": f"reader{i}@example.com", "first_name": f"Reader {i}"},
        )
        for i in range(count)
    ]


def personalise(
    ws: Workspace, template: MessageTemplate, people: list[Recipient]
) -> tuple[float, float]:
    """Microseconds per recipient: merge values + message, and the message alone."""
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    values = [merge_values(ws.settings, "bench", r.row) for r in people]
    middle = time.perf_counter()
    for person, fields in zip(people, values, strict=True):
        template.message(person.email, fields, date=now)
    ended = time.perf_counter()
    per = 1e6 / len(people)
    return (ended - started) * per, (ended - middle) * per


def send(
    ws: Workspace, template: MessageTemplate, people: list[Recipient], port: int, connections: int
) -> tuple[float, tuple[float, float]]:
    """Messages per second of one whole send, and the CPU seconds its worker processes and
    the sending process spent in it (the journal's rows and the plan, made before, not
    counted)."""
    smtp = SmtpSettings(host="127.0.0.1", port=port, security="none")
    with tempfile.TemporaryDirectory() as folder, Journal(Path(folder) / "sends.sqlite") as journal:
        journal.add("bench", (r.key for r in people))
        deliveries = list_deliveries(
            ws.settings,
            "bench",
            people,
            journal.states("bench"),
            resend_unknown=False,
            secret="bench-secret",
        )
        children, own = _cpu_of(resource.RUSAGE_CHILDREN), _cpu_of(resource.RUSAGE_SELF)
        report = deliver(
            deliveries,
            template,
            connect=lambda: SmtpSender(smtp, None),
            connections=connections,
            rate=1e6,
            retries=0,
            retry_delay=0,
            issue="bench",
            journal=journal,
        )
        spent = (
            _cpu_of(resource.RUSAGE_CHILDREN) - children,
            _cpu_of(resource.RUSAGE_SELF) - own,
        )
        assert report.error is None and report.count("sent") == len(people), report.error
        return len(people) / report.seconds, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--postfix-only", action="store_true", help="only the table against smtp-source"
    )
    args = parser.parse_args()
    ws = load_workspace(REPO)
    email = build_issue(EXAMPLE, ws).email
    assert email is not None
    template = MessageTemplate(email, ws.settings)
    people = recipients(args.recipients)
    size = len(
        template.message(
            "a@example.com", merge_values(ws.settings, "bench", {}), date=dt.datetime.now(dt.UTC)
        )
    )
    if args.postfix_only:
        against_postfix(ws, template, people, size, args.runs)
        return

    rows: list[tuple[str, str, str]] = []
    both, alone = zip(*(personalise(ws, template, people) for _ in range(args.runs)), strict=True)
    rows.append(
        ("personalise: merge values + message", f"{statistics.median(both):.1f} us", "< 200 us")
    )
    rows.append(("personalise: message alone", f"{statistics.median(alone):.1f} us", ""))
    for kind in ("aiosmtpd", "minimal"):
        for connections in (1, 4):
            port, sinks = start_sink(min(connections, 2), kind)
            try:
                rates = [send(ws, template, people, port, connections)[0] for _ in range(args.runs)]
            finally:
                for sink in sinks:
                    sink.kill()
            rows.append(
                (
                    f"send to {kind} sink, {connections} connection(s)",
                    f"{statistics.median(rates):.0f} msg/s",
                    ">= 500 msg/s",
                )
            )

    print(
        f"{args.recipients} recipients, {size / 1024:.1f} KB per message, median of {args.runs} runs\n"
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'median':>12}  target")
    print(f"{'-' * width}  {'-' * 12}  {'-' * 12}")
    for what, value, target in rows:
        print(f"{what:<{width}}  {value:>12}  {target}")
    against_postfix(ws, template, people, size, args.runs)


if __name__ == "__main__":
    main()
