"""How long the pre-send checks take: each rule warm, all of them warm, and cold in a new process.

    python bench/check.py [--runs N] [--cold N] [--instructions]

Warm is what a process that has checked an issue of the same theme pays for the next one: each
measurement is on an email the process has not seen (a copy of the example with its own number
in the subject and the body), so only what depends on the theme and the settings can have been
worked out before. Cold is a new process that has built the example without its checks (as a
cold ``newsletter build`` has by then): importing the checks, then their first run.
``--instructions`` counts the instructions of that cold share with valgrind (stable where wall
times on a shared machine are not): a build without the check stage against one with it.
Last, what a user's cold build that asks for them pays: the check stage's milliseconds in
``meta.json`` (``timings_ms.check``) after a fresh ``newsletter build --check --force`` of the
example, each in a new process with its bytecode written (``PYTHONDONTWRITEBYTECODE`` unset).

Prints tables of medians of CPU time (these machines are shared and noisy: compare numbers
from one run, not across runs). Targets from issue 15: all rules warm at most 1.2 ms; the cold
share at most 8 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = "2025-06-26-putin-poaches-the-neighbors.yaml"
#: What the rules share, worked out once per email by the context (in this order); each where
#: the code measured has it (the headers were ``message``, parsed by the email package).
SHARED = ("tree", "message", "_own_headers", "links", "images", "issue_strings", "content_urls")
VALGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def us(action: Callable[[], object]) -> float:
    """The microseconds of CPU time ``action`` takes (this thread's: time spent waiting for a
    core, most of a wall-clock sample on a busy shared machine, is not counted)."""
    started = time.thread_time()
    action()
    return (time.thread_time() - started) * 1e6


def variants(root: Path, count: int) -> list[Path]:
    """``count`` copies of the example in a copy of the workspace at ``root``, each different."""
    shutil.copytree(REPO / "issues", root / "issues")
    shutil.copytree(REPO / "assets", root / "assets")
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    text = (REPO / "issues" / EXAMPLE).read_text()
    paths = []
    for n in range(count):
        changed = re.sub(r"^subject: (.*)$", rf"subject: \1 ({n})", text, count=1, flags=re.M)
        changed = changed.replace("  body: |\n", f"  body: |\n    Issue number {n}.\n\n", 1)
        path = root / "issues" / f"2025-06-26-copy-{n:04}.yaml"
        path.write_text(changed)
        paths.append(path)
    return paths


def warm(runs: int) -> tuple[dict[str, float], int]:
    """Median microseconds of each shared step, each rule and all of them, and the HTML size."""
    from newsletter.model.artifact import Artifact
    from newsletter.pipeline.checks import RULES, run_checks
    from newsletter.pipeline.checks.context import Context
    from newsletter.pipeline.stages import UNCHECKED, build_issue
    from newsletter.workspace import load_workspace

    shared = [name for name in SHARED if hasattr(Context, name)]
    samples: dict[str, list[float]] = {name: [] for name in (*shared, *RULES, "run_checks")}
    with tempfile.TemporaryDirectory() as folder:
        paths = variants(Path(folder), 2 * runs + 1)
        workspace = load_workspace(Path(folder))

        def built(path: Path) -> Artifact:
            result = build_issue(path, workspace, stages=UNCHECKED)
            assert result.artifact is not None, result.problems
            return result.artifact

        first = built(paths[0])
        run_checks(first, workspace)  # the theme's first issue in this process
        for path in paths[1 : runs + 1]:
            context = Context(built(path), workspace)
            for name in shared:
                samples[name].append(us(lambda: getattr(context, name)))  # noqa: B023
            for rule in RULES.values():
                samples[rule.id].append(us(lambda: list(rule.run(context))))  # noqa: B023
        for path in paths[runs + 1 :]:
            artifact = built(path)
            samples["run_checks"].append(us(lambda: run_checks(artifact, workspace)))  # noqa: B023
    size = len(first.email.html.encode())
    return {name: statistics.median(values) for name, values in samples.items()}, size


def child(mode: str, frozen: bool) -> None:
    """In a new process: build the example without its checks (which imports what a build
    does before its check stage, as the stage imports the checks only when it runs), then
    import them (``import``) and run them (``checks``), printing the milliseconds of each as
    JSON."""
    from newsletter.pipeline.stages import UNCHECKED, build_issue
    from newsletter.workspace import load_workspace

    workspace = load_workspace(REPO)
    result = build_issue(REPO / "issues" / EXAMPLE, workspace, stages=UNCHECKED)
    assert result.artifact is not None, result.problems
    if frozen:
        gc.freeze()
    started = time.thread_time()
    if mode != "none":
        from newsletter.pipeline.checks import run_checks
    imported = time.thread_time()
    if mode == "checks":
        run_checks(result.artifact, workspace)
    done = time.thread_time()
    print(json.dumps({"import": (imported - started) * 1000, "first": (done - imported) * 1000}))


def cold(processes: int, frozen: bool) -> dict[str, float]:
    """Median milliseconds of importing the checks and of their first run, new processes;
    ``frozen``: with what the build made frozen (``gc.freeze``) first, so that a full
    collection of the build's objects, which falls wherever the allocations so far trip it,
    is not counted as the checks'."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, __file__, "--child", "checks", *(["--frozen"] if frozen else [])]
    subprocess.run(command, env=env, check=True, capture_output=True)  # writes the .pyc files
    runs = [
        json.loads(subprocess.run(command, env=env, check=True, capture_output=True).stdout)
        for _ in range(processes)
    ]
    found = {key: statistics.median(run[key] for run in runs) for key in ("import", "first")}
    found["total"] = statistics.median(run["import"] + run["first"] for run in runs)
    return found


