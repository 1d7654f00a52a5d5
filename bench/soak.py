"""Kill -9 soak: does a killed and resumed list send ever double or silently lose anyone?

    python bench/soak.py [--trials 20] [--recipients 200]

For each of a slow server (it waits 20 ms before answering each final dot: the window in which
a kill leaves a message of unknown fate) and a fast one, each trial starts a real
``newsletter send --list --yes`` process, kills it with SIGKILL after a random number of
messages, and runs the same command again until it has nothing left to send. The server is the
raw-socket one of the tests (``tests/delivery_support.RawSmtp``), which records a message the
moment it has read the final dot and decided to answer 250, before it writes the answer, as a
real server commits before it answers.

Per trial it prints: how many messages the server had taken at the kill, how many the journal
flagged unknown (or left "sending" by the kill, which the next run reports as of unknown fate),
duplicates (messages beyond the first to one recipient), and missing: a
recipient the server never took although the journal says "sent" or nothing at all, i.e. lost
*silently* (a recipient flagged unknown or failed is reported, not silent). The goal is 0
duplicates and 0 silently missing in every trial. Not run in CI: a run takes minutes.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newsletter.delivery.plan import journal_path  # noqa: E402
from newsletter.workspace import load_workspace  # noqa: E402
from tests.delivery_support import (  # noqa: E402
    RawSmtp,
    Script,
    make_workspace,
    send_command,
    write_list,
)

SEND = "rate = 1000\nconnections = 2\nretries = 2\nretry_delay = 0.05"


@dataclass
class Trial:
    server: str
    at_kill: int
    unknown: int
    runs: int
    duplicates: int
    missing: int
    flagged_not_taken: int


def trial(folder: Path, *, slow: bool, recipients: int, rng: random.Random) -> Trial:
    script = Script(hang=0.02) if slow else Script()
    with RawSmtp(script) as server:
        ws = make_workspace(folder / "ws", server.toml(timeout=10), send=SEND)
        addresses = [f"r{i:04}@example.com" for i in range(recipients)]
        path = write_list(ws, [f"{a},Reader" for a in addresses])
        env = {
            **os.environ,
            "NEWSLETTER_STATE_DIR": str(folder / "state"),
            "NEWSLETTER_UNSUBSCRIBE_SECRET": "soak-secret",
        }
        command = send_command(ws, "--list", str(path), "--yes")
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        kill_after = rng.randint(1, recipients - 10)
        deadline = time.monotonic() + 120
        while server.dots < kill_after and process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.001)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        at_kill = sum(server.counts().values())
        runs = 1
        for _ in range(5):  # resume until nothing is left (deferred ones would need another)
            runs += 1
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if "nothing to send" in done.stdout or done.returncode == 0:
                break
        with sqlite3.connect(journal_path(load_workspace(ws), env)) as db:
            states = dict(db.execute("SELECT recipient, state FROM sends"))
        counts = server.counts()
    # "sending" is what a killed run left claimed: a next run with nothing left to send lists it
    # as of unknown fate without relabelling it (only a run that sends turns it into "unknown")
    flagged = {a for a, s in states.items() if s in ("sending", "unknown", "failed", "deferred")}
    return Trial(
        server="slow" if slow else "fast",
        at_kill=at_kill,
        unknown=sum(1 for s in states.values() if s in ("sending", "unknown")),
        runs=runs,
        duplicates=sum(n - 1 for n in counts.values() if n > 1),
        missing=sum(1 for a in addresses if counts[a] == 0 and a not in flagged),
        flagged_not_taken=sum(1 for a in flagged if counts[a] == 0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per server")
    parser.add_argument("--recipients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows: list[Trial] = []
    print("| trial | server | taken at kill | unknown | runs | duplicates | missing (silent) |")
    print("|---|---|---|---|---|---|---|")
    for slow in (True, False):
        for number in range(1, args.trials + 1):
            with tempfile.TemporaryDirectory() as folder:
                result = trial(Path(folder), slow=slow, recipients=args.recipients, rng=rng)
            rows.append(result)
            print(
                f"| {number} | {result.server} | {result.at_kill} | {result.unknown} | "
                f"{result.runs} | {result.duplicates} | {result.missing} |",
                flush=True,
            )
    print(
        f"\n{len(rows)} trials of {args.recipients} recipients: "
        f"{sum(r.duplicates for r in rows)} duplicates, "
        f"{sum(r.missing for r in rows)} silently missing, "
        f"{sum(r.unknown for r in rows)} flagged unknown "
        f"({sum(r.flagged_not_taken for r in rows)} of them never reached the server)"
    )


if __name__ == "__main__":
    main()
