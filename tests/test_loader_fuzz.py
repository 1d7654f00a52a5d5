"""The issue loader on arbitrary text: it returns an issue or raises ProblemsError with lines,
never anything else, and never takes long (YAML aliases and nesting are bounded)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.errors import ProblemsError
from newsletter.pipeline.load import parse_issue

_YAMLISH = st.text(alphabet="abc:- \n\t'\"&*!|>[]{}#%@`,?\\\x00é\u202e", max_size=400)
_VALID = """\
subject: S
date: 2025-06-26
lead:
  headline: H
  body: |
    A paragraph.
teasers: []
"""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_YAMLISH)
def test_any_text_is_an_issue_or_problems(text: str) -> None:
    for suffix in (".yaml", ".md"):
        try:
            parse_issue(text, slug="x", suffix=suffix, file="issues/x.yaml")
        except ProblemsError as error:
            assert error.problems
            assert all(str(p).startswith("issues/x.yaml") for p in error.problems)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=len(_VALID)), _YAMLISH)
def test_a_valid_issue_with_text_spliced_in_is_an_issue_or_problems(at: int, text: str) -> None:
    spliced = _VALID[:at] + text + _VALID[at:]
    try:
        parse_issue(spliced, slug="x", file="issues/x.yaml")
    except ProblemsError as error:
        assert error.problems
