"""The cache of parsed files (newsletter.pipeline.parsed): an unchanged issue is read without
PyYAML, unchanged settings and themes without tomllib, and an entry that is corrupt, forged or
from another key is never trusted."""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from newsletter import ProblemsError, load_issue

from .conftest import EXAMPLE, REPO

#: Loads an issue in a fresh process; prints its fields, lines and warnings, and whether
#: PyYAML was imported to do it.
_LOAD = """\
import json, sys
from pathlib import Path
from newsletter import ProblemsError, load_issue
try:
    issue = load_issue(Path(sys.argv[1]), Path(sys.argv[2]))
    seen = [issue.model_dump(), sorted(map(repr, issue._lines.items())), [str(w) for w in issue.warnings]]
except ProblemsError as error:
    seen = [str(p) for p in error.problems]
print(json.dumps([seen, "yaml" in sys.modules], default=str))
"""


#: Loads a workspace in a fresh process; prints its settings and theme, and whether tomllib
#: was imported to do it.
_WORKSPACE = """\
import json, sys
from pathlib import Path
from newsletter import ProblemsError
from newsletter.workspace import load_workspace
try:
    ws = load_workspace(Path(sys.argv[1]))
    seen = [repr(ws.settings), repr(ws.theme.values)]
except ProblemsError as error:
    seen = [str(p) for p in error.problems]
print(json.dumps([seen, "tomllib" in sys.modules]))
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache of this test's own, for this process and the ones it starts: the path
    of its database."""
    from newsletter.pipeline import parsed

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield tmp_path / "cache" / "newsletter" / parsed.DATABASE
    parsed._forget_before_fork()  # this process's connection to it, closed


def entries(database: Path) -> dict[str, bytes]:
    """The entries in ``database``, by name, read as any other program would."""
    with closing(sqlite3.connect(database)) as db:
        return dict(db.execute("SELECT name, entry FROM entries"))


def overwrite(database: Path, name: str, entry: bytes) -> None:
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("UPDATE entries SET entry = ? WHERE name = ?", (entry, name))


#: Writes entries in a process that has used the cache and in two workers it forks, at once;
#: prints how many of them all the first process reads back.
_FORKED = """\
import multiprocessing
from newsletter.pipeline import parsed

def write(worker):
    for n in range(100):
        parsed.put("test", f"{worker} {n}", [worker, n])
    return sum(parsed.get("test", f"{worker} {n}") == [worker, n] for n in range(100))

parsed.put("test", "parent", ["parent"])
with multiprocessing.get_context("fork").Pool(2) as pool:
    read = pool.map(write, ["a", "b"])
mine = sum(parsed.get("test", f"{w} {n}") == [w, n] for w in "ab" for n in range(100))
print(read, mine, parsed.get("test", "parent"))
"""


def test_forked_workers_write_to_the_cache_at_once(cache: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FORKED], capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[0] == "[100, 100] 200 ['parent']", done.stderr
    assert len(entries(cache)) == 201


def load(path: Path, root: Path = REPO, *, code: str = _LOAD) -> tuple[object, bool]:
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(root)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    seen, parsed = json.loads(done.stdout)
    return seen, parsed


def test_an_unchanged_file_is_read_back_without_pyyaml(cache: Path, tmp_path: Path) -> None:
    example = REPO / "issues" / f"{EXAMPLE}.yaml"
    first, parsed = load(example)
    kept = len(entries(cache))  # the parse, and what the Markdown check found
    assert parsed and kept >= 1
    assert load(example) == (first, False)  # the same issue, lines and warnings, no PyYAML
    copy = tmp_path / f"{EXAMPLE}.yaml"
    copy.write_text(example.read_text().replace("kicker: Russia", "kicker: Central Asia"))
    changed, parsed = load(copy)
    assert parsed and changed != first and len(entries(cache)) == kept + 1


def test_a_file_with_problems_reports_them_the_same_from_the_cache(
    cache: Path, tmp_path: Path
) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("subject: Hi\ndate: June 26\nlead:\n  headlin: H\n  kicker:\n  body: B\n")
    first, parsed = load(path, tmp_path)
    assert parsed and first == [
        f"{path}:2: date: expected a date like 2025-06-26, got text 'June 26'",
        f"{path}:4: lead.headlin: unknown field (did you mean 'headline'?)",
    ]
    assert load(path, tmp_path) == (first, False)
    path.write_text("subject: Hi\nsubject: again\n")  # a YAML problem is never kept
    assert [load(path, tmp_path)[1] for _ in range(2)] == [True, True]


