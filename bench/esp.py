"""How fast a list send goes through the ESPs' bulk APIs, to loopback servers.

    python bench/esp.py [--recipients N] [--runs N] [--ses-recipients N]

Each send is the real path minus the network: merge values per recipient, the ESP's transport
(httpx or boto3) building each batch's request, the journal committed twice per batch, against
a minimal HTTP/1.1 server in another process that answers like the ESP (SendGrid 202,
Postmark one result per message, Mailgun one id) and is as cheap as a server can be; SES goes
to moto in server mode, which is far slower than SES and the limit there. Each run is a fresh
process, so that its peak memory (max RSS) is its own: compare it across list sizes to see
whether memory stays flat. The SMTP path to bench/send.py's minimal sink runs on the same
machine for comparison. Targets from the ESP issue: at least 20,000 recipients/s to a loopback
API server, memory flat in list size.

Prints a table of medians (these machines are shared and noisy: compare numbers from one run,
not across runs).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
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


def _run(esp: str, count: int, url: str, out: Any) -> None:
    """One whole send in this (fresh) process; puts (seconds, batches, max RSS in MB)."""
    from newsletter.delivery.batches import deliver_batches
    from newsletter.delivery.esp import transport
    from newsletter.delivery.journal import Journal
    from newsletter.delivery.plan import list_deliveries
    from newsletter.delivery.recipients import Recipient
    from newsletter.pipeline.stages import build_issue
    from newsletter.workspace import load_workspace

    ws = load_workspace(REPO)
    table = ws.settings.esp
    settings = ws.settings.model_copy(
        update={
            "esp": table.model_copy(
                update={
                    "postmark": table.postmark.model_copy(update={"api_url": url}),
                    "sendgrid": table.sendgrid.model_copy(
                        update={"api_url": url, "asm_group_id": 1}
                    ),
                    "mailgun": table.mailgun.model_copy(
                        update={"api_url": url, "domain": "mg.example.org"}
                    ),
                }
            )
        }
    )
    artifact = build_issue(EXAMPLE, ws).artifact
    assert artifact is not None
    people = [
        Recipient(
            f"reader{i}@example.com",
            i + 2,
            {"email": f"reader{i}@example.com", "first_name": f"Reader {i}"},
        )
        for i in range(count)
    ]
    environ = {"POSTMARK_SERVER_TOKEN": KEY, "SENDGRID_API_KEY": KEY, "MAILGUN_API_KEY": KEY}
    with tempfile.TemporaryDirectory() as folder, Journal(Path(folder) / "j.sqlite") as journal:
        journal.add("bench", (r.key for r in people))
        deliveries = list_deliveries(
            settings, "bench", people, journal.states("bench"), resend_unknown=False
        )
        sender = transport(esp, artifact, settings, REPO, environ)
        report = deliver_batches(
            deliveries,
            sender,
            issue="bench",
            journal=journal,
            rate=None,
            retries=0,
            retry_delay=0,
        )
        assert report.error is None and report.count("sent") == count, report.error
        batches = -(-count // sender.batch_size)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out.put((report.seconds, batches, rss))


def measure(
    esp: str, count: int, url: str, env: dict[str, str] | None = None
) -> tuple[float, int, float]:
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
    rows: list[tuple[str, int, str, str, str]] = []
    try:
        for esp in ("sendgrid", "postmark", "mailgun"):
            for count in (args.recipients // 10, args.recipients):
                runs = [measure(esp, count, url) for _ in range(args.runs)]
                seconds = statistics.median(r[0] for r in runs)
                rows.append(
                    (
                        esp,
                        count,
                        f"{count / seconds:,.0f}",
                        f"{runs[0][1] / seconds:,.1f}",
                        f"{statistics.median(r[2] for r in runs):.0f}",
                    )
                )
    finally:
        server.kill()

    sys.path.insert(0, str(REPO / "tests"))
    from esp_engines import AWS_ENV, moto_server, ses_client

    with moto_server() as endpoint:
        ses_client(endpoint).verify_email_identity(EmailAddress="newsletter@gzeromedia.com")
        env = {**AWS_ENV, "AWS_ENDPOINT_URL": endpoint}
        runs = [measure("ses", args.ses_recipients, url, env) for _ in range(args.runs)]
        seconds = statistics.median(r[0] for r in runs)
        rows.append(
            (
                "ses (moto)",
                args.ses_recipients,
                f"{args.ses_recipients / seconds:,.0f}",
                f"{runs[0][1] / seconds:,.1f}",
                f"{statistics.median(r[2] for r in runs):.0f}",
            )
        )

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
        rates = [smtp_bench.send(ws, template, people, sink_port, 4) for _ in range(args.runs)]
    finally:
        for sink in sinks:
            sink.kill()
    rows.append(
        (
            "smtp, minimal sink, 4 connections",
            args.smtp_recipients,
            f"{statistics.median(rates):,.0f}",
            "",
            "",
        )
    )

    print(f"median of {args.runs} runs; target >= 20,000 recipients/s to a loopback API server\n")
    header = ("path", "recipients", "recipients/s", "batches/s", "max RSS MB")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
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
