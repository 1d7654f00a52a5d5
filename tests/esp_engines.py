"""The ESPs' template engines, for the export tests (imported by them).

- :func:`mustachio`: Postmark's engine, Mustachio, rendered by exactly the rules of its source
  (ActiveCampaign/mustachio ``Tokenizer.cs``, ``Parser.cs``, ``ContextObject.cs``), where they
  differ from spec Mustache: a section renders with the *value* as its whole scope (there is no
  context stack to fall back on: ``{{ name }}`` inside ``{{#name}}`` looks for ``name`` in the
  string and prints nothing), ``{{ . }}`` is the scope itself, ``../`` climbs one scope, a tag
  holds no brace, a path holds only word characters, ``.``, ``/`` and ``_`` (anything else
  fails the whole template), values are escaped as .NET's ``HttpUtility.HtmlEncode`` escapes
  them, and no whitespace is stripped around standalone tags. Postmark's own
  ``{{{ pm:unsubscribe }}}`` is a token expander here, as in Postmark.
- :class:`Handlebars`: handlebars.js 4.x itself, run under node (SendGrid's and Mailgun's
  engine), installed from npm into ``.cache/node`` the first time.
- :class:`MotoSES`: moto's SES in server mode on 127.0.0.1, whose ``TestRenderTemplate`` is
  moto's renderer of SES templates.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

# --- Mustachio ---------------------------------------------------------------------------

_TOKEN = re.compile(r"(\{\{[^{}]+?\}\})|(\{\{\{[^{}]+?\}\}\})")
_BAD_PATH = re.compile(r"([.]{3,})|([^\w./_]+)|((?<![.]{2})[/])|([.]{2,}($|[^/]))")
_PATH_PART = re.compile(r"(\.\.[\\/]{1})|([^.]+)")


class MustachioError(Exception):
    """What Mustachio's tokenizer refuses (Postmark refuses the template)."""


@dataclass
class _Node:
    kind: str  # content, escaped, unescaped, section, inverted, each, custom
    value: str
    children: list[_Node] = field(default_factory=list)


@dataclass
class _Context:
    value: Any
    parent: _Context | None = None

    def path(self, path: str) -> _Context:
        return self._walk([m[0] for m in _PATH_PART.finditer(path)])

    def _walk(self, elements: list[str]) -> _Context:
        if not elements:
            return self
        element, rest = elements[0], elements[1:]
        if element.startswith(".."):
            return (self.parent or self)._walk(rest)
        if element == "?":
            return _Context(self.value, self)
        value = self.value.get(element) if isinstance(self.value, Mapping) else None
        return _Context(value, self)._walk(rest)

    def exists(self) -> bool:
        value = self.value
        if value is None or value is False or value == 0 or value == "":
            return False
        return not (isinstance(value, list | tuple) and not value)


