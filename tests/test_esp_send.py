"""``newsletter send ISSUE --list FILE --via ses|sendgrid|postmark|mailgun``: the ESPs' bulk
APIs behind the send journal, on real parts: SES through boto3 against moto in server mode on
127.0.0.1, and the others through httpx against loopback HTTP servers that check every request
(SendGrid's against the request schema of its published OpenAPI document; batch bounds, fields
and the key for the others) and answer with 429, 500, 4xx, per-message errors or a late answer
when told to."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from .delivery_support import (
    ISSUE,
    SLUG,
    environment,
    journal_file,
    journal_states,
    make_workspace,
    send,
)
from .esp_engines import AWS_ENV, moto_server, reset_moto, ses_client

FROM = "newsletter@gzeromedia.com"
HOSTILE = "<img src=x onerror=alert(1)> {{7*7}} *|UNSUB|*"
TOKEN = "pm-s3cr3t-token"


def write_list(ws: Path, count: int, *, hostile: str = "") -> tuple[Path, list[str]]:
    addresses = [f"r{i:04}@example.com" for i in range(count)]
    rows = ["email,first_name"] + [f"{a},R{i}" for i, a in enumerate(addresses)]
    if hostile:
        rows[1] = f'{addresses[0]},"{hostile}"'
    path = ws / "subscribers.csv"
    path.write_text("\n".join(rows) + "\n")
    return path, addresses


# --- SES -----------------------------------------------------------------------------------


#: The SES quota (``MaxSendRate``) the tests' moto reports: about 2 s for 300 recipients.
MAX_SEND_RATE = 150.0


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server(max_send_rate=MAX_SEND_RATE) as endpoint:
        yield endpoint


@pytest.fixture
def ses(moto: str, monkeypatch: pytest.MonkeyPatch) -> str:
    reset_moto(moto)
    for name, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto}.items():
        monkeypatch.setenv(name, value)
    ses_client(moto).verify_email_identity(EmailAddress=FROM)
    return moto


def ses_sent(endpoint: str) -> list[dict[str, Any]]:
    """Every destination in moto's store of sent messages, as its ``SendBulkEmail`` request
    gave it (a ``BulkEmailEntry``)."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json") as answer:
        data = json.load(answer)
    return [
        destination
        for message in data.get("ses", {}).get("TemplateMessage", [])
        for destination in message["destinations"]
    ]


def ses_counts(endpoint: str) -> Counter[str]:
    return Counter(d["Destination"]["ToAddresses"][0] for d in ses_sent(endpoint))


ESP_FAST = "[esp]\nretries = 2\nretry_delay = 0.01\n"


