"""``build`` when things go wrong around it: its parent killed mid-way, an out/ it cannot write."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from newsletter.commands.output import replace_folder, stage_folder, swap_in

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


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_write_leaves_nothing_the_next_one_does_not_clear(tmp_path: Path) -> None:
    """What a build killed mid-way leaves (its hidden staging folder, holding the export/ it
    had moved out) is cleared by the next build, the export put back; a staging folder of a
    process that still runs is another build's, and left alone."""
    out = tmp_path / "out"
    folder = out / "issue"
    folder.mkdir(parents=True)  # the old build's folder, as a killed build leaves it
    (folder / "email.html").write_bytes(b"old")
    dead = _dead_pid()
    abandoned = out / f".issue.new-{dead}-abc"
    (abandoned / "export" / "sendgrid").mkdir(parents=True)
    (abandoned / "export" / "sendgrid" / "template.html").write_bytes(b"exported")
    (abandoned / "email.html").write_bytes(b"half")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        busy = out / f".issue.new-{live.pid}-def"
        busy.mkdir()
        try:
            replace_folder(folder, {"email.html": b"new"}, keep=["export"])
            assert sorted(p.name for p in out.iterdir()) == [busy.name, "issue"]
        finally:
            live.kill()
    assert (folder / "email.html").read_bytes() == b"new"
    assert (folder / "export" / "sendgrid" / "template.html").read_bytes() == b"exported"


def test_a_write_clears_only_what_was_left_behind_for_its_own_folder(tmp_path: Path) -> None:
    """A staging folder is filed under the folder it was for by the last ``.new-`` in its
    name, so the dotted slug ``a.b`` (``.a.b.new-<pid>-...``) is never taken for ``a``'s."""
    out = tmp_path / "out"
    dead = _dead_pid()
    theirs = out / f".a.b.new-{dead}-x"
    theirs.mkdir(parents=True)
    (out / "a").mkdir()
    replace_folder(out / "a", {"email.html": b"a"})
    assert theirs.is_dir()
    replace_folder(out / "a.b", {"email.html": b"a.b"})
    assert sorted(p.name for p in out.iterdir()) == ["a", "a.b"]


def test_a_new_output_folder_is_an_ordinary_folder(tmp_path: Path) -> None:
    """A folder written from nothing (no spare to reuse) has the mode the umask gives any
    folder, as one made by hand would, never a temporary folder's 0700."""
    umask = os.umask(0o022)
    os.umask(umask)
    folder = tmp_path / "out" / "issue"
    stage_and_swap(folder, {"email.html": b"new"})
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask


def test_a_write_killed_between_its_two_renames_gets_the_old_folder_back(tmp_path: Path) -> None:
    """Where the system cannot swap two folders in one step, a kill between the renames leaves
    the old folder parked: the next write takes its export/ from there."""
    out = tmp_path / "out"
    parked = out / f".issue.old-{_dead_pid()}-abc" / "issue"
    (parked / "export").mkdir(parents=True)
    (parked / "export" / "campaign.json").write_bytes(b"{}")
    (parked / "email.html").write_bytes(b"old")
    replace_folder(out / "issue", {"email.html": b"new"}, keep=["export"])
    assert sorted(p.name for p in out.iterdir()) == ["issue"]
    assert (out / "issue" / "export" / "campaign.json").read_bytes() == b"{}"
    assert (out / "issue" / "email.html").read_bytes() == b"new"


def test_a_rebuild_writes_over_the_folder_the_last_one_put_aside(tmp_path: Path) -> None:
    """Freeing a file's blocks is what costs (4 ms a file on a disk mounted ``discard``): the
    second rebuild writes into the files of the folder the first one replaced, and nothing
    of the spare shows in the folder but what this build wrote."""
    folder = tmp_path / "out" / "issue"
    write = partial(stage_and_swap, folder)
    write({"email.html": b"one", "old.txt": b"gone next time"})
    write({"email.html": b"two"})  # the first folder is now the spare
    spare = tmp_path / "out" / ".issue.spare"
    kept = (spare / "email.html").stat().st_ino
    write({"email.html": b"three, longer than the rest"})
    assert (folder / "email.html").stat().st_ino == kept  # the same file, written over
    assert sorted(p.name for p in folder.iterdir()) == ["email.html"]
    assert (folder / "email.html").read_bytes() == b"three, longer than the rest"
    write({"email.html": b"4"})
    assert (folder / "email.html").read_bytes() == b"4"  # cut to its new length


def test_a_spare_is_never_written_through_a_link(tmp_path: Path) -> None:
    """out/ is the tool's, but a spare, or a file in it, that is a symbolic link or has
    another name elsewhere must not let a build write outside it."""
    folder = tmp_path / "out" / "issue"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "email.html").write_bytes(b"precious")
    (outside / "hard.txt").write_bytes(b"precious too")
    spare = tmp_path / "out" / ".issue.spare"
    spare.parent.mkdir()
    spare.symlink_to(outside)
    stage_and_swap(folder, {"email.html": b"new"})
    assert (outside / "email.html").read_bytes() == b"precious"
    stage_and_swap(folder, {"email.html": b"newer"})  # the folder it replaced is the spare
    assert not spare.is_symlink()
    (spare / "email.html").unlink()
    (spare / "email.html").symlink_to(outside / "email.html")
    os.link(outside / "hard.txt", spare / "hard.txt")
    stage_and_swap(folder, {"email.html": b"newest", "hard.txt": b"mine"})
    assert (outside / "email.html").read_bytes() == b"precious"
    assert (outside / "hard.txt").read_bytes() == b"precious too"
    assert (folder / "hard.txt").read_bytes() == b"mine"
    assert not (folder / "email.html").is_symlink()


def stage_and_swap(folder: Path, files: dict[str, bytes]) -> None:
    """What ``build`` does with one issue's files."""
    swap_in(folder, stage_folder(folder, files, flush=False, reuse=True), spare=True)
