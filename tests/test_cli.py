"""The commands as editors run them: real files, exit codes, and exactly what they print."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import HELP_FILE, cli

from .conftest import EXAMPLE, MINIMAL, REPO


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_commands_with_a_morning_example() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for name in ("init", "new", "validate", "build"):
        assert f"  {name} " in out
    assert "newsletter build" in out
    for name in ("init", "new", "validate", "build"):
        code, out, _ = run(name, "--help")
        assert code == 0 and "Examples:" in out


#: ``newsletter --help`` as a console script runs it, and what it left in ``sys.modules``.
_CONSOLE_HELP = """\
import sys
from newsletter.cli import main
sys.argv = ["newsletter", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("click" in sys.modules, file=sys.stderr)
"""


def console_help(*args: str, columns: int) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _CONSOLE_HELP, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": str(columns)},
    )
    return done.stdout, done.stderr.strip()


def test_the_kept_help_is_what_click_writes_now() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "newsletter.cli.group"], capture_output=True, text=True, check=True
    )
    kept = Path(HELP_FILE).read_text(encoding="utf-8")
    assert done.stdout == kept, (
        "newsletter/cli/help.txt is stale: python -m newsletter.cli.group > newsletter/cli/help.txt"
    )


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help_in_a_wide_terminal_is_printed_without_loading_click(option: str) -> None:
    out, click_loaded = console_help(option, columns=120)
    assert out == Path(HELP_FILE).read_text(encoding="utf-8")
    assert click_loaded == "False"


def test_help_in_a_narrow_terminal_is_laid_out_by_click() -> None:
    out, click_loaded = console_help("--help", columns=60)
    assert click_loaded == "True"
    assert out != Path(HELP_FILE).read_text(encoding="utf-8")
    assert max(len(line) for line in out.splitlines() if line.startswith("  init")) <= 60


def test_a_command_s_help_is_still_click_s() -> None:
    out, click_loaded = console_help("build", "--help", columns=120)
    assert click_loaded == "True" and "Examples:" in out


#: The console script with a command that registers an exit handler and leaves an object
#: that says so when Python frees it, as a command's pools and module state would.
_CONSOLE_EXIT = """\
import atexit, sys
import newsletter.cli.group as group

class Freed:
    def __del__(self):
        print("freed", flush=True)

def command():
    atexit.register(print, "exit handler ran", flush=True)
    group.kept = Freed()
    print("done: all of it " * 4000)
    sys.exit(int(sys.argv[1]))

group.cli = command
from newsletter.cli import main
main()
"""


@pytest.mark.parametrize("status", [0, 1, 3])
def test_a_finished_command_skips_the_teardown_but_not_its_exit_steps(status: int) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COV")}
    done = subprocess.run(
        [sys.executable, "-c", _CONSOLE_EXIT, str(status)], capture_output=True, text=True, env=env
    )
    assert done.returncode == status
    # Every byte of a large buffered output reaches the pipe, the handler still runs after it,
    # and nothing is freed one by one at the end.
    assert done.stdout == "done: all of it " * 4000 + "\nexit handler ran\n"


def test_a_crash_still_ends_as_python_ends_it(tmp_path: Path) -> None:
    script = _CONSOLE_EXIT.replace("sys.exit(int(sys.argv[1]))", "raise RuntimeError('boom')")
    done = subprocess.run([sys.executable, "-c", script, "0"], capture_output=True, text=True)
    assert done.returncode == 1
    assert "RuntimeError: boom" in done.stderr
    assert done.stdout.endswith("exit handler ran\nfreed\n")


def test_validate_the_example(workspace_dir: Path) -> None:
    code, out, err = run("validate", "--workspace", str(workspace_dir))
    assert (code, out, err) == (0, f"issues/{EXAMPLE}.yaml: ok\n", "")


def test_validate_a_broken_issue_prints_one_line_per_problem(workspace_dir: Path) -> None:
    broken = workspace_dir / "issues" / "2025-06-27-broken.yaml"
    broken.write_text(
        MINIMAL.replace("  headline: A headline\n", "  imgae: x\n").replace(
            "2025-06-26", "tomorrow"
        )
    )
    code, out, err = run("validate", "--workspace", str(workspace_dir))
    assert code == 1
    assert out == f"issues/{EXAMPLE}.yaml: ok\n"
    assert err == (
        "issues/2025-06-27-broken.yaml:3: date: expected a date like 2025-06-26, got text 'tomorrow'\n"
        "issues/2025-06-27-broken.yaml:4: lead.headline: required field is missing\n"
        "issues/2025-06-27-broken.yaml:5: lead.imgae: unknown field (did you mean 'image'?)\n"
        "3 problems found\n"
    )


def test_validate_json(workspace_dir: Path) -> None:
    code, out, _ = run("validate", "--workspace", str(workspace_dir), "--json")
    assert code == 0
    assert json.loads(out) == [
        {"file": f"issues/{EXAMPLE}.yaml", "ok": True, "problems": [], "warnings": []}
    ]


def test_build_writes_every_output_file(workspace_dir: Path) -> None:
    code, out, err = run("build", "--workspace", str(workspace_dir))
    assert code == 0, err
    assert out.startswith(f"built out/{EXAMPLE}/  html ")
    folder = workspace_dir / "out" / EXAMPLE
    assert sorted(p.name for p in folder.iterdir()) == [
        "email.html",
        "email.mjml",
        "email.txt",
        "message.eml",
        "meta.json",
    ]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["subject"] == "Putin poaches the neighbors for his Ukraine invasion"
    assert meta["sizes"]["email.html"] == (folder / "email.html").stat().st_size
    assert set(meta["timings_ms"]) == {
        "load",
        "render",
        "compile",
        "assets",
        "utm",
        "inline",
        "text",
        "merge-fields",
        "eml",
    }
    assert "warnings" not in meta and "findings" not in meta  # the checks' business


def test_a_failed_build_leaves_the_previous_output_untouched(workspace_dir: Path) -> None:
    issue = workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    assert run("build", "--workspace", str(workspace_dir), str(issue))[0] == 0
    folder = workspace_dir / "out" / EXAMPLE
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    original = issue.read_text()
    issue.write_text(original.replace("subject: Putin", "subject: [Putin"))
    code, out, err = run("build", "--workspace", str(workspace_dir), str(issue))
    assert code == 1 and out == ""
    assert err == (
        f"issues/{EXAMPLE}.yaml:3: invalid YAML: did not find expected ',' or ']', "
        "while parsing a flow sequence that starts on line 2\n1 problem found\n"
    )
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert issue.read_text() != original  # the editor's file is never touched


def test_build_json_and_exit_code_with_one_bad_issue(workspace_dir: Path) -> None:
    (workspace_dir / "issues" / "bad.yaml").write_text("subject: only\n")
    code, out, err = run("build", "--workspace", str(workspace_dir), "--json")
    assert code == 1
    summary = json.loads(out)
    assert [entry["ok"] for entry in summary] == [True, False]
    assert summary[1]["problems"] == [
        "issues/bad.yaml: date: required field is missing",
        "issues/bad.yaml: lead: required field is missing",
    ]
    assert not (workspace_dir / "out" / "bad").exists()
    assert err.endswith("2 problems found\n")


def test_two_files_with_one_slug_are_refused(workspace_dir: Path) -> None:
    (workspace_dir / "issues" / "same.yaml").write_text(MINIMAL)
    (workspace_dir / "issues" / "same.yml").write_text(MINIMAL)
    code, _, err = run("build", "--workspace", str(workspace_dir))
    assert code == 1
    assert (
        "issues/same.yml: slug: slug 'same' is also built from issues/same.yaml; rename one" in err
    )


def test_many_issues_build_in_parallel_processes(workspace_dir: Path) -> None:
    text = (workspace_dir / "issues" / f"{EXAMPLE}.yaml").read_text()
    for n in range(6):
        (workspace_dir / "issues" / f"copy-{n}.yaml").write_text(text)
    (workspace_dir / "issues" / "copy-5.yml").write_text(text)  # the slug of copy-5.yaml
    code, out, err = run("build", "--workspace", str(workspace_dir), "--jobs", "2")
    assert code == 1
    assert "issues/copy-5.yml: slug: slug 'copy-5' is also built from issues/copy-5.yaml" in err
    out_dir = workspace_dir / "out"
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [".build-cache.json", EXAMPLE, *(f"copy-{n}" for n in range(6))]
    )  # and no folder staged for the refused one is left behind
    # the workers report in the order the issues were given, as one process does
    built = [line.split()[1] for line in out.splitlines() if line.startswith("built ")]
    assert built == [f"out/{EXAMPLE}/", *(f"out/copy-{n}/" for n in range(6))]
    emails = {p.name: (p / "email.html").read_bytes() for p in out_dir.glob("[!.]*")}
    _, serial, _ = run("build", "--workspace", str(workspace_dir), "--jobs", "1", "--force")
    assert [line.split()[1] for line in serial.splitlines() if line.startswith("built ")] == built
    assert {p.name: (p / "email.html").read_bytes() for p in out_dir.glob("[!.]*")} == emails


@pytest.mark.parametrize("command", ["build", "check"])
def test_many_issues_show_each_as_soon_as_it_is_done(workspace_dir: Path, command: str) -> None:
    """The last issue's image is a pipe nobody writes to, so its build waits for ever: the
    lines of the issues before it must be on the terminal by then, not at the end."""
    import select
    import signal

    text = (workspace_dir / "issues" / f"{EXAMPLE}.yaml").read_text()
    for n in range(2):
        (workspace_dir / "issues" / f"copy-{n}.yaml").write_text(text)
    os.mkfifo(workspace_dir / "assets" / "waits.jpg")
    waits = text.replace("assets/putin-poaches-the-neighbors.jpg", "assets/waits.jpg", 1)
    (workspace_dir / "issues" / "zz-waits.yaml").write_text(waits)
    running = subprocess.Popen(
        [sys.executable, "-m", "newsletter", command],
        cwd=workspace_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,  # each readline() reads no further than its line, so select() sees the rest
    )
    assert running.stdout is not None
    first = {"build": "built ", "check": "issues/"}[command]  # an issue's first line
    seen: list[str] = []
    try:
        while len(seen) < 3:
            ready, _, _ = select.select([running.stdout], [], [], 60)
            assert ready, f"nothing printed while the last issue waits; so far: {seen}"
            line = running.stdout.readline().decode()
            assert line, f"{command} ended early; printed: {seen}"
            if line.startswith(first):
                seen.append(line.split()[1 if command == "build" else 0].rstrip(":"))
        assert running.poll() is None  # still waiting on the last issue
    finally:
        running.send_signal(signal.SIGKILL)
        running.wait()
    names = [EXAMPLE, "copy-0", "copy-1"]
    if command == "build":
        assert seen == [f"out/{name}/" for name in names]
        assert all((workspace_dir / folder / "meta.json").is_file() for folder in seen)
    else:
        assert seen == [f"issues/{name}.yaml" for name in names]


def test_an_unchanged_issue_is_not_built_again(workspace_dir: Path) -> None:
    issue = workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    assert run("build", "--workspace", str(workspace_dir), str(issue))[0] == 0
    meta = workspace_dir / "out" / EXAMPLE / "meta.json"
    first = meta.read_bytes()
    cache = (workspace_dir / "out" / ".build-cache.json").stat()
    code, out, _ = run("build", "--workspace", str(workspace_dir), str(issue))
    assert code == 0
    assert out == f"unchanged: out/{EXAMPLE}/ (--force builds them again)\n"
    assert meta.read_bytes() == first  # not even rewritten
    # nor the cache: a file replaced is a file freed, which costs on a disk that discards
    assert (workspace_dir / "out" / ".build-cache.json").stat().st_ino == cache.st_ino
    code, out, _ = run("build", "--workspace", str(workspace_dir), str(issue), "--force")
    assert out.startswith(f"built out/{EXAMPLE}/") and meta.read_bytes() != first
    # any input of the build counts: the issue, an asset, the theme, the settings
    for path in (
        issue,
        workspace_dir / "assets" / "budapest-pride.jpg",
        workspace_dir / "newsletter.toml",
    ):
        with path.open("ab") as out_file:
            out_file.write(b"\n" if path.suffix != ".jpg" else b"\0")
        code, out, _ = run("build", "--workspace", str(workspace_dir), str(issue))
        assert out.startswith(f"built out/{EXAMPLE}/"), path


def test_what_a_build_rebuilds_is_not_vouched_for_until_it_is_on_the_disk(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The new files are flushed to the disk once, at the end. A build that dies before that
    # (here: in the flush itself, as a power cut would) must leave the cache without an
    # entry for what it was rewriting, so that the next build makes it again rather than
    # trusting a folder whose files may never have reached the disk.
    from newsletter.commands import build as build_command

    issue = workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    assert run("build", "--workspace", str(workspace_dir), str(issue))[0] == 0
    cache = workspace_dir / "out" / ".build-cache.json"
    assert len(json.loads(cache.read_text())) == 1
    flushed: list[Path] = []

    def power_cut(folder: Path) -> None:
        flushed.append(folder)
        raise RuntimeError("power cut")

    monkeypatch.setattr(build_command, "flush_disk", power_cut)
    died = CliRunner().invoke(cli, ["build", "--workspace", str(workspace_dir), "--force"])
    assert isinstance(died.exception, RuntimeError)
    assert flushed == [workspace_dir / "out"]
    assert json.loads(cache.read_text()) == {}
    monkeypatch.undo()
    code, out, _ = run("build", "--workspace", str(workspace_dir), str(issue))
    assert code == 0 and out.startswith(f"built out/{EXAMPLE}/")


def test_usage_errors_exit_2(workspace_dir: Path) -> None:
    code, _, err = run("build", "--workspace", str(workspace_dir), "issues/nope.yaml")
    assert code == 2 and "no such file: issues/nope.yaml" in err
    code, _, err = run("build", "--workspace", str(workspace_dir / "missing"))
    assert code == 2 and "no such folder" in err
    assert run("build", "--jobs", "0")[0] == 2


def test_no_workspace_found_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"error: no newsletter.toml in {tmp_path.resolve()} or any folder above it; "
        "run 'newsletter init DIR' to make a workspace, or pass --workspace\n"
    )


def test_bad_settings_name_file_key_and_line(workspace_dir: Path) -> None:
    config = workspace_dir / "newsletter.toml"
    config.write_text(
        config.read_text()
        .replace('lang = "en"', 'lang = "en"\ncolour = "red"')
        .replace('from_email = "newsletter@gzeromedia.com"', 'from_email = "not an address"')
    )
    code, _, err = run("validate", "--workspace", str(workspace_dir))
    assert code == 1
    assert err == (
        "newsletter.toml:9: newsletter.from_email: expected an email address like news@example.com, got 'not an address'\n"
        "newsletter.toml:13: newsletter.colour: unknown field (did you mean 'color'?)\n"
        "2 problems found\n"
    ).replace(" (did you mean 'color'?)", " (known fields: " + KNOWN + ")")


KNOWN = "name, brand, template, from_name, from_email, reply_to, postal_address, site_url, lang, web_version_url, preferences_url, asset_base_url, utm"


def test_init_then_build_works_outside_the_repository(tmp_path: Path) -> None:
    folder = tmp_path / "my-letter"
    code, out, _ = run("init", str(folder), "--name", "The Morning")
    assert code == 0
    today = dt.date.today().isoformat()
    assert out.splitlines()[:4] == [
        f"wrote {folder / 'newsletter.toml'}",
        f"wrote {folder / '.gitignore'}",
        f"wrote {folder / 'issues' / f'{today}-first-issue.yaml'}",
        f"next: cd {folder} && newsletter build",
    ]
    assert "before the first real send, fill in" in out
    assert (folder / ".gitignore").read_text().split() == ["out/", ".newsletter/"]
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "build"], cwd=folder, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    html = (folder / "out" / f"{today}-first-issue" / "email.html").read_text()
    assert "The first issue of The Morning" in html and "More from The Morning" in html


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    code, _, err = run("init", str(tmp_path))
    assert code == 1
    assert (
        err
        == f"error: {tmp_path}: not an empty folder; choose a new one so nothing is overwritten\n"
    )
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "newsletter.toml").exists()


def test_new_writes_a_skeleton_that_builds_and_never_overwrites(workspace_dir: Path) -> None:
    code, out, _ = run(
        "new", "nato-summit", "--date", "2025-06-27", "--workspace", str(workspace_dir)
    )
    assert out.splitlines() == [
        "wrote issues/2025-06-27-nato-summit.yaml",
        "next: write the story in it, and watch it with: newsletter preview nato-summit --open",
    ]
    assert code == 0
    path = workspace_dir / "issues" / "2025-06-27-nato-summit.yaml"
    path.write_text(path.read_text() + "# my edits\n")
    code, _, err = run(
        "new", "nato-summit", "--date", "2025-06-27", "--workspace", str(workspace_dir)
    )
    assert code == 1 and "already exists; it was left as it is" in err
    assert path.read_text().endswith("# my edits\n")
    code, _, err = run("build", "--workspace", str(workspace_dir), str(path))
    assert code == 0, err
    assert run("new", "x", "--date", "26/06/2025", "--workspace", str(workspace_dir))[0] == 2


def test_new_makes_a_slug_of_a_title_and_dates_in_the_loaders_words(workspace_dir: Path) -> None:
    ws = ["--workspace", str(workspace_dir)]
    code, out, _ = run("new", "My Story: Gaza!", "--date", "2026-12-01", *ws)
    assert code == 0
    assert out.splitlines()[0] == (
        "wrote issues/2026-12-01-my-story-gaza.yaml (slug 'my-story-gaza' from 'My Story: Gaza!')"
    )
    text = (workspace_dir / "issues" / "2026-12-01-my-story-gaza.yaml").read_text()
    assert 'subject: "My Story: Gaza!"' in text and '  headline: "My Story: Gaza!"' in text
    assert run("validate", "my-story-gaza", *ws)[:2] == (
        0,
        "issues/2026-12-01-my-story-gaza.yaml: ok\n",
    )
    code, _, err = run("new", "x", "--date", "2026-02-29", *ws)
    assert code == 2
    assert (
        "Invalid value for '--date': February 2026 has 28 days, so 2026-02-29 is not a date" in err
    )
    code, _, err = run("new", "x", "--date", "12/01/2026", *ws)
    assert (
        "write dates as YYYY-MM-DD: 2026-12-01 for December 1, or 2026-01-12 for 12 January" in err
    )
    code, _, err = run("new", "!!!", *ws)
    assert code == 2 and "'!!!' has no letters or digits to make a slug of" in err


def test_colour_on_a_terminal_and_never_with_no_color(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = workspace_dir / "issues" / "2025-06-26-bad.yaml"
    bad.write_text(MINIMAL.replace("  headline: A headline", "  headlin: A headline"))
    args = ["validate", str(bad), "--workspace", str(workspace_dir)]
    coloured = CliRunner().invoke(cli, args, color=True)
    assert "\x1b[31m\x1b[1m1 problem found\x1b[0m" in coloured.stderr
    monkeypatch.setenv("NO_COLOR", "1")
    plain = CliRunner().invoke(cli, args, color=True)
    assert "\x1b[" not in plain.stderr and plain.stderr.endswith("1 problem found\n")


def test_the_readme_build_command_builds_the_repository_example(tmp_path: Path) -> None:
    """The second half of the README's first command, on the repository as it stands."""
    out = tmp_path / "out"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "newsletter"),
            "build",
            "--workspace",
            str(REPO),
            "--json",
            "--force",  # an earlier run's out/ would leave it "unchanged", without its meta
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["slug"] == EXAMPLE
    assert not out.exists()