def test_ses_sends_the_list_in_v2_bulk_calls_of_50_with_headers_per_destination(
    tmp_path: Path, ses: str
) -> None:
    ws = make_workspace(tmp_path / "ws", ESP_FAST)
    path, addresses = write_list(ws, 120, hostile=HOSTILE)
    code, output = send(ws, "--list", str(path), "--via", "ses")
    assert code == 0, output
    assert "sent 120 of 120" in output
    assert ses_counts(ses) == Counter(addresses)  # each exactly once
    with urllib.request.urlopen(f"{ses}/moto-api/data.json") as answer:
        calls = json.load(answer)["ses"]["TemplateMessage"]
    assert [len(call["destinations"]) for call in calls] == [50, 50, 20]
    assert {call["template"] for call in calls} == {SLUG}
    entries = {d["Destination"]["ToAddresses"][0]: d for d in ses_sent(ses)}
    data = {
        to: json.loads(
            d["ReplacementEmailContent"]["ReplacementTemplate"]["ReplacementTemplateData"]
        )
        for to, d in entries.items()
    }
    hostile = data[addresses[0]]
    # SES does not escape: the HTML reads the escaped copy, the text and subject the raw value
    assert hostile["first_name"] == HOSTILE
    assert hostile["first_name_html"] == ("&lt;img src=x onerror=alert(1)&gt; {{7*7}} *|UNSUB|*")
    assert hostile["unsubscribe_url"].startswith("https://www.gzeromedia.com/newsletter/unsub")
    # each destination's own one-click unsubscribe headers, its signed link in them
    for to, entry in entries.items():
        assert entry["ReplacementHeaders"] == [
            {
                "Name": "List-Unsubscribe",
                "Value": f"<{data[to]['unsubscribe_url']}>, "
                "<mailto:unsubscribe@gzeromedia.com?subject=unsubscribe>",
            },
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        ]
    assert len({data[to]["unsubscribe_url"] for to in addresses}) == 120
    # the template made through v2, rendered by moto's SES renderer with what arrived
    rendered = ses_client(ses, "sesv2").test_render_email_template(
        TemplateName=SLUG, TemplateData=json.dumps(hostile)
    )["RenderedTemplate"]
    message = email.message_from_string(rendered, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Putin poaches the neighbors for his Ukraine invasion"
    html = message.get_body(("html",))
    assert html is not None
    assert f'href="{hostile["unsubscribe_url_html"]}"' in html.get_content()
    assert set(journal_states(ws).values()) == {"sent"}
    code, output = send(ws, "--list", str(path), "--via", "ses")
    assert code == 0 and output.startswith("nothing to send"), output
    assert sum(ses_counts(ses).values()) == 120


def test_ses_takes_its_send_rate_from_the_accounts_quota(tmp_path: Path, ses: str) -> None:
    from newsletter.delivery.esp.ses import SesTransport
    from newsletter.pipeline.stages import build_issue
    from newsletter.workspace import load_workspace

    workspace = load_workspace(make_workspace(tmp_path / "ws"))
    artifact = build_issue(workspace.root / ISSUE, workspace).artifact
    assert artifact is not None
    transport = SesTransport(artifact, workspace.settings)
    assert transport.rate is None  # not known before GetAccount
    transport.prepare()
    assert transport.rate == MAX_SEND_RATE
    transport.close()


def test_ses_refusal_stops_the_send_and_sends_nobody(tmp_path: Path, ses: str) -> None:
    ws = make_workspace(tmp_path / "ws", ESP_FAST)
    ses_client(ses).delete_identity(Identity=FROM)  # SES refuses an unverified sender
    path, _ = write_list(ws, 60)
    code, output = send(ws, "--list", str(path), "--via", "ses")
    assert code == 1
    assert output.splitlines()[-1].startswith("error: ses: send_bulk_email was refused")
    assert set(journal_states(ws).values()) == {"pending"}  # nothing of the batch was sent
    assert ses_sent(ses) == []


def test_ses_list_management_cannot_unsubscribe_a_bulk_send(tmp_path: Path, ses: str) -> None:
    ws = make_workspace(
        tmp_path / "ws", ESP_FAST + '\n[esp.ses]\nunsubscribe = "list-management"\n'
    )
    path, _ = write_list(ws, 3)
    code, output = send(ws, "--list", str(path), "--via", "ses")
    assert code == 1 and 'esp.ses.unsubscribe: "list-management" works only for' in output
    assert ses_sent(ses) == []


def test_ses_killed_send_resumes_and_everyone_gets_it_at_most_once(
    tmp_path: Path, ses: str
) -> None:
    ws = make_workspace(tmp_path / "ws", ESP_FAST)  # SES's quota paces it: about 2 s for 300
    path, addresses = write_list(ws, 300)
    command = [
        str(Path(sys.executable).parent / "newsletter"),
        "send",
        "-w",
        str(ws),
        str(ws / ISSUE),
        "--list",
        str(path),
        "--via",
        "ses",
        "--yes",
    ]
    env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL": ses, **environment(ws)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while len(ses_sent(ses)) < 100:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 100 <= len(ses_sent(ses)) < 300
    resumed = subprocess.run(command, capture_output=True, text=True, env=env)
    states = journal_states(ws)
    unknown = {a for a, state in states.items() if state == "unknown"}
    assert len(unknown) <= 50  # at most the one batch in flight at the kill
    assert resumed.returncode == (1 if unknown else 0), resumed.stdout + resumed.stderr
    counts = ses_counts(ses)
    assert all(counts[a] == 1 for a in addresses if a not in unknown), (counts, states)
    assert all(counts[a] <= 1 for a in unknown)
    assert {a for a, s in states.items() if s == "sent"} == set(addresses) - unknown
    with sqlite3.connect(journal_file(ws)) as db:
        details = {d for (d,) in db.execute("SELECT detail FROM sends WHERE state = 'unknown'")}
    assert details <= {"the send stopped during the ses API call"}, details


# --- Postmark --------------------------------------------------------------------------------


@dataclass
class Postmark:
    """What the loopback Postmark server does, and what it took."""

    #: answers to give to the next batch calls, in order: "429", "500", "slow" (answer late)
    script: list[str] = field(default_factory=list)
    #: address -> (ErrorCode, Message) for a per-message failure
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    slow: float = 0.0
    #: answers to give to the next template calls: "429"
    template_script: list[str] = field(default_factory=list)
    #: whether the message search shows what was taken (else it lags: it shows nothing yet)
    searchable: bool = True
    searches: list[dict[str, list[str]]] = field(default_factory=list)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(m["To"] for m in self.accepted)


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet loopback API handler that answers in JSON (an empty body for ``None``)."""

    def log_message(self, *_: object) -> None:
        pass

    def answer(self, code: int, body: object = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _postmark_handler(state: Postmark) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def body(self) -> Any:
            return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

        def authorised(self) -> bool:
            if self.headers.get("X-Postmark-Server-Token") != TOKEN:
                self.answer(401, {"ErrorCode": 10, "Message": "Bad or missing API token"})
                return False
            return True

        def do_GET(self) -> None:  # the message search, by a Metadata field
            if not self.authorised():
                return
            from urllib.parse import parse_qs, urlsplit

            url = urlsplit(self.path)
            assert url.path == "/messages/outbound", self.path
            query = parse_qs(url.query)
            state.searches.append(query)
            if not 1 <= int(query.get("count", ["0"])[0]) <= 500 or "offset" not in query:
                state.invalid.append(f"a search without count (1 to 500) or offset: {query}")
            wanted = {
                k[len("metadata_") :]: v[0] for k, v in query.items() if k.startswith("metadata_")
            }
            if len(wanted) != 1:
                state.invalid.append(f"a search by {len(wanted)} metadata fields")
            with state.lock:
                found = [
                    {
                        "MessageID": f"id-{i}",
                        "Recipients": [m["To"]],
                        "To": [{"Email": m["To"]}],
                        "Metadata": m.get("Metadata", {}),
                        "Status": "Sent",
                    }
                    for i, m in enumerate(state.accepted)
                    if state.searchable and wanted.items() <= m.get("Metadata", {}).items()
                ]
            self.answer(200, {"TotalCount": len(found), "Messages": found})

        def do_PUT(self) -> None:
            if not self.authorised():
                return
            if state.template_script and state.template_script.pop(0) == "429":
                self.answer(429, {"ErrorCode": 429, "Message": "Rate limit"}, {"Retry-After": "0"})
                return
            alias = self.path.rsplit("/", 1)[1]
            template = self.body()
            if alias not in state.templates:
                self.answer(404, {"ErrorCode": 1101, "Message": "Template not found"})
                return
            state.templates[alias] = template
            self.answer(200, {"TemplateId": 1, "Alias": alias})

        def do_POST(self) -> None:
            if not self.authorised():
                return
            body = self.body()
            if self.path == "/templates":
                missing = {"Name", "Alias", "Subject", "HtmlBody", "TextBody"} - set(body)
                if missing:
                    state.invalid.append(f"template without {missing}")
                state.templates[body["Alias"]] = body
                self.answer(200, {"TemplateId": 1, "Alias": body["Alias"]})
                return
            assert self.path == "/email/batchWithTemplates", self.path
            messages = body["Messages"]
            with state.lock:
                action = state.script.pop(0) if state.script else "ok"
            if action == "429":
                self.answer(429, {"ErrorCode": 429, "Message": "Rate limit"}, {"Retry-After": "0"})
                return
            if action == "500":
                self.answer(500, {"ErrorCode": 500, "Message": "Internal error"})
                return
            if not 1 <= len(messages) <= 500:
                state.invalid.append(f"a batch of {len(messages)}")
            results = []
            for message in messages:
                for key in ("From", "To", "TemplateAlias", "TemplateModel", "MessageStream"):
                    if key not in message:
                        state.invalid.append(f"a message without {key}")
                if message.get("TemplateAlias") not in state.templates:
                    state.invalid.append("a message naming no template")
                refused = state.refuse.get(message["To"])
                if refused:
                    results.append(
                        {"ErrorCode": refused[0], "Message": refused[1], "To": message["To"]}
                    )
                    continue
                with state.lock:
                    state.accepted.append(message)
                results.append(
                    {
                        "ErrorCode": 0,
                        "Message": "OK",
                        "To": message["To"],
                        "MessageID": f"id-{len(state.accepted)}",
                    }
                )
            state.batch_sizes.append(len(messages))
            if action == "slow":
                time.sleep(state.slow)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.answer(200, results)

    return Handler


@pytest.fixture
def postmark() -> Iterator[tuple[Postmark, str]]:
    state = Postmark()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _postmark_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def postmark_toml(url: str, extra: str = "") -> str:
    return f'{ESP_FAST}{extra}\n[esp.postmark]\napi_url = "{url}"\ntoken_env = "NL_PM_TOKEN"\n'


def test_postmark_batches_retries_and_per_message_failures(
    tmp_path: Path, postmark: tuple[Postmark, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = postmark
    monkeypatch.setenv("NL_PM_TOKEN", TOKEN)
    ws = make_workspace(tmp_path / "ws", postmark_toml(url))
    path, addresses = write_list(ws, 1200, hostile=HOSTILE)
    state.script = ["429", "500"]  # the first batch is throttled, then fails, then goes
    state.template_script = ["429"]  # and so is making the template
    state.refuse = {
        addresses[7]: (406, "You tried to send to a recipient that has been marked as inactive.")
    }
    code, output = send(ws, "--list", str(path), "--via", "postmark")
    assert code == 1, output
    assert "sent 1199 of 1200" in output and "1 failed" in output
    assert f"  failed   {addresses[7]}  406 You tried to send" in output
    assert state.invalid == []
    assert state.batch_sizes == [500, 500, 200]
    counts = state.counts()
    assert counts == Counter(a for a in addresses if a != addresses[7])  # each exactly once
    (template,) = state.templates.values()
    assert template["Alias"] == f"issue-{SLUG}" and "{{{ pm:unsubscribe }}}" in template["HtmlBody"]
    first = next(m for m in state.accepted if m["To"] == addresses[0])
    assert first["TemplateModel"] == {"first_name": HOSTILE, "email": addresses[0]}
    assert first["MessageStream"] == "broadcast"
    states = journal_states(ws)
    assert states[addresses[7]] == "failed" and Counter(states.values())["sent"] == 1199
    # the token went nowhere but the request header
    assert TOKEN not in output
    for file in journal_file(ws).parent.iterdir():
        assert TOKEN.encode() not in file.read_bytes()
    # a rerun sends nobody again: the refused address is final
    code, output = send(ws, "--list", str(path), "--via", "postmark")
    # nothing is sent again; the exit says some recipients were refused, and lists them
    assert code == 1 and output.startswith("nothing to send"), output
    assert "  failed   " in output
    assert state.counts() == counts


def test_postmark_timeout_is_reconciled_by_the_message_search(
    tmp_path: Path, postmark: tuple[Postmark, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = postmark
    monkeypatch.setenv("NL_PM_TOKEN", TOKEN)
    ws = make_workspace(tmp_path / "ws", postmark_toml(url, "timeout = 0.5\n"))
    path, addresses = write_list(ws, 30)
    state.refuse = {addresses[3]: (406, "inactive recipient")}  # not taken: not found either
    state.script, state.slow = ["slow"], 1.5  # took the batch, answered too late
    code, output = send(ws, "--list", str(path), "--via", "postmark")
    assert code == 1, output
    assert "sent 29 of 30" in output and "1 unknown" in output
    assert f"  unknown  {addresses[3]}  postmark: no answer from postmark" in output
    assert state.invalid == [] and len(state.searches) == 1
    (mark,) = state.searches[0]["metadata_newsletter_batch"]
    assert {m["Metadata"]["newsletter_batch"] for m in state.accepted} == {mark}
    states = journal_states(ws)
    assert states[addresses[3]] == "unknown" and Counter(states.values())["sent"] == 29
    time.sleep(state.slow)
    code, output = send(ws, "--list", str(path), "--via", "postmark")
    assert code == 1 and "1 recipient(s) of unknown fate are not sent again" in output
    assert state.counts() == Counter(a for a in addresses if a != addresses[3])  # once each


def test_postmark_timeout_is_unknown_and_not_sent_again_when_the_search_lags(
    tmp_path: Path, postmark: tuple[Postmark, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = postmark
    monkeypatch.setenv("NL_PM_TOKEN", TOKEN)
    ws = make_workspace(tmp_path / "ws", postmark_toml(url, "timeout = 0.5\n"))
    path, addresses = write_list(ws, 30)
    state.searchable = False  # the search does not show them yet
    state.script, state.slow = ["slow"], 1.5  # took the batch, answered too late
    code, output = send(ws, "--list", str(path), "--via", "postmark")
    assert code == 1, output
    assert "30 unknown" in output
    assert set(journal_states(ws).values()) == {"unknown"}
    time.sleep(state.slow)
    code, output = send(ws, "--list", str(path), "--via", "postmark")
    assert code == 1 and "30 recipient(s) of unknown fate are not sent again" in output
    assert state.counts() == Counter(addresses)  # once each, though the answer was lost


def test_postmark_without_its_token_sends_nothing(
    tmp_path: Path, postmark: tuple[Postmark, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = postmark
    monkeypatch.delenv("NL_PM_TOKEN", raising=False)
    ws = make_workspace(tmp_path / "ws", postmark_toml(url))
    path, _ = write_list(ws, 3)
    code, output = send(ws, "--list", str(path), "--via", "postmark")
    assert code == 1
    assert output.splitlines()[-1] == (
        "error: the environment variable NL_PM_TOKEN ([esp.postmark] token_env in "
        "newsletter.toml) is not set; set it to the Postmark server API token"
    )
    assert state.accepted == [] and not journal_file(ws).exists()
    monkeypatch.setenv("NL_PM_TOKEN", "wrong")
    code, output = send(ws, "--list", str(path), "--via", "postmark")
    assert code == 1 and "postmark: the template was refused: HTTP 401" in output
    assert "wrong" not in output


def test_via_is_for_list_sends_and_names_every_transport(tmp_path: Path) -> None:
    from newsletter.cli.send import VIA_NAMES
    from newsletter.delivery.esp import VIAS

    assert VIA_NAMES == VIAS
    ws = make_workspace(tmp_path / "ws")
    code, output = send(ws, "--to", "a@example.com", "--via", "ses")
    assert code == 2 and "--via is for list sends (--list)" in output


# --- SendGrid and Mailgun: one loopback server, a handler per ESP ----------------------------

#: The request body of SendGrid's ``POST /v3/mail/send`` as its published OpenAPI document
#: (twilio/sendgrid-oai) gives it: see ``tests/fixtures/sendgrid/``.
SENDGRID_MAIL_SEND = jsonschema.Draft202012Validator(
    json.loads(
        (Path(__file__).parent / "fixtures" / "sendgrid" / "mail-send.schema.json").read_text()
    ),
    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
)


@dataclass
class Api:
    """A loopback ESP API: what to answer next, and what it took."""

    key: str
    #: answers to give to the next send calls, in order: "429", "500", "400"
    script: list[str] = field(default_factory=list)
    accepted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (to, data)
    invalid: list[str] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(to for to, _ in self.accepted)

    def next(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else "ok"


def _api_handler(api: Api, esp: str) -> type[BaseHTTPRequestHandler]:
    import base64
    from urllib.parse import parse_qs, urlsplit

    class Handler(JsonHandler):
        def raw(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def authorised(self) -> bool:
            given = self.headers.get("Authorization", "")
            expected = (
                f"Bearer {api.key}"
                if esp == "sendgrid"
                else "Basic " + base64.b64encode(f"api:{api.key}".encode()).decode()
            )
            if given != expected:
                self.answer(401, {"errors": [{"message": "authorization required"}]})
                return False
            return True

        def scripted(self) -> bool:
            action = api.next()
            if action == "429":
                self.answer(429, {"message": "too many requests"}, {"Retry-After": "0"})
            elif action == "500":
                self.answer(500, {"message": "internal error"})
            elif action == "400":
                self.answer(400, {"errors": [{"message": "bad request"}]})
            return action != "ok"

        def do_GET(self) -> None:
            if not self.authorised():
                return
            assert urlsplit(self.path).path == "/v3/templates", self.path
            self.answer(200, {"result": api.templates})

        def do_POST(self) -> None:
            if not self.authorised():
                return
            path = urlsplit(self.path).path
            raw = self.raw()
            if esp == "sendgrid":
                self.sendgrid(path, json.loads(raw))
            else:
                self.mailgun(path, parse_qs(raw.decode(), keep_blank_values=True))

        def sendgrid(self, path: str, body: dict[str, Any]) -> None:
            if path == "/v3/templates":
                template = {
                    "id": f"d-{len(api.templates) + 1}",
                    "name": body["name"],
                    "generation": body["generation"],
                    "versions": [],
                }
                api.templates.append(template)
                self.answer(201, template)
                return
            if path.startswith("/v3/templates/"):
                (template,) = [t for t in api.templates if t["id"] == path.split("/")[3]]
                for key in ("name", "subject", "html_content", "plain_content"):
                    if key not in body:
                        api.invalid.append(f"a version without {key}")
                template["versions"].append({"id": "v", "name": body["name"]})
                self.answer(201, {"id": "v", "name": body["name"]})
                return
            assert path == "/v3/mail/send", path
            errors = sorted(SENDGRID_MAIL_SEND.iter_errors(body), key=lambda e: list(e.path))
            if errors:  # as SendGrid answers a body its schema refuses
                fields = [".".join(map(str, e.path)) for e in errors]
                api.invalid.extend(f"{f}: {e.message}" for f, e in zip(fields, errors, strict=True))
                self.answer(
                    400,
                    {
                        "errors": [
                            {"message": e.message, "field": f or None}
                            for f, e in zip(fields, errors, strict=True)
                        ]
                    },
                )
                return
            personalizations = body["personalizations"]
            problems = [k for k in ("template_id", "asm") if k not in body]
            if body.get("template_id") not in {t["id"] for t in api.templates}:
                problems.append("an unknown template_id")
            if problems:
                api.invalid.extend(problems)
                self.answer(400, {"errors": [{"message": str(problems)}]})
                return
            if self.scripted():
                return
            with api.lock:
                for p in personalizations:
                    api.accepted.append((p["to"][0]["email"], p["dynamic_template_data"]))
            api.batch_sizes.append(len(personalizations))
            self.answer(202, None, {"X-Message-Id": f"m{len(api.batch_sizes)}"})

        def mailgun(self, path: str, form: dict[str, list[str]]) -> None:
            assert path == "/v3/mg.example.org/messages", path
            to = form.get("to", [])
            variables = json.loads(form.get("recipient-variables", ["{}"])[0])
            if not 1 <= len(to) <= 1000 or set(variables) != set(to):
                api.invalid.append(f"a batch of {len(to)} with {len(variables)} variables")
            for key in ("from", "subject", "html", "text"):
                if key not in form:
                    api.invalid.append(f"a message without {key}")
            if self.scripted():
                return
            with api.lock:
                for address in to:
                    api.accepted.append(
                        (
                            address,
                            {
                                **variables[address],
                                "_parts": {k: form[k][0] for k in ("subject", "html", "text")},
                            },
                        )
                    )
            api.batch_sizes.append(len(to))
            self.answer(
                200,
                {"id": f"<{len(api.batch_sizes)}@mg.example.org>", "message": "Queued. Thank you."},
            )

    return Handler


@contextlib.contextmanager
def api_server(api: Api, esp: str) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _api_handler(api, esp))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_sendgrid_sends_1000_personalizations_a_call_through_its_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    api = Api("SG.s3cr3t")
    monkeypatch.setenv("NL_SG_KEY", api.key)
    with api_server(api, "sendgrid") as url:
        # SendGrid's schema takes 1,000 personalizations a call, and the server refuses 1,001
        def body(count: int) -> dict[str, Any]:
            return {
                "from": {"email": FROM},
                "template_id": "d-1",
                "asm": {"group_id": 42},
                "personalizations": [
                    {"to": [{"email": f"r{i}@example.com"}], "dynamic_template_data": {}}
                    for i in range(count)
                ],
            }

        assert SENDGRID_MAIL_SEND.is_valid(body(1000))
        assert not SENDGRID_MAIL_SEND.is_valid(body(1001))
        refused = httpx.post(
            f"{url}/v3/mail/send", json=body(1001), headers={"Authorization": f"Bearer {api.key}"}
        )
        assert refused.status_code == 400
        assert [e["field"] for e in refused.json()["errors"]] == ["personalizations"]
        assert api.invalid == [f"personalizations: {refused.json()['errors'][0]['message']}"]
        assert api.accepted == []
        api.invalid.clear()
        # and so is an address that is not one, or a send without its sender
        assert not SENDGRID_MAIL_SEND.is_valid({**body(1), "from": {"email": "newsletter"}})
        assert not SENDGRID_MAIL_SEND.is_valid({k: v for k, v in body(1).items() if k != "from"})
        toml = (
            f'{ESP_FAST}\n[esp.sendgrid]\napi_url = "{url}"\nkey_env = "NL_SG_KEY"\n'
            "asm_group_id = 42\n"
        )
        ws = make_workspace(tmp_path / "ws", toml)
        path, addresses = write_list(ws, 2001, hostile=HOSTILE)
        api.script = ["429", "500", "ok", "ok", "400"]  # the third batch is refused
        code, output = send(ws, "--list", str(path), "--via", "sendgrid")
        assert code == 1, output
        assert "sent 2000 of 2001" in output and "1 failed" in output
        assert f"  failed   {addresses[2000]}  400 HTTP 400: bad request" in output
        assert api.invalid == [] and api.batch_sizes == [1000, 1000]
        assert api.counts() == Counter(addresses[:2000])  # each exactly once
        data = dict(api.accepted)
        assert data[addresses[0]] == {"first_name": HOSTILE, "email": addresses[0]}
        assert api.key not in output
        # a rerun sends nobody again and makes no second template or version
        code, output = send(ws, "--list", str(path), "--via", "sendgrid")
        # nothing is sent again; the exit says some recipients were refused, and lists them
        assert code == 1 and output.startswith("nothing to send"), output
        assert "  failed   " in output
        (template,) = api.templates
        assert len(template["versions"]) == 1


def test_sendgrid_needs_an_unsubscribe_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", "k")
    ws = make_workspace(tmp_path / "ws")
    path, _ = write_list(ws, 2)
    code, output = send(ws, "--list", str(path), "--via", "sendgrid")
    assert code == 1
    assert "esp.sendgrid.asm_group_id: name the unsubscribe group" in output


def test_mailgun_batches_with_recipient_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    api = Api("key-s3cr3t")
    monkeypatch.setenv("NL_MG_KEY", api.key)
    tricky, slug = "issues/2025-06-27-tricky.yaml", "2025-06-27-tricky"
    with api_server(api, "mailgun") as url:
        toml = (
            f'{ESP_FAST}\n[esp.mailgun]\napi_url = "{url}"\nkey_env = "NL_MG_KEY"\n'
            'domain = "mg.example.org"\n'
        )
        ws = make_workspace(tmp_path / "ws", toml)
        path, addresses = write_list(ws, 1500, hostile=HOSTILE)
        api.script = ["429"]
        # the tricky issue holds typed tags on purpose, which the checks flag
        code, output = send(ws, "--list", str(path), "--via", "mailgun", "--force", issue=tricky)
        assert code == 0, output
        assert api.invalid == [] and api.batch_sizes == [1000, 500]
        assert api.counts() == Counter(addresses)
        assert set(journal_states(ws, slug).values()) == {"sent"}
        data = dict(api.accepted)
        hostile = data[addresses[0]]
        parts = hostile.pop("_parts")

        def substituted(text: str) -> str:  # Mailgun's %recipient.x% for this recipient
            return re.sub(r"%recipient\.(\w+)%", lambda m: hostile[m[1]], text)

        html = substituted(parts["html"])
        assert "<img src=x" not in html  # escaped: the name prints, no element appears
        assert "Hello &lt;img src=x onerror=alert(1)&gt; {{7*7}} *|UNSUB|*, this goes to" in html
        assert f"Hello {HOSTILE}, this goes to {addresses[0]}." in substituted(parts["text"])
        assert substituted(parts["subject"]).startswith(f"Hi {HOSTILE}: ")
        named = data[addresses[1]]
        assert named[next(k for k in named if k.startswith("first_name_or_"))] == "R1"
        assert api.key not in output
