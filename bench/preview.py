"""How fast an edit reaches the preview: save the issue, wait for the page's news of it.

    python bench/preview.py [--runs N]

Starts the preview server on a free port over a copy of the repository's workspace, listens to
its event stream as the page does, then saves a changed headline N times and measures, from
the save: the ``build`` event (watch, debounce, rebuild of the open issue), and the state the
page then fetches showing the new headline. Prints medians and the worst run, for premailer
and css-inline. The target is under a second, save to page. The numbers include the
watcher's quiet period (``STEP_MS``), as an editor's save does.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from newsletter.commands.preview import PreviewServer

REPO = Path(__file__).resolve().parent.parent
ISSUE = "2025-06-26-putin-poaches-the-neighbors.yaml"
HEADLINE = "Putin poaches the neighbors for his Ukraine invasion"


def next_event(response: http.client.HTTPResponse) -> str:
    """The data of the next ``build`` event."""
    data = ""
    while True:
        line = response.fp.readline().decode().rstrip("\n")
        if line.startswith("data: "):
            data = line[6:]
        elif not line and data:
            return data


def measure(root: Path, runs: int) -> tuple[list[float], list[float]]:
    """Milliseconds from each save to its event, and to the page's state showing it."""
    issue = root / "issues" / ISSUE
    original = issue.read_text(encoding="utf-8")
    to_event: list[float] = []
    to_state: list[float] = []
    with PreviewServer(root, port=0) as server:
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        page = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        page.request("GET", f"/_/state/{ISSUE}")  # the page is open: its issue is built
        page.getresponse().read()
        events = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        events.request("GET", "/_/events")
        stream = events.getresponse()
        next_event(stream)
        for run in range(runs):
            headline = f"{HEADLINE} {run}"
            started = time.perf_counter()
            issue.write_text(original.replace(f"headline: {HEADLINE}", f"headline: {headline}"))
            next_event(stream)
            to_event.append((time.perf_counter() - started) * 1000)
            page.request("GET", f"/_/state/{ISSUE}")
            state = json.loads(page.getresponse().read())
            to_state.append((time.perf_counter() - started) * 1000)
            assert headline in state["text"], "the page would show an old build"
            time.sleep(0.3)  # an editor does not save 10 times a second
        events.close()
        page.close()
    return to_event, to_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print("| inliner    | save → event (median) | save → page state (median) | worst    |")
    print("|------------|-----------------------|----------------------------|----------|")
    for inliner in ("premailer", "css-inline"):
        with tempfile.TemporaryDirectory() as temp:
            root = Path(temp)
            shutil.copytree(REPO / "issues", root / "issues")
            shutil.copytree(REPO / "assets", root / "assets")
            config = (REPO / "newsletter.toml").read_text(encoding="utf-8")
            config = config.replace('inliner = "css-inline"', f'inliner = "{inliner}"')
            (root / "newsletter.toml").write_text(config, encoding="utf-8")
            to_event, to_state = measure(root, args.runs)
        print(
            f"| {inliner:<10} | {statistics.median(to_event):>18.0f} ms | "
            f"{statistics.median(to_state):>23.0f} ms | {max(to_state):>5.0f} ms |"
        )


if __name__ == "__main__":
    main()
