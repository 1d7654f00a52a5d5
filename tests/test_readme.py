"""README promises that are code: its Python examples run, and its table of stages is the
pipeline's registry."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.model.settings import TransformSettings
from newsletter.pipeline.stages import STAGES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", _section("From Python"), re.DOTALL)


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_python_examples_run(index: int, workspace_dir: Path) -> None:
    code = _python_blocks()[index]
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=workspace_dir, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip(), "an example prints what it shows"


def test_the_stage_table_is_the_registry() -> None:
    section = _section("Settings: `newsletter.toml`")
    rows = re.findall(r"^\| (\w[\w-]*) \| ?(`\w+`)? ?\|", section, re.M)
    table = [(name, key.strip("`") or None) for name, key in rows]
    registry = [(s.name, s.setting.split(".")[1] if s.setting else None) for s in STAGES]
    assert table == registry
    for _, key in registry:
        assert key is None or key in TransformSettings.model_fields
