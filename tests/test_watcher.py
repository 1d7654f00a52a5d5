"""The preview's file watcher on a real folder: a save is seen even while the watch restarts."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from newsletter.commands.preview.watcher import Watcher


def _restart_race(root: Path, issue: Path, attempt: int) -> bool:
    """Change newsletter.toml (which makes the tree watch start over) and, at once, from the
    change callback itself, save the issue: True when that save caused a change of its own."""
    calls: list[str] = []
    seen = threading.Event()

    def on_change(changed: set[Path] | None) -> None:
        calls.append("change")
        if len(calls) == 1:  # the top watch saw newsletter.toml; the tree watch restarts now
            issue.write_text(f"subject: attempt {attempt}\n")
        else:
            seen.set()

    watcher = Watcher(root, on_change)
    watcher.start()
    try:
        threading.Event().wait(0.3)  # both watches running
        config = root / "newsletter.toml"
        config.write_text(config.read_text() + f"\n# {attempt}\n")
        return seen.wait(10)
    finally:
        watcher.stop()


@pytest.mark.parametrize("attempt", range(3))
def test_a_save_during_a_restart_of_the_watch_is_seen(workspace_dir: Path, attempt: int) -> None:
    issue = workspace_dir / "issues" / "2025-06-26-putin-poaches-the-neighbors.yaml"
    assert _restart_race(workspace_dir, issue, attempt)


def test_a_symlink_loop_under_assets_does_not_stop_the_watch(workspace_dir: Path) -> None:
    os.symlink(workspace_dir / "assets", workspace_dir / "assets" / "loop")
    os.symlink("/", workspace_dir / "assets" / "root")
    seen = threading.Event()
    watcher = Watcher(workspace_dir, lambda changed: seen.set())
    watcher.start()
    try:
        threading.Event().wait(0.3)
        (workspace_dir / "issues" / "new.yaml").write_text("subject: x\n")
        assert seen.wait(10)
    finally:
        watcher.stop()
