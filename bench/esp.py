"""How fast a list send goes through the ESPs' bulk APIs, to loopback servers.

    python bench/esp.py [--recipients N] [--runs N] [--ses-recipients N] [--smtp-recipients N]

Each run is the real command minus the terminal: ``list_send(..., via=ESP)`` on a copy of the
example workspace and a CSV of N subscribers (building the issue, reading and checking the
list, the journal, merge values per recipient, the ESP's transport, httpx or boto3, making
each batch's request), against a minimal HTTP/1.1 server in another process that answers like
the ESP (SendGrid 202, Postmark one result per message, Mailgun one id) and is as cheap as a
server can be; SES goes to moto in server mode (with the v2 calls of tests/moto_sesv2.py and
no quota to speak of), which is far slower than SES and the limit there. Each run is a fresh
process, so that its peak memory (max RSS) and its CPU time are its own: compare them across
list sizes to see whether memory stays flat and what a recipient costs. The SMTP path to
bench/send.py's minimal sink runs on the same machine for comparison. Targets from the ESP
issue: at least 20,000 recipients/s to a loopback API server, memory flat in list size (max
RSS within 1.5x for ten times the list).

Prints a table of medians (these machines are shared and noisy: compare numbers from one run,
not across runs; the CPU seconds are the steadiest).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import shutil
import socket
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "issues" / "2025-06-26-putin-poaches-the-neighbors.yaml"
KEY = "bench-key"


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Just enough HTTP/1.1 (keep-alive, Content-Length) to answer like each ESP."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            break
        request, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request.split(" ", 2)
        length = 0
        for line in lines:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await reader.readexactly(length) if length else b""
        path = target.split("?")[0]
        status, answer = "200 OK", b"{}"
        if path == "/email/batchWithTemplates":
            count = body.count(b'"TemplateAlias"')  # a message id of its own, as Postmark gives
            results = (
                b'{"ErrorCode":0,"Message":"OK","MessageID":"m-%d-%d"}' % (id(body), i)
                for i in range(count)
            )
            answer = b"[" + b",".join(results) + b"]"
        elif path == "/v3/templates" and method == "GET":
            answer = b'{"result": []}'
        elif path == "/v3/templates" or path.endswith("/versions"):
            status, answer = "201 Created", b'{"id": "d-1", "versions": []}'
        elif path == "/v3/mail/send":
            status, answer = "202 Accepted", b""
        elif path.endswith("/messages"):
            answer = b'{"id": "<1@mg.example.org>", "message": "Queued. Thank you."}'
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nX-Message-Id: m\r\n"
            f"Content-Length: {len(answer)}\r\n\r\n".encode()
            + answer
        )
        await writer.drain()
    writer.close()


def _serve(port: int, ready: Any) -> None:
    async def main() -> None:
        await asyncio.start_server(_http, "127.0.0.1", port, limit=2**24)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _workspace(folder: Path, url: str, count: int) -> tuple[Path, Path]:
    """A copy of the example workspace whose ESPs are the loopback server at ``url``, and a list
    of ``count`` subscribers."""
    ws = folder / "ws"
    ws.mkdir()
    shutil.copytree(REPO / "issues", ws / "issues")
    shutil.copytree(REPO / "assets", ws / "assets")
    (ws / "newsletter.toml").write_text(
        (REPO / "newsletter.toml").read_text()
        + f"""
[esp]
retries = 0

[esp.postmark]
api_url = "{url}"

[esp.sendgrid]
api_url = "{url}"
asm_group_id = 1

