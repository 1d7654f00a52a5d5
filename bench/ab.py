"""The working tree against an earlier commit, on the builds of bench/batch.py, side by side.

    python bench/ab.py REV [--issues 300] [--rounds 5]

A change that saves a few per cent is lost in the noise of these shared machines when two
runs of bench/batch.py are compared: here both versions run in the same minutes, round after
round, alternating (the commit checked out in a temporary git worktree, put first on
``PYTHONPATH``; the same virtual environment and libraries for both, and both compiled to
bytecode first). Each round of each version builds a new workspace of its own from scratch
(empty out/ and parse cache), then twice with ``--force``, on two jobs: the second build
also makes each folder's spare, the third is a forced rebuild as bench/batch.py's rows are.
The versions take turns at going first; the first round is not counted. Prints one table of
medians and the ratios of the two. Every round's workspaces are kept until the end (about
150 MB each at 300 issues: 1.8 GB for the default five rounds and the uncounted one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from batch import REPO, disk_note, run, workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare the working tree with (HEAD, a tag ...)")
    parser.add_argument("--issues", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base), args.rev],
            check=True,
        )
        try:
            versions = {args.rev: str(base), "working tree": str(REPO)}
            # Both compiled to bytecode first: a version that compiled its sources in every
            # process (PYTHONDONTWRITEBYTECODE, a new worktree) would start slower.
            compiled = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            for path in versions.values():
                command = [sys.executable, "-m", "compileall", "-q", f"{path}/newsletter"]
                subprocess.run(command, check=True, env=compiled)
            found: dict[str, dict[str, list[float]]] = {name: {} for name in versions}
            # A first round is not counted: the first build of all reads what no later one
            # reads from the disk. Then ABBA: whichever goes first in a round goes second in
            # the next, so that what one leaves behind (a warm page cache ...) is shared out
            # evenly.
            for round_ in range(-1, args.rounds):
                order = list(versions.items())
                for name, path in order if round_ % 2 == 0 else reversed(order):
                    # A new workspace and parse cache each time, all kept to the end: a
                    # build from scratch just after the last one's files were removed
                    # makes its own files slower (see batch.disk_note), by how many were.
                    side = "tree" if path == str(REPO) else "base"
                    own = Path(tmp) / f"round-{round_ + 1}" / side
                    root, cache = workspace(own / "ws", args.issues), own / "cache"
                    env = {"PYTHONPATH": path}
                    builds = (("scratch", []), ("second", ["--force"]), ("forced", ["--force"]))
                    for kind, extra in builds:
                        seconds, _, cpu = run(
                            ["build", "--jobs", "2", *extra], root, cache=cache, env=env
                        )
                        if round_ >= 0:
                            found[name].setdefault(f"{kind} s", []).append(seconds)
                            found[name].setdefault(f"{kind} CPU s", []).append(cpu)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=True
            )
        note = disk_note(Path(tmp))
    columns = ["scratch s", "scratch CPU s", "second s", "forced s", "forced CPU s"]
    print(
        f"{args.issues} issues on 2 jobs, from scratch, then --force twice (the second "
        f"build, and a forced rebuild): medians of {args.rounds} interleaved rounds"
    )
    print(f"| {'version':14} | " + " | ".join(f"{c:>13}" for c in columns) + " |")
    print(f"|{'-' * 16}|" + "|".join("-" * 15 for _ in columns) + "|")
    medians = {n: {c: statistics.median(found[n][c]) for c in columns} for n in found}
    for name, row in medians.items():
        print(f"| {name:14} | " + " | ".join(f"{row[c]:13.2f}" for c in columns) + " |")
    new, old = medians["working tree"], medians[args.rev]
    print(f"| {'ratio':14} | " + " | ".join(f"{new[c] / old[c]:12.3f}x" for c in columns) + " |")
    if note:
        print(f"Note: {note}")


if __name__ == "__main__":
    main()
