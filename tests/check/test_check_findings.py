"""Every finding of every rule, on a spread of real emails, exactly as the checks gave it when
``findings.json`` was written: the checks are made faster without changing a word they say.

The emails are the example, the five issues of ``tests/theme_issues.py`` in both themes, and
workspaces changed to trip most rules (a sloppy issue, a broken theme, every client, UTM off, a
published site that lacks the issue, a new workspace's first issue). Each finding is compared
whole: rule, severity, message and location, in order.

``findings.json`` is written by this module, not by hand. Regenerate it only when a finding is
changed on purpose, and say which and why in the commit::

    .venv/bin/python -m tests.check.test_check_findings
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from lxml.html import HtmlElement

from newsletter.commands.scaffold import create_workspace
from newsletter.model.artifact import Artifact
from newsletter.model.clients import CLIENTS
from newsletter.model.workspace import Workspace
from newsletter.pipeline.checks import RULES, run_checks
from newsletter.pipeline.checks.context import Context, text_of
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

from ..theme_issues import build_all
from .conftest import EXAMPLE, careless_theme, make_workspace, sloppy_issue, write_issue

FIXTURE = Path(__file__).with_name("findings.json")
#: Every build is dated the same, so the messages' Date headers are too.
NOW = dt.datetime(2025, 6, 26, 6, 0, tzinfo=dt.UTC)

#: Markup a theme author might leave in the header: each line breaks at least one rule.
BROKEN_MARKUP = """
        <mj-raw>
          <img src="https://www.gzeromedia.com/logo.png">
          <img src="http://www.gzeromedia.com/banner.gif" alt="banner" width="50%">
          <a href="javascript:void(0)">Share this</a>
          <a href="#">Back to top</a>
          <a href="http://localhost:8000/draft">click here</a>
          <table><tr><td>A layout table</td></tr></table>
          <p style="color:#aaaaaa;font-size:15px;">Faint print</p>
          <p style="color:rgb(200, 200, 200);background:#ffffff;font-size:26px">Large faint</p>
          <div style="display:flex;background-image:linear-gradient(red, blue)">Flex</div>
          <h3>A heading out of order</h3>
          <h5>Another</h5>
          <p>{% raw %}{{ leftover }}{% endraw %} and %%first_name and *|FNAME|*</p>
        </mj-raw>
