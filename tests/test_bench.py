"""``bench/batch.py`` still runs: a change to ``build``'s options or to how it exits that would
break the benchmark shows here, not on the day its table is needed. The sizes are tiny; what
the benchmark measures is for running it by hand (it is never timed here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    assert lines[-3].startswith("12 issues: 1 -> 2 jobs ")
    assert "nothing changed, the next build: " in lines[-3]
    assert lines[-2].startswith(
        "From scratch (the first build of the new 12-issue workspace, the parse cache empty), "
        "on 2 jobs: "
    )
    assert lines[-1].startswith("Floor (each issue's MJML through MRML and css-inline into ")