def test_an_issue_argument_may_be_a_slug_or_a_unique_part_of_a_name(workspace_dir: Path) -> None:
    ws = ["--workspace", str(workspace_dir)]
    code, out, _ = run("validate", "putin", *ws)
    assert (code, out) == (0, f"issues/{EXAMPLE}.yaml: ok\n")
    code, out, _ = run("validate", "putin-poaches-the-neighbors", *ws)
    assert (code, out) == (0, f"issues/{EXAMPLE}.yaml: ok\n")
    shutil.copy(
        workspace_dir / "issues" / f"{EXAMPLE}.yaml",
        workspace_dir / "issues" / "2025-06-27-putin-again.yaml",
    )
    code, _, err = run("validate", "putin", *ws)
    assert code == 2
    assert (
        "Invalid value for 'ISSUE': putin matches 2 issues (issues/2025-06-26-putin-poaches-the-"
        "neighbors.yaml, issues/2025-06-27-putin-again.yaml): give more of the name"
    ) in err
    code, _, err = run("validate", "putin-poaches-the-neighbours", *ws)
    assert code == 2
    assert (
        f"no such file: putin-poaches-the-neighbours (did you mean issues/{EXAMPLE}.yaml?)" in err
    )


def test_validate_prints_warnings_and_still_passes(workspace_dir: Path) -> None:
    path = workspace_dir / "issues" / "2025-06-26-tagged.yaml"
    text = (workspace_dir / "issues" / f"{EXAMPLE}.yaml").read_text()
    path.write_text(text.replace("  kicker: Russia", "  kicker: #MiddleEast"))
    code, out, _ = run("validate", str(path), "--workspace", str(workspace_dir))
    assert code == 0
    assert out.splitlines() == [
        "issues/2025-06-26-tagged.yaml: ok, 1 warning(s)",
        "  warning: issues/2025-06-26-tagged.yaml:7: lead.kicker: is empty because # starts a "
        'comment in YAML: put the text in quotes: kicker: "#MiddleEast"',
    ]


