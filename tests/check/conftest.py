"""Real workspaces for the check tests: the repository's example, copied into a temporary
folder and changed the way an editor (or a theme author) would change it, then built with the
real pipeline. Findings always come from ``build_issue``, never from hand-made HTML."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from newsletter.pipeline.checks import Finding
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "2025-06-26-putin-poaches-the-neighbors.yaml"

Edit = tuple[str, str]


def careless_theme(markup: str, *text: Edit) -> dict[str, list[Edit]]:
    """The edits of a careless theme: no ``lang``, no title, no unsubscribe link, the teasers'
    URLs left out of the plain text (and ``text``'s edits of it), ``markup`` in the header."""
    return {
        "base.mjml.j2": [
            ('<mjml lang="{{ lang }}" ', "<mjml "),
            ("<mj-title>{{ issue.subject }}</mj-title>", ""),
        ],
        "partials/header.mjml.j2": [("<mj-column>", "<mj-column>" + markup)],
        "partials/footer.mjml.j2": [
            ('<a href="%%unsubscribe_url%%">{{ t("unsubscribe") }}</a> &middot; ', "")
        ],
        "email.txt.j2": [("{{ teaser.url }}\n", ""), *text],
    }


def make_workspace(
    root: Path,
    *,
    toml: Iterable[Edit] = (),
    append: str = "",
    theme: dict[str, Iterable[Edit]] | None = None,
) -> Path:
    """A copy of the example workspace at ``root``; ``toml`` and ``theme`` are (old, new)
    replacements in newsletter.toml and in files of a workspace copy of the gzero theme."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "issues", root / "issues")
    shutil.copytree(REPO / "assets", root / "assets")
    text = (REPO / "newsletter.toml").read_text()
    for old, new in toml:
        assert old in text, old
        text = text.replace(old, new)
    (root / "newsletter.toml").write_text(text + append)
    if theme is not None:
        shutil.copytree(REPO / "templates" / "gzero", root / "templates" / "gzero")
        for name, edits in theme.items():
            path = root / "templates" / "gzero" / name
            content = path.read_text()
            for old, new in edits:
                assert old in content, (name, old)
                content = content.replace(old, new)
            path.write_text(content)
    return root


def write_issue(root: Path, name: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """The example issue, changed by ``change``, written as ``issues/<name>.yaml``."""
    data = yaml.safe_load((REPO / "issues" / EXAMPLE).read_text())
    data["date"] = str(data["date"])
    change(data)
    path = root / "issues" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100_000))
    return path


def check(root: Path, issue: Path | str = EXAMPLE) -> list[Finding]:
    """Build ``issue`` in the workspace at ``root`` and return its findings."""
    path = issue if isinstance(issue, Path) else root / "issues" / issue
    result = build_issue(path, load_workspace(root))
    assert result.ok, result.problems
    return list(result.findings)


def by_id(findings: Iterable[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.id == rule]


def sloppy_issue(data: dict[str, Any]) -> None:
    """What a hurried editor writes: shouting, http://, "click here", a file-name alt, and a
    body long enough to pass Gmail's clip."""
    data["subject"] = "BREAKING: YOU WON'T BELIEVE WHAT PUTIN DID!!!"
    data["preheader"] = data["subject"]
    data["lead"]["url"] = "http://www.gzeromedia.com/news/putin"
    data["lead"]["image"] = {"src": "http://www.gzeromedia.com/photo.jpg", "alt": "photo.jpg"}
    paragraph = "Russia has been recruiting fighters from the neighbouring republics. " * 8
    data["lead"]["body"] = (
        "\n\n".join([paragraph] * 220)
        + "\n\nTo see the whole story, [click here](https://www.gzeromedia.com/news/whole)."
    )


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    """The findings of the example issue, as the repository has it."""
    return check(make_workspace(tmp_path_factory.mktemp("example")))


@pytest.fixture(scope="session")
def sloppy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Finding]]:
    """The workspace and findings of the sloppy issue."""
    root = make_workspace(tmp_path_factory.mktemp("sloppy"))
    path = write_issue(root, "2025-07-01-sloppy", sloppy_issue)
    return path, check(root, path)
