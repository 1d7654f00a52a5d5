"""newsletter.toml: every mistake named with its key and line, before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter import ProblemsError
from newsletter.workspace import load_workspace


def problems(workspace_dir: Path, edit: tuple[str, str]) -> tuple[list[str], int]:
    """The problems after ``edit`` of the repository's settings, and the line it edited."""
    config = workspace_dir / "newsletter.toml"
    text = config.read_text()
    assert edit[0] in text
    config.write_text(text.replace(*edit))
    with pytest.raises(ProblemsError) as caught:
        load_workspace(workspace_dir)
    line = text[: text.index(edit[0])].count("\n") + 1
    return [str(p) for p in caught.value.problems], line


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ('{slug}"\npreferences', '{slg}"\npreferences'),
            "newsletter.toml:{line}: newsletter.web_version_url: unknown placeholder {slg} in "
            "'https://www.gzeromedia.com/newsletter/{slg}' (use {slug})",
        ),
        (
            ('utm_campaign = "{slug}"', 'utm_campaign = "{slug"'),
            "newsletter.toml:{line}: newsletter.utm.utm_campaign: expected '}' before end of string in '{slug' "
            "(write {{ and }} for a literal brace)",
        ),
        (
            ('site_url = "https://www.gzeromedia.com"', 'site_url = "gzeromedia.com"'),
            "newsletter.toml:{line}: newsletter.site_url: expected an absolute http(s) URL like https://example.com/, "
            "got 'gzeromedia.com'",
        ),
        (
            ('inliner = "css-inline"', 'inliner = "css-inlin"'),
            "newsletter.toml:{line}: transforms.inliner: expected one of 'premailer' or 'css-inline', got text 'css-inlin'",
        ),
        (
            ('[newsletter]\nname = "GZERO Daily"\n', "[newsletter]\n"),
            "newsletter.toml:{line}: newsletter.name: required field is missing",
        ),
        (
            ("[send]\n", "[sned]\n"),
            "newsletter.toml:{line}: sned: unknown field (did you mean 'send'?)",
        ),
        (
            ('lang = "en"', 'lang = "en'),
            "newsletter.toml:{line}: invalid TOML: Illegal character '\\n'",
        ),
    ],
)
def test_each_settings_mistake_is_one_line_with_key_and_line(
    workspace_dir: Path, edit: tuple[str, str], expected: str
) -> None:
    found, line = problems(workspace_dir, edit)
    assert found == [expected.replace("{line}", str(line))]
