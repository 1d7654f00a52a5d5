"""``build`` when things go wrong around it: its parent killed mid-way, an out/ it cannot write."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .delivery_support import ISSUE, make_workspace

NEWSLETTER = str(Path(sys.executable).parent / "newsletter")


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc for the worker processes")
def test_a_killed_parallel_build_leaves_no_worker_behind(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    (ws / "issues" / "2025-06-27-tricky.yaml").unlink()
    for n in range(12):
        shutil.copy(ws / ISSUE, ws / "issues" / f"2025-07-{n + 1:02}-copy.yaml")
    process = subprocess.Popen(
        [NEWSLETTER, "build", "-w", str(ws), "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = _children(process.pid)
        time.sleep(0.02)
    assert len(workers) >= 2, "the build never started its workers"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and [w for w in workers if _running(w)]:
        time.sleep(0.05)
    assert [w for w in workers if _running(w)] == []


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead process its new parent has not reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_an_out_folder_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    (ws / "out").write_text("a file where the out/ folder should be\n")  # even root fails
    result = subprocess.run(
        [NEWSLETTER, "build", "-w", str(ws), str(ws / ISSUE)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot write {ws / 'out'}"), result.stderr
    assert (ws / "out").read_text().startswith("a file where")
