"""Themes as data: theme.toml chains, [theme] overrides, a theme that extends gzero, and the
mistakes that must be one clear error when the workspace is loaded, not one per issue."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from newsletter.errors import ProblemsError
from newsletter.model.artifact import BuildResult
from newsletter.workspace import load_workspace

from .conftest import EXAMPLE, MINIMAL, parse


def problems(workspace_dir: Path) -> list[str]:
    with pytest.raises(ProblemsError) as error:
        load_workspace(workspace_dir)
    return [str(p) for p in error.value.problems]


def set_toml(workspace_dir: Path, old: str, new: str = "", append: str = "") -> None:
    config = workspace_dir / "newsletter.toml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new or old) + append)


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_an_unknown_theme_is_one_error_at_load_that_names_the_setting(
    workspace_dir: Path,
) -> None:
    set_toml(workspace_dir, 'template = "gzero"', 'template = "gzer"')
    line = line_of(workspace_dir / "newsletter.toml", 'template = "gzer"')
    assert problems(workspace_dir) == [
        f"newsletter.toml:{line}: newsletter.template: no theme 'gzer': the built-in themes "
        "are digest, gzero, or make templates/gzer/ with a theme.toml that says which one it "
        "extends"
    ]


def test_misspelt_keys_and_bad_colours_in_theme_are_errors_with_their_lines(
    workspace_dir: Path,
) -> None:
    set_toml(workspace_dir, 'accent = "#b3002d"', 'acent = "#00ff00"\nlink = "blue"')
    set_toml(workspace_dir, "[export]", append='\n[theme.strings.fr]\nmore = "Plus"\n')
    config = workspace_dir / "newsletter.toml"
    found = problems(workspace_dir)
    assert found[0].startswith(
        f"newsletter.toml:{line_of(config, 'acent')}: theme.colors.acent: unknown key (known: page, card,"
    )
    assert found[1].startswith(
        f"newsletter.toml:{line_of(config, 'more =')}: theme.strings.fr.more: unknown string (known:"
    )
    assert len(found) == 2  # the colour is checked once the keys are right
    set_toml(workspace_dir, 'acent = "#00ff00"\n', "\n")
    set_toml(workspace_dir, 'more = "Plus"\n', "\n")
    assert problems(workspace_dir) == [
        f"newsletter.toml:{line_of(config, 'link =')}: theme.colors.link: expected a colour "
        "like #1a1a1a, got 'blue'"
    ]


def test_theme_values_words_and_languages_are_overridden_from_newsletter_toml(
    workspace_dir: Path, write_issue: Callable[..., Path], build: Callable[..., BuildResult]
) -> None:
    set_toml(workspace_dir, 'accent = "#b3002d"', 'accent = "#0b6e4f"')
    set_toml(
        workspace_dir,
        "[export]",
        append='\n[theme.strings.en]\nmore_from = "Also from {brand}"\n'
        '[theme.strings.pt]\nmore_from = "Mais de {brand}"\n',
    )
    example = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert example.email is not None
    doc = parse(example.email.html)
    assert doc.findtext(".//h2") == "Also from GZERO Media"
    assert doc.xpath("//*[contains(@class,'nl-button')]//td")[0].get("bgcolor") == "#0b6e4f"
    teaser = MINIMAL.replace(
        "teasers: []", "teasers:\n  - url: https://e.com/t\n    summary: Um resumo.\n"
    )
    result = build(write_issue("lang: pt-BR\n" + teaser))
    assert result.email is not None
    doc = parse(result.email.html)
    assert doc.findtext(".//h2") == "Mais de GZERO Media"  # pt-BR falls back to pt
    assert "26 de junho de 2025" in doc.text_content()  # Babel's date in Portuguese
    assert "View in browser" in doc.text_content()  # a word pt lacks falls back to English


def test_a_workspace_theme_extends_gzero_with_a_few_values_and_one_block(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    house = workspace_dir / "templates" / "house"
    house.mkdir(parents=True)
    (house / "theme.toml").write_text(
        'name = "house"\nextends = "gzero"\n[colors]\npage = "#fff4e0"\n'
    )
    (house / "email.mjml.j2").write_text(
        '{% extends "base.mjml.j2" %}\n{% block footer %}\n    <mj-section><mj-column>'
        '<mj-text><p>House footer for {{ nl.name }} <a href="%%unsubscribe_url%%">'
        '{{ t("unsubscribe") }}</a></p></mj-text></mj-column></mj-section>\n{% endblock %}\n'
    )
    set_toml(workspace_dir, 'template = "gzero"', 'template = "house"')
    workspace = load_workspace(workspace_dir)
    assert workspace.theme.name == "house" and workspace.theme.values.extends == "gzero"
    assert [d.name for d in workspace.theme_dirs] == ["house", "gzero"]
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.email is not None
    doc = parse(result.email.html)
    assert "House footer for GZERO Daily" in doc.text_content()
    assert "You are receiving" not in doc.text_content()
    assert doc.findtext(".//h2") == "More from GZERO Media"  # the rest is gzero's
    assert "background-color:#fff4e0" in result.email.html.replace(" ", "")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"partials/lead.mjml.j2": "{% if lead.kicker %}\n<mj-text>x</mj-text>\n"},
            "templates/gzero/partials/lead.mjml.j2:1: template error: Unexpected end of template. "
            "Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The "
            "innermost block that needs to be closed is 'if'.",
        ),
        (
            {"email.mjml.j2": '{% extends "base.mjml.j2" %}\n\n{% block heder %}{% endblock %}\n'},
            "templates/gzero/email.mjml.j2:3: block 'heder' is not a block of base.mjml.j2 "
            "(its blocks: footer, head, header, intro, lead, preheader, styles, teasers, top)",
        ),
        (
            {"theme.toml": '[colours]\npage = "#ffffff"\n'},
            "templates/gzero/theme.toml:1: colours: unknown key",
        ),
    ],
)
def test_a_broken_override_is_one_error_at_load(
    workspace_dir: Path, files: dict[str, str], message: str
) -> None:
    own = workspace_dir / "templates" / "gzero"
    for name, text in files.items():
        (own / name).parent.mkdir(parents=True, exist_ok=True)
        (own / name).write_text(text)
    assert problems(workspace_dir) == [message]


def test_a_clean_override_is_parsed_once_and_an_edit_to_any_template_checks_again(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsletter.pipeline import theme

    own = workspace_dir / "templates" / "gzero" / "email.mjml.j2"
    own.parent.mkdir(parents=True)
    own.write_text('{% extends "base.mjml.j2" %}\n{% block footer %}{% endblock %}\n')
    parses: list[str] = []
    checked = theme._template_problems

    def counted(*args: Any) -> Any:
        parses.append("parsed")
        return checked(*args)

    monkeypatch.setattr(theme, "_template_problems", counted)
    load_workspace(workspace_dir)
    load_workspace(workspace_dir)
    assert parses == ["parsed"]  # the second load took the kept clean result
    own.write_text('{% extends "base.mjml.j2" %}\n{% block fotter %}{% endblock %}\n')
    assert problems(workspace_dir) == [
        "templates/gzero/email.mjml.j2:2: block 'fotter' is not a block of base.mjml.j2 "
        "(its blocks: footer, head, header, intro, lead, preheader, styles, teasers, top)"
    ]
    assert problems(workspace_dir) == problems(workspace_dir)  # a problem is never kept
    assert parses == ["parsed"] * 4
    # The base it extends is read too: a block the base drops is found, though the
    # override did not change.
    base = workspace_dir / "templates" / "gzero" / "base.mjml.j2"
    own.write_text('{% extends "base.mjml.j2" %}\n{% block footer %}{% endblock %}\n')
    load_workspace(workspace_dir)
    base.write_text("{% block head %}{% endblock %}\n")
    assert problems(workspace_dir) == [
        "templates/gzero/email.mjml.j2:2: block 'footer' is not a block of base.mjml.j2 "
        "(its blocks: head)"
    ]


def test_a_template_or_theme_that_links_out_of_the_workspace_is_refused_unread(
    workspace_dir: Path, tmp_path: Path, build: Callable[..., BuildResult]
) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN PRIVATE KEY-----\n")
    own = workspace_dir / "templates" / "gzero"
    (own / "partials").mkdir(parents=True)
    footer = own / "partials" / "footer.mjml.j2"
    footer.symlink_to(secret)
    assert problems(workspace_dir) == [
        f"templates/gzero/partials/footer.mjml.j2: a link to {secret}, outside its theme "
        "folder: copy the file in instead"
    ]
    # A link that stays in its theme folder is the editor's own business.
    footer.unlink()
    (own / "mine.mjml.j2").write_text("<mj-section></mj-section>\n")
    footer.symlink_to(own / "mine.mjml.j2")
    load_workspace(workspace_dir)
    footer.unlink()
    (own / "theme.toml").symlink_to(tmp_path / "theme.toml")
    (tmp_path / "theme.toml").write_text('name = "gzero"\n')
    assert problems(workspace_dir) == [
        f"templates/gzero/theme.toml: a link to {tmp_path / 'theme.toml'}, outside the "
        "workspace: copy it in"
    ]
    (own / "theme.toml").unlink()
    (own / "mine.mjml.j2").unlink()
    (own / "partials").rmdir()
    own.rmdir()
    elsewhere = tmp_path / "theme"
    (elsewhere / "partials").mkdir(parents=True)
    (elsewhere / "partials" / "footer.mjml.j2").write_text("<mj-section></mj-section>\n")
    own.symlink_to(elsewhere)
    assert problems(workspace_dir) == [
        f"templates/gzero/: a link to {elsewhere}, outside the workspace: copy the theme into "
        "templates/gzero/ instead"
    ]


def test_rendering_refuses_a_template_that_links_out_of_its_theme_folder(
    tmp_path: Path,
) -> None:
    from newsletter.errors import NewsletterError
    from newsletter.pipeline.render import environment

    theme = tmp_path / "theme"
    theme.mkdir()
    (tmp_path / "secret.txt").write_text("private")
    (theme / "page.html.j2").write_text('<p>{% include "part.html.j2" %}</p>')
    (theme / "part.html.j2").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(Exception, match="outside its theme folder") as error:
        environment((theme,)).get_template("page.html.j2").render()
    assert "private" not in str(error.value)
    assert not isinstance(error.value, NewsletterError)  # render() adds the place to it


def test_a_theme_folder_without_theme_toml_says_what_to_add(workspace_dir: Path) -> None:
    (workspace_dir / "templates" / "plain").mkdir(parents=True)
    set_toml(workspace_dir, 'template = "gzero"', 'template = "plain"')
    (found,) = problems(workspace_dir)
    assert found.endswith(
        'newsletter.template: templates/plain/ has no theme.toml: add one with name = "plain" '
        'and extends = "gzero" (or another built-in theme)'
    )


def test_the_digest_theme_is_compact_and_text_first(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    gzero = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    set_toml(workspace_dir, 'template = "gzero"', 'template = "digest"')
    digest = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert gzero.email is not None and digest.email is not None
    light, compact = parse(gzero.email.html), parse(digest.email.html)
    assert len(light.findall(".//img")) == 4 and compact.findall(".//img") == []
    assert compact.xpath("//*[contains(@class,'nl-col')]") == []  # a list, not columns
    assert [h.text_content() for h in compact.findall(".//h3")] == [
        h.text_content() for h in light.findall(".//h3")
    ]
    assert "Thursday, June 26, 2025" in compact.text_content()  # its date format: full
    assert len(digest.email.html) < 0.85 * len(gzero.email.html)
    assert [str(f) for f in digest.artifact.findings if f.severity != "info"] == []


def test_brand_marks_logo_intro_social_and_subscribe(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    set_toml(
        workspace_dir,
        '# logo = "assets/gzero-daily-logo.png"',
        'logo = "assets/gzero-daily-logo.png"',
    )
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.email is not None
    doc = parse(result.email.html)
    (logo,) = doc.xpath("//*[contains(@class,'nl-logo')]//img")
    assert logo.get("alt") == "GZERO Daily" and (logo.get("width"), logo.get("height")) == (
        "180",
        "40",
    )
    # at its copy of twice its width, which `newsletter site` makes
    assert re.fullmatch(
        r"https://www\.gzeromedia\.com/newsletter/assets/gzero-daily-logo\.360w\.[0-9a-f]{10}\.png",
        logo.get("src"),
    )
    assert logo.getparent().get("href").startswith("https://www.gzeromedia.com?utm_source=")
    assert doc.xpath("//*[contains(@class,'nl-masthead')]") == []
    intro = doc.xpath("//*[contains(@class,'nl-intro')]")[0].text_content().strip()
    assert intro.startswith("Good morning, %%first_name|there%%.")
    footer = doc.xpath("//*[contains(@class,'nl-footer')]")[0]
    links = {a.text_content(): a.get("href").split("?")[0] for a in footer.iter("a")}
    assert links["GZERO on X"] == "https://x.com/gzeromedia"
    assert links["Subscribe"] == "https://www.gzeromedia.com/newsletters"
    assert "Forwarded this email? Subscribe" in footer.text_content()
    assert "Subscribe:\nhttps://www.gzeromedia.com/newsletters" in result.email.text
    assert "Good morning, %%first_name|there%%." in result.email.text
    message = email.message_from_bytes(result.artifact.message, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(("plain",))
    assert plain is not None and "Good morning, Alex." in plain.get_content()


def test_a_long_lead_is_cut_between_paragraphs_with_a_continue_reading_link(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    set_toml(workspace_dir, "[export]", append="\n[theme.layout]\nlead_words = 60\n")
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.email is not None
    doc = parse(result.email.html)
    paragraphs = doc.xpath("//*[contains(@class,'nl-body-text')]//p")
    assert len(paragraphs) == 2  # 51 words, then the paragraph that passes 60
    (button,) = doc.xpath("//*[contains(@class,'nl-button')]//a")
    assert button.text_content() == "Continue reading"
    assert button.get("href").startswith("https://www.gzeromedia.com/news/putin-poaches")
    assert "Prominent Russian lawmakers" in result.email.text  # the text part keeps it whole


def test_an_override_added_edited_or_removed_between_builds_is_used_at_once(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    """The theme's templates are kept loaded between builds (the preview builds on every
    save): a new override, an edit to it and its removal must each show in the next build."""
    example = workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    partials = workspace_dir / "templates" / "gzero" / "partials"
    partials.mkdir(parents=True)

    def footer() -> str:
        result = build(example)
        assert result.email is not None
        return parse(result.email.html).text_content()

    assert "You are receiving" in footer()
    override = partials / "footer.mjml.j2"
    override.write_text(
        "<mj-section><mj-column><mj-text>Own footer one</mj-text></mj-column></mj-section>\n"
    )
    assert "Own footer one" in footer()
    override.write_text(
        "<mj-section><mj-column><mj-text>Own footer two</mj-text></mj-column></mj-section>\n"
    )
    assert "Own footer two" in footer()
    override.unlink()
    assert "You are receiving" in footer()