[esp.mailgun]
api_url = "{url}"
domain = "mg.example.org"
"""
    )
    subscribers = ws / "subscribers.csv"
    with subscribers.open("w") as out:
        out.write("email,first_name\n")
        out.writelines(f"reader{i}@example.com,Reader {i}\n" for i in range(count))
    return ws, subscribers


def _run(esp: str, count: int, url: str, out: Any) -> None:
    """One whole ``newsletter send --list --via esp --yes`` in this (fresh) process: reading and
    checking the list, the journal, the batches; puts (seconds of the send, seconds of the whole
    command, batches, max RSS in MB, CPU seconds of the whole process)."""
    import time

    from newsletter.commands.send import list_send
    from newsletter.workspace import load_workspace

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ws, subscribers = _workspace(folder, url, count)
        os.environ.update(
            {
                "POSTMARK_SERVER_TOKEN": KEY,
                "SENDGRID_API_KEY": KEY,
                "MAILGUN_API_KEY": KEY,
                "NEWSLETTER_UNSUBSCRIBE_SECRET": "bench-secret",
                "NEWSLETTER_STATE_DIR": str(folder / "state"),
            }
        )
        started = time.monotonic()
        report = list_send(load_workspace(ws), ws / EXAMPLE.relative_to(REPO), subscribers, via=esp)
        whole = time.monotonic() - started
        assert report.count("sent") == count, report.notes
        batches = -(-count // {"ses": 50, "postmark": 500}.get(esp, 1000))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out.put(
            (
                report.seconds,
                whole,
                batches,
                usage.ru_maxrss / 1024,
                usage.ru_utime + usage.ru_stime,
            )
        )


def measure(
    esp: str, count: int, url: str, env: dict[str, str] | None = None
) -> tuple[float, float, int, float, float]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        child = context.Process(target=_run, args=(esp, count, url, out))
        child.start()
        result = out.get(timeout=3600)
        child.join()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return result  # type: ignore[no-any-return]


def _row(
    path: str, count: int, runs: list[tuple[float, float, int, float, float]]
) -> tuple[str, ...]:
    seconds = statistics.median(r[0] for r in runs)
    whole = statistics.median(r[1] for r in runs)
    return (
        path,
        f"{count:,}",
        f"{count / seconds:,.0f}",
        f"{runs[0][2] / seconds:,.1f}",
        f"{statistics.median(r[3] for r in runs):.0f}",
        f"{count / whole:,.0f}",
        f"{statistics.median(r[4] for r in runs):.1f}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ses-recipients", type=int, default=5_000)
    parser.add_argument("--smtp-recipients", type=int, default=10_000)
    args = parser.parse_args()

    port = _free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(port, ready), daemon=True)
    server.start()
    ready.wait(10)
    url = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, ...]] = []
    try:
        for esp in ("sendgrid", "postmark", "mailgun"):
            for count in (args.recipients // 10, args.recipients):
                runs = [measure(esp, count, url) for _ in range(args.runs)]
                rows.append(_row(esp, count, runs))
    finally:
        server.kill()

    sys.path.insert(0, str(REPO / "tests"))
    from esp_engines import AWS_ENV, moto_server, ses_client

    with moto_server(max_send_rate=1e6) as endpoint:  # moto's own quota is 1 a second
        ses_client(endpoint).verify_email_identity(EmailAddress="newsletter@gzeromedia.com")
        env = {**AWS_ENV, "AWS_ENDPOINT_URL": endpoint}
        runs = [measure("ses", args.ses_recipients, url, env) for _ in range(args.runs)]
        rows.append(_row("ses (moto)", args.ses_recipients, runs))

    import send as smtp_bench  # bench/send.py, beside this file

    from newsletter.mail.message import MessageTemplate
    from newsletter.pipeline.stages import build_issue
    from newsletter.workspace import load_workspace

    ws = load_workspace(REPO)
    artifact = build_issue(EXAMPLE, ws).artifact
    assert artifact is not None
    template = MessageTemplate(artifact.email, ws.settings)
    people = smtp_bench.recipients(args.smtp_recipients)
    sink_port, sinks = smtp_bench.start_sink(2, "minimal")
    try:
        rates = [smtp_bench.send(ws, template, people, sink_port, 4)[0] for _ in range(args.runs)]
    finally:
        for sink in sinks:
            sink.kill()
    rows.append(
        (
            "smtp, minimal sink, 4 connections",
            f"{args.smtp_recipients:,}",
            f"{statistics.median(rates):,.0f}",
            "",
            "",
            "",
            "",
        )
    )

    print(
        f"median of {args.runs} runs; target >= 20,000 recipients/s to a loopback API server, "
        "max RSS within 1.5x from 10x the list\n(recipients/s: the send; whole/s: the whole "
        "command, with the build, reading the list and the journal; CPU s: of the whole command's "
        "process, which a busy machine slows far less than the clock)\n"
    )
    header = ("path", "recipients", "recipients/s", "batches/s", "max RSS MB", "whole/s", "CPU s")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(
        "  ".join(
            f"{h:<{w}}" if i == 0 else f"{h:>{w}}"
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(
            "  ".join(
                f"{v!s:<{w}}" if i == 0 else f"{v!s:>{w}}"
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )


if __name__ == "__main__":
    main()
