"""``newsletter diff ISSUE``: a real test send to a loopback SMTP server keeps a snapshot, the
issue is edited, and the diff names exactly what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.commands.diff import KEEP, SNAPSHOTS, save_snapshot
from newsletter.workspace import load_workspace

from .delivery_support import ISSUE, SmtpServer, make_workspace


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sent(tmp_path: Path) -> Path:
    """A workspace whose example issue had a real test send."""
    with SmtpServer() as smtp:
        root = make_workspace(tmp_path / "ws", smtp.toml())
        code, out, err = run("send", "-w", str(root), str(root / ISSUE), "--to", "ed@example.com")
        assert code == 0, out + err
        assert len(smtp.sink.messages("ed@example.com")) == 1
    return root


def test_nothing_changed_right_after_a_test_send(sent: Path) -> None:
    code, out, _ = run("diff", "putin", "-w", str(sent))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{ISSUE}: changes since the test send of ")
    assert lines[1:] == ["nothing changed"]


def test_the_diff_names_subject_links_images_and_text(sent: Path) -> None:
    issue = sent / ISSUE
    text = issue.read_text()
    edited = (
        text.replace(
            "subject: Putin poaches the neighbors for his Ukraine invasion",
            "subject: Putin poaches his neighbors",
        )
        .replace(
            "src: assets/budapest-pride.jpg", "src: https://www.gzeromedia.com/media/pride.jpg"
        )
        .replace("For many months now", "For many long months now", 1)
        .replace("/news/from-swan-lake-to-the-feed", "/news/moved-story")
    )
    assert edited.count("moved-story") == 1 and "For many long" in edited
    issue.write_text(edited)

    code, out, _ = run("diff", str(issue), "-w", str(sent), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["changed"] is True
    assert report["subject"] == [
        "Putin poaches the neighbors for his Ukraine invasion",
        "Putin poaches his neighbors",
    ]
    assert report["preheader"] is None
    assert [src.rsplit("/", 1)[-1] for src in report["images_removed"]] == ["budapest-pride.jpg"]
    assert report["images_added"] == ["https://www.gzeromedia.com/media/pride.jpg"]
    changed = report["links_changed"]
    assert changed and all("moved-story" in now for _, _, now in changed)
    assert report["links_added"] == [] and report["links_removed"] == []
    diff = report["text_diff"]
    assert diff[0].startswith("--- sent ") and diff[1] == "+++ now"
    assert any(line.startswith("-") and "For many months now" in line for line in diff[2:])
    assert any(line.startswith("+") and "For many long months now" in line for line in diff[2:])

    code, out, _ = run("diff", str(issue), "-w", str(sent))
    assert (
        "subject:\n  - Putin poaches the neighbors for his Ukraine invasion\n  + Putin poaches his neighbors"
        in out
    )
    assert "link changed: " in out and "image removed: " in out and "plain text:" in out


def test_no_test_send_yet_is_one_clear_line(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    code, _, err = run("diff", "putin", "-w", str(root))
    assert code == 1
    assert err == (
        f"error: {ISSUE}: no test send of this issue to compare with yet; send one first: "
        f"newsletter send {ISSUE} --to you@example.com\n"
    )


def test_snapshots_are_bounded_in_number_and_damaged_ones_skipped(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    workspace = load_workspace(root)
    for _ in range(KEEP + 3):
        save_snapshot(workspace, root / ISSUE)
    kept = sorted((root / SNAPSHOTS).glob("snapshot@2025-06-26-putin-poaches-the-neighbors@*.json"))
    assert len(kept) == KEEP
    kept[-1].write_text("{not json")  # the newest is damaged: the one before it is used
    code, out, _ = run("diff", "putin", "-w", str(root))
    assert code == 0 and out.splitlines()[1] == "nothing changed"
