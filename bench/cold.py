"""A cold ``newsletter build`` of the example beside its peers, in fresh processes.

    python bench/cold.py [--runs N]

Each round runs every row once, in turn, so that a machine busy for a while slows every row
alike; the table gives the median of each and the ratios of the medians. Issue 15's goals:
the build at most 150 ms, and at most a fifth of the best peer's cold figure (the MJML CLI's
compile alone, which needs no theme, no checks and writes one file). The peers run where npm
is: MJML 4 is the reference compiler the tests use (.venv/mjml, from ./scripts/test), MJML 5
the current release, which this script installs into .venv/mjml5 the first time. "floor" is
a Python process that only reads the example's MJML, runs MRML and css-inline, and writes
five files: what no build can go under; "floor + click, jinja2" the same process importing
the command line's and the theme's libraries too, which the product is built on: what no
build with them can go under, whatever else it does. "caches empty" is the build with
nothing kept from an earlier one (no parse cache, no compiled templates): a machine's first
build. Where valgrind is, the build's instructions are counted too, a figure that does not
move with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compose import EXAMPLE, mjml_cli, workspace_copy

#: What the floor's process does: the example's MJML to five files, and nothing else.
FLOOR = """\
import sys
import css_inline, mjml
source = open(sys.argv[1], encoding="utf-8").read()
html = css_inline.inline(mjml.mjml2html(source))
for name in ("email.html", "email.txt", "email.mjml", "message.eml", "meta.json"):
    with open(sys.argv[2] + "/" + name, "w", encoding="utf-8") as out:
        out.write(html)
"""

#: The libraries every build imports whatever it does: the command line's and the theme's.
LIBRARIES = "import click, jinja2\n"
#: The row of the floor with them imported.
BOUND = "floor + click, jinja2 imported"


def instructions(args: list[str], cwd: Path, env: dict[str, str]) -> int | None:
    """Instructions the whole process ran, counted by valgrind; ``None`` without valgrind."""
    if not shutil.which("valgrind"):
        return None
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    return int(found.group(1)) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds (each row once per round)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root = workspace_copy(base / "workspace", "css-inline")
        exe = str(Path(sys.executable).parent / "newsletter")
        issue = str(root / "issues" / EXAMPLE.name)
        # As on an editor's machine: bytecode kept, and the parse cache of its own (not one
        # shared with the tests), filled by the build before the first round.
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env["XDG_CACHE_HOME"] = str(base / "cache")
        empty = dict(env, XDG_CACHE_HOME=str(base / "empty"))
        build = [exe, "build", "--force", issue]
        subprocess.run(build, cwd=root, env=env, check=True, capture_output=True)
        mjml = next((root / "out").glob("*/email.mjml"))
        (base / "floor").mkdir()
        rows: dict[str, tuple[list[str], dict[str, str]]] = {
            "newsletter build --force (example)": (build, env),
            "  the same, caches empty (first run)": (build, empty),
            "newsletter --help": ([exe, "--help"], env),
            "floor: MRML + css-inline + 5 files": (
                [sys.executable, "-c", FLOOR, str(mjml), str(base / "floor")],
                env,
            ),
            BOUND: ([sys.executable, "-c", LIBRARIES + FLOOR, str(mjml), str(base / "floor")], env),
        }
        for version in (4, 5):
            cli = mjml_cli(version)
            if cli is not None:
                command = [str(cli), str(mjml), "-o", str(base / f"mjml{version}.html")]
                rows[f"MJML {version} CLI, compile alone (node)"] = (command, env)
        samples: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(args.runs):
            for name, (command, environment) in rows.items():
                if environment is empty:
                    shutil.rmtree(base / "empty", ignore_errors=True)
                started = time.perf_counter()
                subprocess.run(command, cwd=root, env=environment, check=True, capture_output=True)
                samples[name].append((time.perf_counter() - started) * 1000)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        print(f"Cold processes, one of each per round: median ms of {args.runs} rounds")
        print(f"| {'command':42} | {'ms':>6} | {'min':>6} |")
        print(f"|{'-' * 44}|{'-' * 8}|{'-' * 8}|")
        for name, median in medians.items():
            print(f"| {name:42} | {median:6.1f} | {min(samples[name]):6.1f} |")
        ours = medians["newsletter build --force (example)"]
        peers = {name: ms for name, ms in medians.items() if name.startswith("MJML")}
        for name, ms in peers.items():
            print(f"build / {name.split(',')[0]}: {ours / ms:.2f}x")
        if peers:
            best = min(peers.values())
            print(f"The build takes {ours / best:.2f}x the best peer's time (issue 15: <= 0.2x).")
            bound = medians[BOUND]
            print(
                f"The floor with click and jinja2 imported alone takes {bound / best:.2f}x "
                "of it: what no build on those libraries can go under."
            )
        else:
            print("(no MJML CLI: ./scripts/test installs MJML 4 where npm is)")
        counted = instructions(build, root, env)
        if counted is not None:
            print(f"Instructions of one build (valgrind): {counted / 1e6:,.0f} M", end="")
            bound = instructions(rows[BOUND][0], root, env)
            print(f"; of the floor with click and jinja2 imported: {(bound or 0) / 1e6:,.0f} M")


if __name__ == "__main__":
    main()
