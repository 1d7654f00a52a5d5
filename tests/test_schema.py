"""The JSON Schema of the issue format: made from the model, shipped, and true to real files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from newsletter.commands.scaffold import create_issue
from newsletter.model.schema import SCHEMA_NAME, dumps, issue_schema, shipped_schema

from .conftest import EXAMPLE, REPO


def test_the_shipped_schema_is_the_one_the_model_makes() -> None:
    """Regenerate with: python -m newsletter.model.schema > newsletter/data/issue.schema.json"""
    assert shipped_schema() == dumps(issue_schema())


def _yaml(text: str) -> object:
    return yaml.load(text, Loader=yaml.BaseLoader)  # dates stay text, as in the loader


def test_real_issues_pass_and_typos_fail(tmp_path: Path) -> None:
    schema = json.loads(shipped_schema())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    example = (REPO / "issues" / f"{EXAMPLE}.yaml").read_text()
    assert list(validator.iter_errors(_yaml(example))) == []
    skeleton = create_issue(tmp_path, "x", dt.date(2026, 12, 1), brand="GZERO Media").read_text()
    assert list(validator.iter_errors(_yaml(skeleton))) == []
    typo = [
        e.message
        for e in validator.iter_errors(_yaml(example.replace("  headline:", "  headlin:", 1)))
    ]
    assert any("'headlin' was unexpected" in m for m in typo)
    assert any("'headline' is a required property" in m for m in typo)


def test_the_skeleton_names_the_schema_written_at_the_workspace_top(tmp_path: Path) -> None:
    path = create_issue(tmp_path / "issues", "x", dt.date(2026, 12, 1), brand="GZERO Media")
    first = path.read_text().splitlines()[0]
    assert first == f"# yaml-language-server: $schema=../{SCHEMA_NAME}"
    assert (path.parent / first.split("=", 1)[1]).read_text() == shipped_schema()
    assert [p.name for p in (tmp_path / "issues").iterdir()] == [path.name]  # issues/ holds issues


@pytest.mark.parametrize("field", ["subject", "date", "lead"])
def test_required_fields_are_the_models_without_the_slug(field: str) -> None:
    required = issue_schema()["required"]
    assert field in required and "slug" not in required