def test_the_loaders_warnings_reach_build_and_check(workspace_dir: Path) -> None:
    text = (workspace_dir / "issues" / f"{EXAMPLE}.yaml").read_text()
    (workspace_dir / "issues" / f"{EXAMPLE}.yaml").write_text(
        text.replace("  kicker: Russia", "  kicker: #Russia")
    )
    ws = ["--workspace", str(workspace_dir)]
    code, out, _ = run("build", *ws)
    said = f"  warning: issues/{EXAMPLE}.yaml:7: lead.kicker: is empty because # starts a comment"
    assert code == 0 and said in out, out
    code, out, _ = run("build", "--json", "--force", *ws)
    assert [w[:40] for w in json.loads(out)[0]["warnings"]] == [
        said.removeprefix("  warning: ")[:40]
    ]
    code, out, _ = run("build", "--check", *ws)
    assert code == 0 and "  1 warning, " in out and said in out, out
    code, out, _ = run("check", "putin", "--json", *ws)
    found = [f for f in json.loads(out) if f["id"] == "issue-file"]
    assert found == [
        {
            "id": "issue-file",
            "severity": "warning",
            "message": 'is empty because # starts a comment in YAML: put the text in quotes: kicker: "#Russia"',
            "location": f"issues/{EXAMPLE}.yaml:7: lead.kicker",
            "issue": f"issues/{EXAMPLE}.yaml",
        }
    ]
