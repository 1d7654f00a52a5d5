"""``bench/batch.py`` and ``bench/ab.py`` still run: a change to ``build``'s options or to how it exits that would
break the benchmark shows here, not on the day its table is needed. The sizes are tiny; what
the benchmark measures is for running it by hand (it is never timed here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_the_batch_benchmark_prints_a_row_per_size_and_job_count() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "batch.py"), "--issues", "12", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [line.split("|")[1:-1] for line in lines if line.startswith("| ")][1:]
    assert [(cells[0].strip(), cells[1].strip()) for cells in rows] == [
        ("10", "1"),
        ("10", "2"),
        ("12", "1"),
        ("12", "2"),
    ]
    for cells in rows:  # seconds, issues a second, CPU seconds, peak RSS: all measured
        assert all(float(cell) > 0 for cell in cells[2:]), cells
    if lines[-1].startswith("Note: "):  # a disk on which new files cost more after removals
        assert "without a journal" in lines.pop()
    assert lines[-3].startswith("12 issues: 1 -> 2 jobs ")
    assert "nothing changed, the next build: " in lines[-3]
    assert lines[-2].startswith(
        "From scratch (the first build of the new 12-issue workspace, the parse cache empty; "
        "median of 1), on 2 jobs: "
    )
    assert lines[-1].startswith("Floor (each issue's MJML through MRML and css-inline into ")


def test_the_a_b_benchmark_sets_the_working_tree_beside_a_commit() -> None:
    inside = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True)
    if inside.returncode != 0:
        pytest.skip("not a git checkout: bench/ab.py compares with a commit of one")
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "ab.py"), "HEAD", "--issues", "4", "--rounds", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [cells[0].strip() for cells in rows] == ["version", "HEAD", "working tree", "ratio"]
    for cells in rows[1:3]:  # seconds and CPU seconds, from scratch and forced: all measured
        assert all(float(cell) > 0 for cell in cells[1:]), cells
    worktrees = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True, check=True
    )
    assert "/base " not in worktrees.stdout  # its worktree removed again