def _html_encode(text: str) -> str:
    """.NET's ``HttpUtility.HtmlEncode``."""
    out = []
    for char in text:
        if char in "<>\"&'":
            out.append({"<": "&lt;", ">": "&gt;", '"': "&quot;", "&": "&amp;", "'": "&#39;"}[char])
        elif 160 <= ord(char) <= 255:
            out.append(f"&#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _validated(token: str) -> str:
    token = token.strip()
    if _BAD_PATH.search(token):
        raise MustachioError(f"The path '{token}' is not valid.")
    return token


def _tokenize(template: str, expanders: Mapping[str, str]) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    scopes: list[str] = []
    index = 0
    for match in _TOKEN.finditer(template):
        if match.start() > index:
            tokens.append(("content", template[index : match.start()]))
        tag = match[0]
        index = match.end()
        if tag in expanders:
            tokens.append(("custom", tag))
        elif tag.startswith("{{#each"):
            scopes.append(tag)
            name = tag.strip("{}").lstrip("#").strip()[4:]
            if not name.startswith(" ") or not name.strip():
                raise MustachioError("each needs a path")
            tokens.append(("each", _validated(name)))
        elif tag.startswith("{{/each"):
            if tag != "{{/each}}" or not scopes or not scopes[-1].startswith("{{#each"):
                raise MustachioError("mismatched each")
            scopes.pop()
            tokens.append(("close", "each"))
        elif tag.startswith(("{{#", "{{^")):
            name = tag.strip("{}")[1:].strip()
            if scopes and scopes[-1] == name:
                tokens.append(("close", _validated(name)))
            else:
                scopes.append(name)
            tokens.append(("section" if tag[2] == "#" else "inverted", _validated(name)))
        elif tag.startswith("{{/"):
            name = tag.strip("{}").lstrip("/").strip()
            if not scopes or scopes[-1] != name:
                raise MustachioError("It appears that open and closing elements are mismatched.")
            scopes.pop()
            tokens.append(("close", _validated(name)))
        elif tag.startswith(("{{{", "{{&")):
            tokens.append(("unescaped", _validated(tag.strip("{}").lstrip("&"))))
        elif tag.startswith("{{!"):
            pass
        else:
            tokens.append(("escaped", _validated(tag.strip("{}"))))
    if index < len(template):
        tokens.append(("content", template[index:]))
    if scopes:
        raise MustachioError(f"A scope block was opened but not closed: {scopes}")
    return tokens


def _parse(tokens: list[tuple[str, str]]) -> list[_Node]:
    nodes: list[_Node] = []
    while tokens:
        kind, value = tokens.pop(0)
        if kind == "close":
            return nodes
        node = _Node(kind, value)
        if kind in ("section", "inverted", "each"):
            node.children = _parse(tokens)
        nodes.append(node)
    return nodes


def _render(nodes: list[_Node], context: _Context, expanders: Mapping[str, str]) -> str:
    out: list[str] = []
    for node in nodes:
        if node.kind == "content":
            out.append(node.value)
        elif node.kind == "custom":
            out.append(expanders[node.value])
        elif node.kind in ("escaped", "unescaped"):
            found = context.path(node.value)
            if found.value is not None:
                text = _text(found.value)
                out.append(_html_encode(text) if node.kind == "escaped" else text)
        elif node.kind == "section":
            found = context.path(node.value)
            if found.exists():
                out.append(_render(node.children, found, expanders))
        elif node.kind == "inverted":
            found = context.path(node.value)
            if not found.exists():
                out.append(_render(node.children, found, expanders))
        else:  # each
            found = context.path(node.value)
            if not found.exists():
                continue
            if not isinstance(found.value, list | tuple):
                raise MustachioError(f"'{node.value}' is used like an array")
            for item in found.value:
                out.append(_render(node.children, _Context(item, found), expanders))
    return "".join(out)


def mustachio(template: str, model: Mapping[str, Any], unsubscribe: str = "") -> str:
    """``template`` rendered with ``model`` as Postmark renders it (``unsubscribe`` fills
    ``{{{ pm:unsubscribe }}}``)."""
    expanders = {"{{{ pm:unsubscribe }}}": unsubscribe}
    return _render(_parse(_tokenize(template, expanders)), _Context(dict(model)), expanders)


# --- handlebars.js under node -------------------------------------------------------------

_NODE_DIR = REPO / ".cache" / "node"

_RENDER_JS = r"""
const Handlebars = require(process.argv[process.argv.length - 1]);
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map(({ template, data }) => {
    try {
      return { ok: Handlebars.compile(template)(data) };
    } catch (error) {
      return { error: String(error.message) };
    }
  });
  process.stdout.write(JSON.stringify({ version: Handlebars.VERSION, out }));
});
"""


class HandlebarsError(Exception):
    """handlebars.js refused a template."""


class Handlebars:
    """handlebars.js 4.x, one node process per batch of renders."""

    def __init__(self) -> None:
        node = shutil.which("node")
        npm = shutil.which("npm")
        if node is None or npm is None:
            pytest.skip("node and npm are not installed: the Handlebars exports are not rendered")
        self.node = node
        package = _NODE_DIR / "node_modules" / "handlebars"
        _NODE_DIR.mkdir(parents=True, exist_ok=True)
        with open(_NODE_DIR / ".lock", "w") as lock:  # two test workers install once
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (package / "package.json").exists():
                subprocess.run(
                    [
                        npm,
                        "install",
                        "--prefix",
                        str(_NODE_DIR),
                        "--no-audit",
                        "--no-fund",
                        "--silent",
                        "handlebars@4",
                    ],
                    check=True,
                    capture_output=True,
                    timeout=300,
                )
        self.package = package
        self.version = ""

    def render_many(self, jobs: list[tuple[str, Mapping[str, Any]]]) -> list[str | HandlebarsError]:
        payload = json.dumps([{"template": t, "data": dict(d)} for t, d in jobs])
        done = subprocess.run(
            [self.node, "-e", _RENDER_JS, str(self.package)],
            input=payload,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        result = json.loads(done.stdout)
        self.version = result["version"]
        return [r["ok"] if "ok" in r else HandlebarsError(r["error"]) for r in result["out"]]

    def render(self, template: str, data: Mapping[str, Any]) -> str:
        (out,) = self.render_many([(template, data)])
        if isinstance(out, HandlebarsError):
            raise out
        return out


# --- moto's SES in server mode ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def moto_server(max_send_rate: float | None = None) -> Iterator[str]:
    """A moto server on 127.0.0.1 in its own process, with the SES v2 calls it lacks
    (``tests/moto_sesv2.py``); yields its endpoint URL. ``max_send_rate`` is the SES quota its
    ``GetAccount`` reports (moto's own, 1 a second, without it)."""
    port = free_port()
    env = dict(os.environ)
    if max_send_rate is not None:
        env["MOTO_SES_MAX_SEND_RATE"] = str(max_send_rate)
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "moto_sesv2.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def ses_client(endpoint: str, service: str = "ses") -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class MotoSES:
    """moto's SES renderer: a template created once, rendered per subscriber."""

    def __init__(self, endpoint: str) -> None:
        self.client = ses_client(endpoint)

    def create(self, name: str, content: Mapping[str, str]) -> None:
        self.client.create_template(
            Template={
                "TemplateName": name,
                "SubjectPart": content["Subject"],
                "HtmlPart": content["Html"],
                "TextPart": content["Text"],
            }
        )

    def render(self, name: str, data: Mapping[str, str]) -> Rendered:
        answer = self.client.test_render_template(TemplateName=name, TemplateData=json.dumps(data))
        message = message_from_string(answer["RenderedTemplate"], policy=policy.default)
        assert isinstance(message, EmailMessage)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert text is not None and html is not None
        return Rendered(str(message["Subject"]), str(text.get_content()), str(html.get_content()))


def reset_moto(endpoint: str) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))


__all__ = [
    "AWS_ENV",
    "Handlebars",
    "HandlebarsError",
    "MotoSES",
    "MustachioError",
    "Rendered",
    "free_port",
    "moto_server",
    "mustachio",
    "reset_moto",
    "ses_client",
]