@pytest.mark.parametrize(
    "attack",
    [
        "edit the data",
        "garbage",
        "cut off",
        "sign with another key",
        "not a database",
        "damaged pages",
    ],
)
def test_an_entry_that_is_not_the_tools_own_is_ignored(
    cache: Path, tmp_path: Path, attack: str
) -> None:
    example = REPO / "issues" / f"{EXAMPLE}.yaml"
    truth, _ = load(example)
    for name, entry in entries(cache).items():  # the parse, and what the Markdown check found
        mac, payload = entry.split(b"\n", 1)
        if attack == "edit the data":
            forged = payload.replace(b"Putin poaches", b"Someone poaches")
            overwrite(cache, name, mac + b"\n" + forged)
        elif attack == "garbage":
            overwrite(cache, name, os.urandom(200))
        elif attack == "cut off":
            overwrite(cache, name, mac + b"\n" + payload[: len(payload) // 2])
    if attack == "sign with another key":
        (cache.parent / "cache.key").write_bytes(os.urandom(32))
    if attack == "not a database":  # a disk error, or anything else's file: made again
        for suffix in ("-wal", "-shm"):
            Path(f"{cache}{suffix}").unlink(missing_ok=True)
        cache.write_bytes(os.urandom(8192))
    if attack == "damaged pages":  # the schema's page whole, the entries' pages garbage
        with closing(sqlite3.connect(cache)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = cache.stat().st_size
        cache.write_bytes(cache.read_bytes()[:4096] + os.urandom(size - 4096))
    assert load(example) == (truth, True)  # parsed again, and the same issue as the file's
    assert load(example) == (truth, False)  # and the cache holds the truth again


def test_a_cache_folder_that_cannot_be_made_is_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert load_issue(REPO / "issues" / f"{EXAMPLE}.yaml", REPO).slug == EXAMPLE
    with pytest.raises(ProblemsError):
        load_issue(REPO / "issues" / "missing.yaml")


def test_unchanged_settings_and_theme_are_read_back_without_tomllib(
    cache: Path, workspace_dir: Path
) -> None:
    first, parsed = load(workspace_dir, code=_WORKSPACE)
    assert parsed and len(entries(cache)) == 2  # newsletter.toml, gzero's theme.toml
    assert load(workspace_dir, code=_WORKSPACE) == (first, False)
    config = workspace_dir / "newsletter.toml"
    config.write_text(config.read_text().replace('lang = "en"', 'lang = "en'))
    broken = [f"newsletter.toml:{_line(config, 'lang = ')}: invalid TOML: Illegal character '\\n'"]
    assert load(workspace_dir, code=_WORKSPACE) == (broken, True)
    assert load(workspace_dir, code=_WORKSPACE) == (broken, True)  # never kept


def _line(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_the_cache_keeps_its_newest_entries_and_drops_the_oldest(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond its size the cache drops its oldest entries, as many as were written since it
    last pruned, and every newer one still reads back; it prunes only every so many writes.
    An entry written again is as new as the newest."""
    import itertools

    from newsletter.pipeline import parsed

    monkeypatch.setattr(parsed, "CACHE_ENTRIES", 8)
    monkeypatch.setattr(parsed, "_COUNT_EVERY", 4)
    monkeypatch.setattr(parsed, "_written", itertools.count())
    for n in range(21):
        parsed.put("test", f"text {n}", [n])
        if n == 16:
            parsed.put("test", "text 1", [1])  # the oldest, written again
    assert 8 <= len(entries(cache)) <= 8 + 4
    newest = [parsed.get("test", f"text {n}") for n in (1, *range(17, 21))]
    assert newest == [[1], [17], [18], [19], [20]]
    assert parsed.get("test", "text 0") is None


def test_compiled_templates_live_in_the_cache_folder_and_are_pruned(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jinja's compiled templates sit beside the parse cache, in a folder of this user's
    alone (what they hold is code), and the oldest go beyond their number: Jinja's default
    folder in /tmp kept every version of every template of every workspace folder."""
    from jinja2 import Environment, FileSystemLoader

    from newsletter.pipeline import parsed, render

    folder = cache.parent / "jinja"
    monkeypatch.setattr(render._CompiledTemplates, "ENTRIES", 4)
    monkeypatch.setattr(render._CompiledTemplates, "COUNT_EVERY", 2)
    render._bytecode_cache.cache_clear()
    kept = render._bytecode_cache(parsed.cache_base())
    assert kept is not None and Path(kept.directory) == folder
    assert folder.stat().st_mode & 0o777 == 0o700
    theme = tmp_path / "theme"
    theme.mkdir()
    for n in range(10):
        (theme / f"t{n}.html.j2").write_text(f"<p>{{{{ {n} }}}}</p>")
    env = Environment(loader=FileSystemLoader(str(theme)), bytecode_cache=kept)
    for n in range(10):
        assert env.get_template(f"t{n}.html.j2").render() == f"<p>{n}</p>"
    assert 0 < len(os.listdir(folder)) <= 4
    # A folder open to others is not trusted: no compiled template is read from it.
    folder.chmod(0o777)
    render._bytecode_cache.cache_clear()
    assert render._bytecode_cache(parsed.cache_base()) is None
    render._bytecode_cache.cache_clear()


#: Reads a body three ways in a fresh process; prints them and whether markdown-it was
#: imported to do it.
_READ_BODY = """\
import json, sys
from newsletter.pipeline import markdown
body = sys.argv[1]
seen = [markdown.deepest(body), markdown.to_html(body), markdown.to_text(body)]
print(json.dumps([seen, "markdown_it" in sys.modules]))
"""


def test_a_body_is_read_once_into_one_entry(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader's depth check, the HTML and the text part read a body: the first read makes
    all three and keeps them as one entry (a new issue writes one file for its body, not
    three), and another process reads the three back without markdown-it."""
    from newsletter.pipeline import markdown, parsed

    body = f"A body of its own ({os.getpid()}, {id(cache)}) with a [link](https://example.com)."
    kept: list[str] = []
    put = parsed.put
    monkeypatch.setattr(parsed, "put", lambda kind, *rest: (kept.append(kind), put(kind, *rest)))
    seen = [markdown.deepest(body), markdown.to_html(body), markdown.to_text(body)]
    assert [kind.split()[:2] for kind in kept] == [["markdown", "readings"]]
    assert len(entries(cache)) == 1
    read = subprocess.run(
        [sys.executable, "-c", _READ_BODY, body], capture_output=True, text=True, check=True
    )
    assert json.loads(read.stdout) == [json.loads(json.dumps(seen)), False]
    # Other quotes are one more reading of the same entry, not an entry of their own.
    assert markdown.to_html(body, markdown.quote_marks("fr")) == seen[1]  # no quotes to set
    assert len(kept) == 2 and len(entries(cache)) == 1


@pytest.mark.parametrize(
    "value",
    [
        ("a", "tuple"),
        [1, ("nested", "tuple")],
        {1: "int key"},
        {"when": datetime.date(2025, 6, 26)},
        {"a set": {1}},
        b"bytes",
    ],
)
def test_only_what_json_gives_back_exactly_is_kept(cache: Path, value: object) -> None:
    """A value JSON would give back as something else (a tuple as a list, a key as text) or
    not at all is not kept: what a hit returns must be what the parser made."""
    from newsletter.pipeline import parsed

    parsed.put("test", "a text", value)
    assert parsed.get("test", "a text") is None
    plain = {"text": "é", "number": 1, "float": 1.5, "flags": [True, False, None], "nested": [{}]}
    parsed.put("test", "a text", plain)
    assert parsed.get("test", "a text") == plain


def test_a_python_without_sqlite_has_no_cache(cache: Path) -> None:
    """Python built without SQLite (it is optional) loads as well, parsing every time."""
    blocked = "import sys; sys.modules['sqlite3'] = None\n" + _LOAD
    example = REPO / "issues" / f"{EXAMPLE}.yaml"
    truth, _ = load(example)
    assert [load(example, code=blocked) for _ in range(2)] == [(truth, True)] * 2


def test_the_files_of_earlier_versions_are_removed(cache: Path) -> None:
    """Earlier versions kept a file an entry in ``parsed/``: gone once the cache is used."""
    cache.parent.mkdir(parents=True, mode=0o700)  # as earlier versions made it
    old = cache.parent / "parsed"
    old.mkdir()
    (old / ("0" * 40)).write_bytes(b"an entry of an earlier version")
    load(REPO / "issues" / f"{EXAMPLE}.yaml")
    assert not old.exists() and len(entries(cache)) >= 1


def test_a_cache_folder_open_to_others_is_not_read(cache: Path) -> None:
    """SQLite reads the file before any entry's MAC is checked: another user must not be able
    to put one there, so a folder others may write to is no cache."""
    example = REPO / "issues" / f"{EXAMPLE}.yaml"
    truth, _ = load(example)
    cache.parent.chmod(0o777)
    assert [load(example) for _ in range(2)] == [(truth, True)] * 2
    cache.parent.chmod(0o700)
    assert load(example) == (truth, False)


#: Holds the cache's database locked for writing while a new process loads an issue; prints
#: what that process printed.
_LOCKED = """\
import sqlite3, subprocess, sys
holder = sqlite3.connect(sys.argv[1], isolation_level=None)
holder.execute("BEGIN EXCLUSIVE")
done = subprocess.run([sys.executable, "-c", sys.argv[2], sys.argv[3], sys.argv[4]],
                      capture_output=True, text=True, check=True)
print(done.stdout, end="")
"""


def test_a_database_another_process_holds_is_left_alone(cache: Path, tmp_path: Path) -> None:
    """While another process holds the database for writing (locked mid-write, or
    suspended), a new issue still loads, parsed, and its entry is given up rather than
    waited for; the held database is not removed: what it held is there when let go."""
    example = REPO / "issues" / f"{EXAMPLE}.yaml"
    truth, _ = load(example)
    held = entries(cache)
    copy = tmp_path / f"{EXAMPLE}.yaml"
    copy.write_text(example.read_text().replace("kicker: Russia", "kicker: Central Asia"))
    done = subprocess.run(
        [sys.executable, "-c", _LOCKED, str(cache), _LOAD, str(copy), str(REPO)],
        capture_output=True,
        text=True,
        check=True,
    )
    changed, parsed = json.loads(done.stdout)
    assert parsed and changed != truth
    assert entries(cache) == held  # given up while held
    assert load(copy) == (changed, True) and set(entries(cache)) > set(held)
    assert load(example) == (truth, False)
