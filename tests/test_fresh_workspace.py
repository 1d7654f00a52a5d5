"""A new editor's first morning: ``newsletter init``, then every command as it comes, with no
edit to what init wrote. Each must work, and none may warn about something init itself did."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .delivery_support import SmtpServer, parse

NEWSLETTER = str(Path(sys.executable).parent / "newsletter")


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NEWSLETTER, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_init_gives_a_workspace_that_builds_checks_exports_and_sends(tmp_path: Path) -> None:
    assert _run(tmp_path, "init", "letter", "--name", "The Morning").returncode == 0
    ws = tmp_path / "letter"
    built = _run(ws, "build")
    assert built.returncode == 0, built.stderr
    assert "warning:" not in built.stdout + built.stderr
    checked = _run(ws, "check", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ids = {f["id"] for f in json.loads(checked.stdout) if f["severity"] != "info"}
    assert ids <= {"placeholder"}, ids  # only what init asks the editor to fill in
    exported = _run(ws, "export", str(next((ws / "issues").iterdir())), "--all")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.count("exported ") == 6
    if not _port_free(1025):
        pytest.skip("port 1025, where init points [smtp], is taken on this machine")
    with SmtpServer(port=1025) as server:
        issue = str(next((ws / "issues").iterdir()))
        sent = _run(ws, "send", issue, "--to", "me@example.com")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        ((to, raw),) = server.sink.received
        assert to == "me@example.com"
        assert parse(raw)["Subject"].startswith("[TEST] The first issue of The Morning")
