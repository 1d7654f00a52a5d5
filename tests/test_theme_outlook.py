"""Outlook for Windows draws what the MSO conditional comments say: the theme's compiled
Outlook tables must have the widths the reference MJML compiler (npm ``mjml``) gives them.

mjml-python (MRML) writes a column's Outlook width without its section's padding (300 + 300 px
in a 576 px cell where MJML writes 288) and an ``mj-divider``'s as the whole column; the theme
avoids both (no horizontal section padding, rules as 100 % tables, the teasers' ghost cells
written by the theme itself), and this test holds it to that. ``scripts/test`` installs the
reference compiler into ``.venv/mjml``; without node the test skips and says why.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.model.artifact import BuildResult

from .conftest import EXAMPLE, MINIMAL, REPO
from .theme_issues import ARABIC, teasers

MJML = REPO / ".venv" / "mjml" / "node_modules" / ".bin" / "mjml"
_MSO = re.compile(r"<!--\[if mso(?: \| IE)?\]>(.*?)<!\[endif\]-->", re.DOTALL)
_WIDTH = re.compile(r'width(?::|=")(\d+)(?:px)?', re.IGNORECASE)


def reference(mjml: str, tmp_path: Path) -> str:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the reference MJML compiler cannot run")
    if not MJML.exists():
        pytest.skip(f"the reference compiler is not installed at {MJML}: run ./scripts/test")
    source = tmp_path / "email.mjml"
    source.write_text(mjml)
    done = subprocess.run(
        [str(MJML), str(source), "-s", "--config.validationLevel", "skip"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def outlook_widths(html: str) -> list[int]:
    """Every width in px written inside Outlook's conditional comments, in order."""
    return [int(w) for block in _MSO.findall(html) for w in _WIDTH.findall(block)]


@pytest.mark.parametrize("issue", ["example", "arabic", "three", "none", "digest"])
def test_outlook_widths_agree_with_the_reference_mjml_compiler(
    issue: str,
    build: Callable[..., BuildResult],
    write_issue: Callable[..., Path],
    workspace_dir: Path,
    tmp_path: Path,
) -> None:
    texts = {"arabic": ARABIC, "three": teasers(3), "none": MINIMAL}
    if issue == "digest":
        config = workspace_dir / "newsletter.toml"
        config.write_text(config.read_text().replace('template = "gzero"', 'template = "digest"'))
    path = (
        write_issue(texts[issue])
        if issue in texts
        else workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    )
    result = build(path)
    assert result.email is not None
    ours = outlook_widths(result.email.html)
    theirs = outlook_widths(reference(result.email.mjml, tmp_path))
    assert ours and sorted(ours) == sorted(theirs)
    width = 560 if issue == "digest" else 600
    assert max(ours) == width and all(w <= width for w in ours)
