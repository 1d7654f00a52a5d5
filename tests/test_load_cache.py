"""The cache of parsed files (newsletter.pipeline.parsed): an unchanged issue is read without
PyYAML, unchanged settings and themes without tomllib, and an entry that is corrupt, forged or
from another key is never trusted."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
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
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder of this test's own, for this process and the ones it starts."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "newsletter" / "parsed"


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
    kept = len(list(cache.iterdir()))  # the parse, and what the Markdown check found
    assert parsed and kept >= 1
    assert load(example) == (first, False)  # the same issue, lines and warnings, no PyYAML
    copy = tmp_path / f"{EXAMPLE}.yaml"
    copy.write_text(example.read_text().replace("kicker: Russia", "kicker: Central Asia"))
    changed, parsed = load(copy)
    assert parsed and changed != first and len(list(cache.iterdir())) == kept + 1


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
    "attack", ["edit the data", "garbage", "cut off by a killed write", "sign with another key"]
)
def test_an_entry_that_is_not_the_tools_own_is_ignored(
    cache: Path, tmp_path: Path, attack: str
) -> None:
    example = REPO / "issues" / f"{EXAMPLE}.yaml"
    truth, _ = load(example)
    for entry in cache.iterdir():  # the parse, and what the Markdown check found
        mac, payload = entry.read_bytes().split(b"\n", 1)
        if attack == "edit the data":
            entry.write_bytes(mac + b"\n" + payload.replace(b"Putin poaches", b"Someone poaches"))
        elif attack == "garbage":
            entry.write_bytes(os.urandom(200))
        elif attack == "cut off by a killed write":  # new entries are written in place
            entry.write_bytes(mac + b"\n" + payload[: len(payload) // 2])
    if attack == "sign with another key":
        (cache.parent / "cache.key").write_bytes(os.urandom(32))
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
    assert parsed and len(list(cache.iterdir())) == 2  # newsletter.toml, gzero's theme.toml
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
    last counted them, and every newer one still reads back; it counts the folder only every
    so many writes (listing thousands of names after each write cost more than the write)."""
    import itertools

    from newsletter.pipeline import parsed

    monkeypatch.setattr(parsed, "CACHE_ENTRIES", 8)
    monkeypatch.setattr(parsed, "_COUNT_EVERY", 4)
    monkeypatch.setattr(parsed, "_written", itertools.count())
    dated: set[str] = set()
    for n in range(21):
        parsed.put("test", f"text {n}", [n])
        for name in set(os.listdir(cache)) - dated:  # one second apart: an order to drop by
            os.utime(cache / name, ns=(n * 10**9, n * 10**9))
            dated.add(name)
    names = [name for name in os.listdir(cache) if not name.startswith(".")]
    assert len(names) <= 8 + 4
    assert [parsed.get("test", f"text {n}") for n in range(17, 21)] == [[17], [18], [19], [20]]
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
    assert len(list(cache.iterdir())) == 1
    read = subprocess.run(
        [sys.executable, "-c", _READ_BODY, body], capture_output=True, text=True, check=True
    )
    assert json.loads(read.stdout) == [json.loads(json.dumps(seen)), False]
    # Other quotes are one more reading of the same entry, not an entry of their own.
    assert markdown.to_html(body, markdown.quote_marks("fr")) == seen[1]  # no quotes to set
    assert len(kept) == 2 and len(list(cache.iterdir())) == 1


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
