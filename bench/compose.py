"""How long composing takes: per stage, warm in one process, cold as a command, and in bulk.

    python bench/compose.py [--runs N]

Prints tables of medians (these machines are shared and noisy: compare numbers from one run,
not across runs). Targets from issue 15: the example warm, checks included ("total" below), at
most 5 ms; one cold `newsletter build` at most 150 ms and at most a fifth of the reference MJML
CLI's compile alone (run beside it when ./scripts/test has installed it); `newsletter --help`
at most 40 ms. Many issues: bench/batch.py. (The compose issue's older targets: under 40 ms
warm with premailer, one cold build under 1 s.)
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

from newsletter.pipeline.stages import STAGES as PIPELINE
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "issues" / "2025-06-26-putin-poaches-the-neighbors.yaml"
STAGES = tuple(stage.name for stage in PIPELINE)


def workspace_copy(root: Path, inliner: str, copies: int = 0) -> Path:
    """A copy of the repository's workspace with ``inliner``, and ``copies`` more issues."""
    shutil.copytree(REPO / "issues", root / "issues")
    shutil.copytree(REPO / "assets", root / "assets")
    config = (
        (REPO / "newsletter.toml")
        .read_text()
        .replace('inliner = "css-inline"', f'inliner = "{inliner}"')
    )
    (root / "newsletter.toml").write_text(config)
    for n in range(copies - 1):
        shutil.copy(EXAMPLE, root / "issues" / f"copy-{n:03}.yaml")
    return root


def warm_stages(root: Path, runs: int) -> dict[str, float]:
    """Median milliseconds per stage (and in all) of building the example in-process, warm."""
    workspace = load_workspace(root)
    path = root / "issues" / EXAMPLE.name
    now = dt.datetime.now(dt.UTC)
    for _ in range(3):
        build_issue(path, workspace, now=now)
    samples: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "compose", "total")}
    for _ in range(runs):
        started = time.perf_counter()
        result = build_issue(path, workspace, now=now)
        samples["total"].append((time.perf_counter() - started) * 1000)
        assert result.artifact is not None, result.problems
        timings = result.artifact.timings
        for stage in STAGES:
            samples[stage].append(timings.get(stage, 0.0))
        samples["compose"].append(sum(timings.get(s, 0.0) for s in STAGES if s != "check"))
    return {stage: statistics.median(values) for stage, values in samples.items()}


def command_ms(args: list[str], cwd: Path, runs: int) -> float:
    """Median wall-clock milliseconds of running ``newsletter ARGS`` as a fresh process."""
    exe = str(Path(sys.executable).parent / "newsletter")
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([exe, *args], cwd=cwd, check=True, capture_output=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def mjml_cli(version: int) -> Path | None:
    """The MJML ``version`` CLI under .venv: MJML 4, the reference compiler the tests use
    (.venv/mjml, installed by ./scripts/test), or another release, installed from npm into
    .venv/mjml<version> the first time where npm is."""
    folder = REPO / ".venv" / ("mjml" if version == 4 else f"mjml{version}")
    cli = folder / "node_modules" / ".bin" / "mjml"
    if not cli.exists() and version != 4 and shutil.which("npm"):
        print(f"(installing mjml@{version} into {folder} for the comparison)", file=sys.stderr)
        npm = ["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--silent"]
        subprocess.run([*npm, f"mjml@{version}"], check=False, stdout=subprocess.DEVNULL)
    return cli if cli.exists() else None


def mjml_cli_ms(root: Path, runs: int) -> float | None:
    """Median milliseconds of the reference MJML compiler (MJML 4) compiling the example's
    MJML once, cold; ``None`` without it."""
    cli = mjml_cli(4)
    mjml = next((root / "out").glob("*/email.mjml"), None)
    if cli is None or mjml is None:
        return None
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(cli), str(mjml), "-o", str(root / "cli.html")], check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs per in-process measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        roots = {name: workspace_copy(base / name, name) for name in ("premailer", "css-inline")}
        stages = {name: warm_stages(root, args.runs) for name, root in roots.items()}
        print(f"Example issue, warm, in-process: median ms of {args.runs} builds")
        print(f"| {'stage':12} | {'premailer':>9} | {'css-inline':>10} |")
        print(f"|{'-' * 14}|{'-' * 11}|{'-' * 12}|")
        for stage in (*STAGES, "compose", "total"):
            print(
                f"| {stage:12} | {stages['premailer'][stage]:9.2f} | "
                f"{stages['css-inline'][stage]:10.2f} |"
            )
        ratio = stages["premailer"]["compose"] / stages["css-inline"]["compose"]
        print("compose = load to eml (what the compose targets are about); total = wall clock")
        print(f"css-inline composes {ratio:.1f}x faster than premailer in this run.\n")

        cold = 5
        print(f"Whole commands, cold processes: median ms of {cold} runs")
        print(f"| {'command':40} | {'ms':>7} |")
        print(f"|{'-' * 42}|{'-' * 9}|")
        print(f"| {'newsletter --help':40} | {command_ms(['--help'], base, cold):7.0f} |")
        builds = {}
        for name, root in roots.items():
            ms = command_ms(["build", "--force", str(root / "issues" / EXAMPLE.name)], root, cold)
            builds[name] = ms
            print(f"| {'newsletter build (example, ' + name + ')':40} | {ms:7.0f} |")
        ms = command_ms(["validate", str(EXAMPLE.name)], roots["css-inline"], cold)
        print(f"| {'newsletter validate (example)':40} | {ms:7.0f} |")
        mjml = mjml_cli_ms(roots["css-inline"], cold)
        if mjml is not None:
            print(f"| {'MJML CLI, compile alone (node)':40} | {mjml:7.0f} |")
            print(
                f"A whole cold build (css-inline) takes {builds['css-inline'] / mjml:.2f}x the "
                "time of the MJML CLI's compile alone in this run (issue 15: at most 0.2x)."
            )
        else:
            print("(no MJML CLI in .venv/mjml: ./scripts/test installs it where npm is)")

        bulk = workspace_copy(base / "bulk", "css-inline", copies=100)
        print("\n100 issues in one `newsletter build` (css-inline), median ms of 3 runs")
        print(f"| {'jobs':6} | {'ms':>7} |")
        print(f"|{'-' * 8}|{'-' * 9}|")
        results = {}
        for jobs in ("1", "2"):
            results[jobs] = command_ms(["build", "--force", "--jobs", jobs], bulk, 3)
            print(f"| {jobs:6} | {results[jobs]:7.0f} |")
        print(
            f"Two processes build {results['1'] / results['2']:.2f}x faster than one in this run."
        )


if __name__ == "__main__":
    main()
