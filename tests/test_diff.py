"""``newsletter diff ISSUE``: a real test send to a loopback SMTP server keeps a snapshot, the
issue is edited, and the diff names exactly what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from newsletter.cli import cli
from newsletter.commands.diff import KEEP, SNAPSHOTS, mark_changes, save_snapshot
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
    # the copy of the photo the email linked (twice its 264 px)
    (removed,) = report["images_removed"]
    assert removed.rsplit("/", 1)[-1].startswith("budapest-pride.528w.")
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


def test_the_visual_diff_marks_the_changed_regions_and_nothing_else(sent: Path) -> None:
    issue = sent / ISSUE
    text = issue.read_text()
    issue.write_text(
        text.replace(
            "  - headline: Small businesses, a big engine of global growth",
            "  - headline: Small firms, the engine of global growth",
        )
    )
    page = sent / "changes.html"
    code, out, err = run("diff", "putin", "-w", str(sent), "--html", str(page))
    assert code == 0, err
    assert f"rendered email: 1 region(s) changed (see {page})" in out
    frames = lxml_html.fromstring(page.read_text()).xpath("//iframe/@srcdoc")
    assert len(frames) == 2  # the email as sent and as it is now, side by side
    before, now = (lxml_html.document_fromstring(frame) for frame in frames)
    marked_now = [" ".join(e.text_content().split()) for e in now.xpath("//*[@data-diff]")]
    marked_before = [" ".join(e.text_content().split()) for e in before.xpath("//*[@data-diff]")]
    assert marked_now == ["Small firms, the engine of global growth"]
    assert marked_before == ["Small businesses, a big engine of global growth"]
    # shown as the sample subscriber gets it, like message.eml: no merge field left
    assert "%%" not in frames[1]


def test_a_block_pushed_down_by_a_new_one_is_not_changed() -> None:
    before = "<html><body><h1>Title</h1><p>One</p><img src='a.jpg' alt='A'><p>Two</p></body></html>"
    now = (
        "<html><body><h1>Title</h1><p>New paragraph</p><p>One</p><img src='b.jpg' alt='A'>"
        "<p>Two <a href='https://x.example/2'>more</a></p></body></html>"
    )
    old, new, regions = mark_changes(before, now)
    marks = [
        (e.tag, e.get("data-diff"))
        for e in lxml_html.document_fromstring(new).xpath("//*[@data-diff]")
    ]
    assert marks == [("p", "added"), ("img", "changed"), ("a", "added")]
    assert [
        (e.tag, e.get("data-diff"))
        for e in lxml_html.document_fromstring(old).xpath("//*[@data-diff]")
    ] == [("img", "changed")]
    assert regions == 3


def test_html_needs_a_snapshot_with_the_email(sent: Path) -> None:
    snapshot = sorted((sent / SNAPSHOTS).glob("snapshot@*.json"))[-1]
    data = json.loads(snapshot.read_text())
    del data["html"]  # as a snapshot from before the visual diff
    snapshot.write_text(json.dumps(data))
    code, out, _ = run("diff", "putin", "-w", str(sent))
    assert code == 0 and out.splitlines()[1] == "nothing changed"
    code, _, err = run("diff", "putin", "-w", str(sent), "--html", str(sent / "x.html"))
    assert code == 1
    assert err == (
        f"error: {ISSUE}: the last test send kept no copy of the email to compare with "
        "(it predates the visual diff); send a new test first\n"
    )
    assert not (sent / "x.html").exists()


def test_a_restyled_block_is_changed() -> None:
    before = "<html><body><p style='color:#111'>Same words</p><p>Other</p></body></html>"
    now = "<html><body><p style='color:#c00'>Same words</p><p>Other</p></body></html>"
    _, marked, regions = mark_changes(before, now)
    assert regions == 1
    assert [e.text for e in lxml_html.document_fromstring(marked).xpath("//*[@data-diff]")] == [
        "Same words"
    ]
