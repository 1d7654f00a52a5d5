"""README promises that a change could break with everything else still green: one send per
workspace at a time (two real processes), whole-folder output (a build killed while it writes),
the Markdown allow-list (nh3), and a journal that knows an issue by its content."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from lxml import html as lxml_html

from newsletter.pipeline import markdown

from .delivery_support import ISSUE, SmtpServer, journal_file, make_workspace, process_env

NEWSLETTER = str(Path(sys.executable).parent / "newsletter")


def _send(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A send as its own process, with the unsubscribe secret, the test's own state folder (where
    the journal lives), and --yes for a list send (no terminal to confirm on here)."""
    yes = ["--yes"] if "--list" in args else []
    return subprocess.run(
        [NEWSLETTER, "send", "-w", str(ws), *args, *yes],
        capture_output=True,
        text=True,
        timeout=120,
        env=process_env(ws),
    )


def test_a_second_send_in_the_same_workspace_is_refused(tmp_path: Path) -> None:
    ws = make_workspace(
        tmp_path / "ws", '[smtp]\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\n'
    )
    (ws / "list.csv").write_text("email,first_name\nann@example.com,Ann\n")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from newsletter.delivery.journal import Journal; "
            "j = Journal(Path(sys.argv[1])); print('locked', flush=True); time.sleep(60)",
            str(journal_file(ws)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        second = _send(ws, str(ws / ISSUE), "--list", str(ws / "list.csv"))
        assert second.returncode == 1
        assert "another send is running in this workspace; wait for it to end" in second.stderr
    finally:
        holder.kill()
        holder.wait()


_SLOW_WRITES = """
import sys, time
import newsletter.commands.output as output
from newsletter.cli import main
write_over = output._write_over
def slow_write(target, data, **options):  # each file of the folder being staged
    print("writing", flush=True)
    time.sleep(0.3)
    write_over(target, data, **options)
output._write_over = slow_write
sys.argv = ["newsletter", *sys.argv[1:]]
main()
"""


def _consistent(folder: Path) -> str:
    """The subject of a complete out/<slug>/, after checking its files agree with meta.json."""
    meta = json.loads((folder / "meta.json").read_text())
    for name, size in meta["sizes"].items():
        assert (folder / name).stat().st_size == size, (name, meta)
    title = lxml_html.fromstring((folder / "email.html").read_bytes()).findtext(".//title")
    assert title == meta["subject"]
    return str(meta["subject"])


def test_a_build_killed_while_writing_leaves_the_old_output_whole(tmp_path: Path) -> None:
    """The build's writes are slowed (each file's sleeps) so that SIGKILL lands in the middle of
    them; whatever the moment, out/<slug>/ is the old build or the new one, never a mix."""
    ws = make_workspace(tmp_path / "ws")
    (ws / "issues" / "2025-06-27-tricky.yaml").unlink()
    built = subprocess.run([NEWSLETTER, "build", "-w", str(ws)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    folder = ws / "out" / Path(ISSUE).stem
    issue = ws / ISSUE
    seen = {_consistent(folder)}
    for attempt in range(4):
        text = issue.read_text()
        subject = f"Edition {attempt} of the day"
        issue.write_text(
            "\n".join(
                f"subject: {subject}" if line.startswith("subject:") else line
                for line in text.splitlines()
            )
            + "\n"
        )
        process = subprocess.Popen(
            [sys.executable, "-c", _SLOW_WRITES, "build", "-w", str(ws)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        writes = 0
        while process.stdout.readline().strip() == "writing":
            writes += 1
            if writes == 1 + attempt:  # the 1st, 2nd, 3rd, 4th of the five files
                os.kill(process.pid, signal.SIGKILL)
                break
        process.wait()
        assert writes == 1 + attempt
        seen.add(_consistent(folder))
    assert len(seen) == 1  # every build was killed: the first output stands, whole
    finished = subprocess.run([NEWSLETTER, "build", "-w", str(ws)], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert _consistent(folder) == "Edition 3 of the day"
    leftovers = sorted(p.name for p in folder.parent.iterdir() if p.name.startswith("."))
    # the killed builds' staging folders are cleared; the last build put the folder it
    # replaced aside, for the next build to write over
    assert leftovers == [f".{folder.name}.spare", ".build-cache.json"]


def test_the_markdown_allow_list_strips_what_markdown_makes_but_email_must_not_hold() -> None:
    """markdown-it alone would pass each of these through; nh3's allow-list must not."""
    body = (
        "# A heading of the page's own size\n\n"
        "---\n\n"
        "    indented code\n\n"
        "[an ftp link](ftp://files.example.com/x) and [a phone](tel:+15551234)\n\n"
        "###### a sixth-level heading\n"
    )
    html = markdown.to_html(body)
    tree = lxml_html.fragment_fromstring(html, create_parent="div")
    tags = {element.tag for element in tree.iter()} - {"div"}
    assert tags <= {
        "p",
        "a",
        "em",
        "strong",
        "code",
        "ul",
        "ol",
        "li",
        "blockquote",
        "br",
        "h2",
        "h3",
        "h4",
    }, tags
    assert not tags & {"h1", "hr", "pre", "h6"}
    assert all(a.get("href") is None for a in tree.iter("a")), html
    # the words stay, the tags go; the apostrophe is set as the email sets it (smart_quotes)
    assert "A heading of the page\u2019s own size" in html


def test_a_different_issue_with_a_reused_slug_is_not_nothing_to_send(tmp_path: Path) -> None:
    with SmtpServer() as server:
        ws = make_workspace(tmp_path / "ws", server.toml())
        (ws / "list.csv").write_text("email,first_name\nann@example.com,Ann\n")
        first = _send(ws, str(ws / ISSUE), "--list", str(ws / "list.csv"))
        assert first.returncode == 0, first.stderr
        other = ws / "issues" / "2025-06-28-other.yaml"
        other.write_text(
            (ws / ISSUE).read_text().replace("subject: ", "subject: Another story, ", 1)
            + f"slug: {Path(ISSUE).stem}\n"
        )
        second = _send(ws, str(other), "--list", str(ws / "list.csv"))
        assert second.returncode == 1
        assert "nothing to send" not in second.stdout
        assert f"a different issue was sent as '{Path(ISSUE).stem}'" in second.stderr
        assert "give this one a slug of its own" in second.stderr
        assert len(server.sink.received) == 1
        again = _send(ws, str(ws / ISSUE), "--list", str(ws / "list.csv"))
        assert again.returncode == 0 and "nothing to send" in again.stdout
        assert len(server.sink.received) == 1
