"""How long the pre-send checks take on the example issue: each rule, the shared work, in all.

    python bench/check.py [--runs N]

Prints a table of medians (these machines are shared and noisy: compare numbers from one run,
not across runs). Target from the check issue: all rules on the example under 30 ms warm,
with the caniemail data loaded once per process.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from newsletter import build_issue
from newsletter.pipeline.checks import RULES, run_checks
from newsletter.pipeline.checks.clients import _index, unsupported
from newsletter.pipeline.checks.context import Context
from newsletter.workspace import load_workspace

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "issues" / "2025-06-26-putin-poaches-the-neighbors.yaml"
#: What the rules share, worked out once per email by the context (in this order).
SHARED = ("tree", "message", "links", "images", "issue_strings", "content_urls")


def ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per measurement")
    args = parser.parse_args()
    workspace = load_workspace(REPO)
    artifact = build_issue(EXAMPLE, workspace).artifact
    assert artifact is not None
    email = artifact.email

    load = ms(_index)
    index = ms(lambda: unsupported(tuple(workspace.settings.check.clients)))
    first = ms(lambda: run_checks(artifact, workspace))

    samples: dict[str, list[float]] = {name: [] for name in (*SHARED, *RULES, "run_checks")}
    for _ in range(args.runs):
        context = Context(artifact, workspace)
        for name in SHARED:
            samples[name].append(ms(partial(getattr, context, name)))
        for rule in RULES.values():
            samples[rule.id].append(ms(partial(lambda run, c: list(run(c)), rule.run, context)))
        samples["run_checks"].append(ms(lambda: run_checks(artifact, workspace)))

    print(f"Checks on the example issue ({len(email.html.encode()):,} bytes of HTML)")
    print(f"Once per process: index.json read {load:.1f} ms, support table {index:.1f} ms;")
    print(f"first run_checks in the process (cold caches) {first:.1f} ms.\n")
    print(f"Warm, median ms of {args.runs} runs")
    print(f"| {'step':28} | {'ms':>6} |")
    print(f"|{'-' * 30}|{'-' * 8}|")
    for name in (*SHARED, *RULES):
        label = f"shared: {name}" if name in SHARED else name
        print(f"| {label:28} | {statistics.median(samples[name]):6.2f} |")
    total = statistics.median(samples["run_checks"])
    print(f"| {'run_checks (all rules)':28} | {total:6.2f} |")
    verdict = "within" if total < 30 else "OVER"
    print(f"\nAll rules warm: {total:.1f} ms, {verdict} the 30 ms target.")


if __name__ == "__main__":
    main()
