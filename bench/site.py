"""How long ``newsletter site`` takes for a big archive: from scratch, and after one edit.

    python bench/site.py [--issues 1000] [--runs 3] [--inliner css-inline]

Copies of the example issue (each its own date and subject) in a temporary workspace. Prints
a table of medians of whole ``newsletter site`` commands (a new process each, as an editor
runs it) and, in one process, of its parts: building the issues (the same build_issue as
``build``, on every core), making the site's files in memory, and writing the folder. The
issue's goal: under 10 s from scratch on two cores, under 1 s when one issue changed. These
machines are shared and noisy: compare numbers from one run, not across runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsletter.commands.build import build_issues
from newsletter.commands.output import replace_folder
from newsletter.targets.web import site_files
from newsletter.workspace import load_workspace

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "issues" / "2025-06-26-putin-poaches-the-neighbors.yaml"


def workspace(root: Path, issues: int, inliner: str) -> Path:
    """A copy of the repository's workspace with ``issues`` issues in all."""
    shutil.copytree(REPO / "assets", root / "assets")
    (root / "issues").mkdir()
    config = (REPO / "newsletter.toml").read_text(encoding="utf-8")
    (root / "newsletter.toml").write_text(
        config.replace('inliner = "css-inline"', f'inliner = "{inliner}"'), encoding="utf-8"
    )
    text = EXAMPLE.read_text(encoding="utf-8")
    for n in range(issues):
        day = dt.date(2025, 6, 26) - dt.timedelta(days=n)
        copy = text.replace("date: 2025-06-26", f"date: {day.isoformat()}").replace(
            "subject: Putin poaches", f"subject: Issue {issues - n}, Putin poaches"
        )
        (root / "issues" / f"{day.isoformat()}-issue-{n:04}.yaml").write_text(copy)
    return root


def command(root: Path) -> float:
    """Seconds of one ``newsletter site`` in a new process."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "newsletter", "site", "-w", str(root)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def parts(root: Path) -> dict[str, float]:
    """Seconds of each part of a site build, in this process."""
    ws = load_workspace(root)
    started = time.perf_counter()
    results = list(build_issues(ws.issue_files(), ws))
    built = time.perf_counter()
    files = site_files([r.artifact for r in results if r.artifact], ws)
    made = time.perf_counter()
    replace_folder(root / "out" / "_site", files)
    written = time.perf_counter()
    return {"build issues": built - started, "site files": made - built, "write": written - made}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inliner", default="css-inline", choices=["premailer", "css-inline"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = workspace(Path(tmp), args.issues, args.inliner)
        scratch, incremental = [], []
        for _ in range(args.runs):
            shutil.rmtree(root / "out", ignore_errors=True)
            scratch.append(command(root))
            edited = root / "issues" / f"{dt.date(2025, 6, 26).isoformat()}-issue-0000.yaml"
            edited.write_text(edited.read_text().replace("poaches", "recruits", 1))
            incremental.append(command(root))
        samples: dict[str, list[float]] = {}
        for _ in range(args.runs):
            for name, seconds in parts(root).items():
                samples.setdefault(name, []).append(seconds)
    print(f"newsletter site, {args.issues} issues, inliner {args.inliner}, medians of {args.runs}")
    print("| what | seconds |")
    print("|---|---|")
    print(f"| from scratch (command) | {statistics.median(scratch):.2f} |")
    print(f"| one issue changed (command) | {statistics.median(incremental):.2f} |")
    for name, values in samples.items():
        print(f"| {name} (in process) | {statistics.median(values):.2f} |")


if __name__ == "__main__":
    main()
