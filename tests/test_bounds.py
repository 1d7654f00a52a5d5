"""What an issue may be is bounded (issue 9, item 15), tested with real hostile files.

A 64 KB issue of nested emphasis used to segfault the MJML compiler (native code) and with it
``build`` and the preview server; a YAML "billion laughs" of a few hundred bytes took 53 s or
exhausted memory. Each hostile file runs through the real command in a child process, so that a
regression fails this test instead of killing the test worker.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter import NewsletterError
from newsletter.pipeline.compile import MAX_DEPTH, ChildCompiler, compile_mjml, nesting_depth
from newsletter.pipeline.load import MAX_FILE_BYTES, MAX_NESTING

from .conftest import MINIMAL

#: 463 bytes: nine levels of nine aliases each, 387 million strings once expanded.
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join(f'*{prev}' for _ in range(9))}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)
STARS = "*" * 32_000


def newsletter(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command line in a child process (a guard of 120 s only against a hang)."""
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_nested_emphasis_is_one_clear_error_not_a_segfault(workspace_dir: Path) -> None:
    path = workspace_dir / "issues" / "2025-06-26-stars.yaml"
    body = f"    A first paragraph.\n\n    {STARS}word{STARS}\n"
    path.write_text(MINIMAL.replace("    A first paragraph.\n", body), encoding="utf-8")
    assert path.stat().st_size > 64_000

    run = newsletter("build", str(path), cwd=workspace_dir)
    assert run.returncode == 1, run.stderr  # not -11 (SIGSEGV)
    assert run.stderr.splitlines() == [
        f"issues/2025-06-26-stars.yaml:10: lead.body: the Markdown nests 16001 levels deep "
        f"(emphasis inside emphasis, like a long run of * or _); at most {MAX_NESTING} are "
        "allowed: remove the extra * or _",
        "1 problem found",
    ]
    assert not (workspace_dir / "out" / "2025-06-26-stars").exists()


def test_markdown_nested_as_deep_as_allowed_still_builds(
    write_issue: object, workspace_dir: Path
) -> None:
    stars = "*" * (MAX_NESTING // 2 * 2)  # pairs of ** nest a <strong> each
    path = workspace_dir / "issues" / "2025-06-26-ok.md"
    path.write_text(
        f"---\n{MINIMAL.split('lead:')[0]}lead:\n  headline: H\n---\n{stars}ok{stars}\n"
    )
    run = newsletter("build", str(path), cwd=workspace_dir)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("suffix", [".md", ".yaml"])
def test_too_deep_a_body_is_named_at_its_line_after_blank_lines(suffix: str) -> None:
    """The body is checked as the model keeps it (stripped), so the blank lines stripped
    before its first words still count towards the line the problem names."""
    from newsletter.errors import ProblemsError
    from newsletter.pipeline.load import parse_issue

    stars = "*" * (2 * MAX_NESTING + 2)  # pairs of ** nest a <strong> each
    deep = f"{stars}word{stars}"
    front = MINIMAL.split("  body: |")[0]
    if suffix == ".md":
        text = f"---\n{front}teasers: []\n---\n\n\nFirst paragraph.\n\n{deep}\n"
    else:
        text = f"{front}  body: |\n\n\n    First paragraph.\n\n    {deep}\nteasers: []\n"
    with pytest.raises(ProblemsError) as raised:
        parse_issue(text, slug="deep", suffix=suffix)
    (problem,) = raised.value.problems
    assert problem.field == "lead.body"
    assert problem.line == next(n for n, line in enumerate(text.splitlines(), 1) if deep in line)


def test_a_yaml_alias_bomb_is_refused_before_it_expands(workspace_dir: Path) -> None:
    path = workspace_dir / "issues" / "2025-06-26-bomb.yaml"
    path.write_text(ALIAS_BOMB + "\n", encoding="utf-8")
    assert path.stat().st_size < 500

    run = newsletter("validate", str(path), cwd=workspace_dir)
    assert run.returncode == 1
    assert run.stdout.splitlines() + run.stderr.splitlines() == [
        "issues/2025-06-26-bomb.yaml:2: a YAML alias (*a) (and 71 more) repeats text from "
        "elsewhere, which issue files do not allow: write the text out in full (or put it in "
        "quotes if the * is part of it)",
        "1 problem found",
    ]


def test_an_oversized_file_is_refused_without_reading_it_all(workspace_dir: Path) -> None:
    path = workspace_dir / "issues" / "2025-06-26-huge.yaml"
    filler = "# " + "x" * 98 + "\n"
    path.write_text(MINIMAL + filler * (MAX_FILE_BYTES // len(filler) + 1), encoding="utf-8")
    run = newsletter("validate", str(path), cwd=workspace_dir)
    assert run.returncode == 1
    assert "issues/2025-06-26-huge.yaml: the file is larger than 256 KB" in run.stdout + run.stderr


def test_a_theme_nesting_too_deep_for_mrml_is_refused_before_it_runs() -> None:
    deep = "<mjml><mj-body>" + "<mj-wrapper>" * 3000 + "</mj-wrapper>" * 3000 + "</mj-body></mjml>"
    assert nesting_depth(deep) == 3002
    assert nesting_depth("<p>a<br>b<img src=x><mj-image src='x' /></p>") == 1
    with pytest.raises(NewsletterError) as caught:
        compile_mjml(deep, template="email.mjml.j2")
    assert caught.value.format_message() == (
        f"email.mjml.j2: the MJML nests 3002 elements deep, more than the {MAX_DEPTH} the MJML "
        "compiler can take"
    )


def test_a_crash_of_mrml_in_the_child_process_is_an_error_and_the_next_compile_works() -> None:
    """The real MRML, given (past every check) MJML that overflows its stack: the child dies of
    SIGSEGV, the parent raises one error, and a fresh child compiles the next email."""
    ok = "<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section></mj-body></mjml>"
    deep = "<mjml><mj-body>" + "<mj-wrapper>" * 3000 + "</mj-wrapper>" * 3000 + "</mj-body></mjml>"
    child = ChildCompiler()
    try:
        assert "Hi" in child.compile(ok)
        with pytest.raises(NewsletterError) as caught:
            child.compile(deep)
        assert caught.value.format_message() == (
            f"the MJML compiler crashed (killed by {signal.SIGSEGV.name})"
        )
        assert "Hi" in child.compile(ok)
        with pytest.raises(ValueError):  # MRML's own error comes back as it is
            child.compile("<mjml><mj-body><mj-text>x</mj-body></mjml>")
    finally:
        child.close()


def test_the_preview_compiles_in_a_child_that_can_die_without_taking_the_server(
    workspace_dir: Path,
) -> None:
    """SIGKILL the preview's compiler child: the next build starts a fresh one."""
    import http.client
    import json
    import os

    from newsletter.commands.preview import PreviewServer
    from newsletter.pipeline import compile as compile_module

    issue = "2025-06-26-putin-poaches-the-neighbors.yaml"

    def state(server: PreviewServer) -> dict[str, object]:
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", f"/_/state/{issue}")
        answer: dict[str, object] = json.loads(connection.getresponse().read())
        connection.close()
        return answer

    with PreviewServer(workspace_dir, port=0) as server:
        assert state(server)["ok"] is True
        child = compile_module._child
        assert child is not None and child._process is not None
        first = child._process.pid
        os.kill(first, signal.SIGKILL)
        child._process.wait()
        generation = server.builds.generation
        server.builds.mark_stale()
        server.builds.wait_for_change(generation, 60)
        assert state(server)["ok"] is True
        assert child._process is not None and child._process.pid != first
    assert compile_module._child is None  # the last preview stopped its child