"""


def _relative_and_search_links(data: dict[str, Any]) -> None:
    data["lead"]["body"] += (
        "\n\nThe [full NATO report](reports/nato.pdf) is online, and our [coverage of Central "
        "Asia](https://www.gzeromedia.com/search?q=central%20asia&page=2) goes back years. "
        "More [here](https://www.gzeromedia.com/nato)."
    )
    data["teasers"][0]["headline"] = "Read more"
    data["lead"]["image"]["caption"] = data["lead"]["image"]["alt"]
    data["teasers"][1]["summary"] = "عاصمة المجر ستقيم مسيرة الفخر يوم السبت رغم حظر الحكومة."


def _blank_lines(data: dict[str, Any]) -> None:
    data["subject"] = "%%first_name%%"
    del data["preheader"]


Findings = list[list[str]]


#: Every email checked, for the test of the parser's lines.
EMAILS: list[tuple[Artifact, Workspace]] = []


def _checked(artifact: Artifact, workspace: Workspace) -> Findings:
    EMAILS.append((artifact, workspace))
    return [[f.id, f.severity, f.message, f.location] for f in run_checks(artifact, workspace)]


def _built(path: Path, root: Path) -> Findings:
    workspace = load_workspace(root)
    result = build_issue(path, workspace, now=NOW)
    assert result.artifact is not None, result.problems
    return _checked(result.artifact, workspace)


def all_findings(tmp: Path) -> dict[str, Findings]:
    """Every case's findings by name (``gzero/arabic``, ``sloppy`` ...), built in ``tmp``."""
    found: dict[str, Findings] = {}
    for theme in ("gzero", "digest"):
        root = tmp / f"theme-{theme}"
        root.mkdir()
        built = build_all(root, theme)
        workspace = load_workspace(root)
        found.update({f"{theme}/{name}": _checked(a, workspace) for name, a in built.items()})
    example = make_workspace(tmp / "example")
    found["example"] = _built(example / "issues" / EXAMPLE, example)
    sloppy = make_workspace(tmp / "sloppy")
    found["sloppy"] = _built(write_issue(sloppy, "2025-07-01-sloppy", sloppy_issue), sloppy)
    broken = make_workspace(
        tmp / "broken-theme",
        theme=careless_theme(
            BROKEN_MARKUP, ("{{ date }}\n", "{{ date }} <b>Bold</b> &amp; more\n")
        ),
    )
    found["broken-theme"] = _built(broken / "issues" / EXAMPLE, broken)
    clients = ", ".join(f'"{client}"' for client in CLIENTS)
    every = make_workspace(tmp / "every-client", append=f"\n[check]\nclients = [{clients}]\n")
    found["every-client"] = _built(every / "issues" / EXAMPLE, every)
    plain = make_workspace(
        tmp / "no-utm",
        toml=[("utm = true", "utm = false"), ("assets = true", "assets = false")],
        append="\n[check]\nimage_max_kb = 15\nsubject_max = 20\npreheader_max = 40\n",
    )
    changed = write_issue(plain, "2025-07-02-changed", _relative_and_search_links)
    found["no-utm"] = _built(changed, plain)
    headers = make_workspace(
        tmp / "headers",
        toml=[
            ("newsletter@gzeromedia.com", "gzero.newsletter@gmail.com"),
            ("https://www.gzeromedia.com/newsletter/unsubscribe", "http://gzeromedia.com/u"),
            ('unsubscribe_secret_env = "NEWSLETTER_UNSUBSCRIBE_SECRET"', ""),
        ],
        append="\n[check]\nnear_clip_kb = 20\n",
        theme={"email.txt.j2": []},
    )
    path = write_issue(headers, "2025-07-03-blank", _blank_lines)
    (headers / "templates" / "gzero" / "email.txt.j2").write_text("")
    found["headers"] = _built(path, headers)
    bare = make_workspace(
        tmp / "no-unsubscribe",
        toml=[
            (
                'unsubscribe_url = "https://www.gzeromedia.com/newsletter/unsubscribe?token={token}"',
                "",
            ),
            ('unsubscribe_mailto = "unsubscribe@gzeromedia.com"', ""),
        ],
    )
    found["no-unsubscribe"] = _built(bare / "issues" / EXAMPLE, bare)
    site = make_workspace(tmp / "site")
    (site / "out" / "_site").mkdir(parents=True)
    found["site"] = _built(site / "issues" / EXAMPLE, site)
    fresh = tmp / "init"
    found["init"] = _built(create_workspace(fresh, "The Weekly", today=NOW.date())[2], fresh)
    return found


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Findings]:
    return all_findings(tmp_path_factory.mktemp("findings"))


def test_every_case_finds_what_it_found_before(findings: dict[str, Findings]) -> None:
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert list(findings) == list(expected)
    for name, found in findings.items():
        assert found == expected[name], name


def test_every_rule_fires_somewhere(findings: dict[str, Findings]) -> None:
    """The comparison means something only where a rule fires: each does, in some case."""
    fired = {finding[0] for found in findings.values() for finding in found}
    assert sorted(set(RULES) - fired) == []


def test_every_element_has_the_line_and_text_lxml_gave(findings: dict[str, Findings]) -> None:
    """The checks read the email with lexbor, which keeps no line numbers; the line each
    element is given, and its text, are what lxml (which the checks used before) gives."""
    assert len(EMAILS) == len(findings)
    for artifact, workspace in EMAILS:
        context = Context(artifact, workspace)
        root = context.tree.root
        assert root is not None
        ours = [node for node in root.traverse() if node.is_element_node]
        tree = lxml_html.document_fromstring(artifact.email.html)
        theirs = [e for e in tree.iter() if isinstance(e.tag, str)]
        assert [node.tag for node in ours] == [e.tag for e in theirs]
        for node, element in zip(ours, theirs, strict=True):
            assert context.line(node) == element.sourceline, element.tag
            assert text_of(node) == _lxml_text(element), element.tag


def _lxml_text(element: HtmlElement) -> str:
    """``text_of`` as it was written for lxml."""
    parts: list[str] = []
    for node in element.iter():
        if node.tag == "img":
            parts.append(str(node.get("alt") or ""))
        elif isinstance(node.tag, str) and node.text:
            parts.append(node.text)
        if node is not element and node.tail:
            parts.append(node.tail)
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        written = all_findings(Path(folder))
    text = json.dumps(written, indent=1, ensure_ascii=False) + "\n"
    FIXTURE.write_text(text, encoding="utf-8")
    count = sum(map(len, written.values()))
    print(f"wrote {FIXTURE.name}: {count} findings in {len(written)} cases", file=sys.stderr)
