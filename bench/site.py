"""How long ``newsletter site`` takes for a big archive: from scratch, after one edit, and
when nothing changed, on one process and on two.

    python bench/site.py [--issues 1000] [--runs 3] [--jobs 1 2]

Copies of the example issue (each its own date and subject) in a temporary workspace. Each
number is the median of whole ``newsletter site`` commands (a new process each, as an editor
runs it): "from scratch" with no ``out/`` at all, "one issue changed" after the newest
issue's subject is edited (its page, its neighbour's, the first archive page and the feeds
change), "nothing changed" run again straight after. The issue's goal: under 10 s from
scratch on two cores, under 1 s when one issue changed. These machines are shared and noisy:
compare numbers from one run, not across runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "issues" / "2025-06-26-putin-poaches-the-neighbors.yaml"


def workspace(root: Path, issues: int) -> Path:
    """A copy of the repository's workspace with ``issues`` issues in all."""
    shutil.copytree(REPO / "assets", root / "assets")
    (root / "issues").mkdir()
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    text = EXAMPLE.read_text(encoding="utf-8")
    for n in range(issues):
        day = dt.date(2025, 6, 26) - dt.timedelta(days=n)
        copy = text.replace("date: 2025-06-26", f"date: {day.isoformat()}").replace(
            "subject: Putin poaches", f"subject: Issue {issues - n}, Putin poaches"
        )
        (root / "issues" / f"{day.isoformat()}-issue-{n:04}.yaml").write_text(copy)
    return root


def command(root: Path, jobs: int) -> tuple[float, float]:
    """Seconds of one ``newsletter site`` in a new process: wall clock, and CPU time of it and
    its workers (which a busy machine changes less)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "newsletter", "site", "-w", str(root), "--jobs", str(jobs)],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def edit(root: Path, n: int) -> None:
    """Change the newest issue's subject (a new one each time)."""
    newest = root / "issues" / f"{dt.date(2025, 6, 26).isoformat()}-issue-0000.yaml"
    text = re.sub(
        r"(?m)^subject: .*$",
        f"subject: Edit {n}, Putin poaches the neighbors",
        newest.read_text(encoding="utf-8"),
        count=1,
    )
    newest.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = ("from scratch", "one issue changed", "nothing changed")
    samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
    edits = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = workspace(Path(tmp), args.issues)
        for _ in range(args.runs):
            for jobs in args.jobs:
                shutil.rmtree(root / "out", ignore_errors=True)
                samples.setdefault((rows[0], jobs), []).append(command(root, jobs))
                edits += 1
                edit(root, edits)
                samples.setdefault((rows[1], jobs), []).append(command(root, jobs))
                samples.setdefault((rows[2], jobs), []).append(command(root, jobs))
    first, last = args.jobs[0], args.jobs[-1]
    print(f"newsletter site, {args.issues} issues, medians of {args.runs}: seconds (CPU seconds)")
    print("| what | " + " | ".join(f"{j} job(s)" for j in args.jobs) + f" | {first}/{last} |")
    print("|---|" + "---|" * (len(args.jobs) + 1))
    for row in rows:
        walls = [statistics.median(w for w, _ in samples[(row, j)]) for j in args.jobs]
        cpus = [statistics.median(c for _, c in samples[(row, j)]) for j in args.jobs]
        cells = " | ".join(f"{w:.2f} ({c:.2f})" for w, c in zip(walls, cpus, strict=True))
        print(f"| {row} | {cells} | {walls[0] / walls[-1]:.2f} |")


if __name__ == "__main__":
    main()