def instructions(mode: str) -> int:
    """The instructions valgrind counts in a new process of ``mode`` (after one without, which
    writes any .pyc file the count should not include)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, __file__, "--child", mode]
    subprocess.run(command, env=env, check=True, capture_output=True)
    run = subprocess.run(
        [*VALGRIND, *command],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(re.findall(r"Collected : (\d+)", run.stderr)[-1])


def cold_build(processes: int) -> list[float]:
    """The check stage's milliseconds (``meta.json``) in ``processes`` fresh ``newsletter build
    --check --force`` runs of the example, in a copy of the workspace, after one that writes the
    bytecode."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        variants(root, 0)
        command = [
            str(Path(sys.executable).with_name("newsletter")),
            "build",
            "--check",
            "--force",
            "--workspace",
            str(root),
            str(root / "issues" / EXAMPLE),
        ]
        meta = root / "out" / EXAMPLE.removesuffix(".yaml") / "meta.json"
        times = []
        for _ in range(processes + 1):
            subprocess.run(command, env=env, check=True, capture_output=True)
            times.append(float(json.loads(meta.read_text())["timings_ms"]["check"]))
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="emails per warm measurement")
    parser.add_argument("--cold", type=int, default=21, help="new processes for the cold one")
    parser.add_argument("--instructions", action="store_true", help="count them with valgrind")
    parser.add_argument("--child", choices=("none", "import", "checks"), help=argparse.SUPPRESS)
    parser.add_argument("--frozen", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.frozen)
        return
    medians, size = warm(args.runs)
    print(f"Checks on copies of the example issue ({size:,} bytes of HTML)\n")
    print(f"Warm, median µs (CPU) of {args.runs} emails, each new to the process")
    print(f"| {'step':28} | {'µs':>7} |")
    print(f"|{'-' * 30}|{'-' * 9}|")
    for name in (n for n in medians if n != "run_checks"):
        label = f"shared: {name}" if name in SHARED else name
        print(f"| {label:28} | {medians[name]:7.1f} |")
    total = medians["run_checks"] / 1000
    print(f"| {'run_checks (all rules)':28} | {medians['run_checks']:7.1f} |")
    print(f"\nAll rules warm: {total:.2f} ms, {'within' if total <= 1.2 else 'OVER'} 1.2 ms.")
    times, frozen = cold(args.cold, frozen=False), cold(args.cold, frozen=True)
    print(f"\nCold, median ms (CPU) of {args.cold} new processes that built the example first")
    print(f"| {'step':28} | {'ms':>7} | {'frozen':>7} |")
    print(f"|{'-' * 30}|{'-' * 9}|{'-' * 9}|")
    for key, label in (("import", "import the checks"), ("first", "first run_checks")):
        print(f"| {label:28} | {times[key]:7.1f} | {frozen[key]:7.1f} |")
    print(f"| {'cold share in all':28} | {times['total']:7.1f} | {frozen['total']:7.1f} |")
    verdict = "within" if times["total"] <= 8 else "OVER"
    print(f"\nCold share: {times['total']:.1f} ms, {verdict} 8 ms (frozen: the build's objects")
    print(
        f"frozen first, so that no full collection of them falls in the checks: {frozen['total']:.1f} ms)."
    )
    builds = cold_build(args.cold)
    print(
        f"\nA fresh `newsletter build --check --force` of the example, {args.cold} processes: "
        f"the check stage took {statistics.median(builds):.1f} ms (median; {min(builds):.1f} to "
        f"{max(builds):.1f}), {'within' if statistics.median(builds) <= 8 else 'OVER'} 8 ms."
    )
    if args.instructions and shutil.which("valgrind"):
        counts = {mode: instructions(mode) / 1e6 for mode in ("none", "import", "checks")}
        print(
            f"Instructions (valgrind, M): a build without checks {counts['none']:,.1f}; "
            f"importing the checks {counts['import'] - counts['none']:,.1f}, their first run "
            f"{counts['checks'] - counts['import']:,.1f}, the cold share "
            f"{counts['checks'] - counts['none']:,.1f}"
        )


if __name__ == "__main__":
    main()
