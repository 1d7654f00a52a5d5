"""The theme's MJML, checked for what mjml-python lets through without a word."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.model.artifact import BuildResult
from newsletter.model.workspace import builtin_themes
from newsletter.pipeline.compile import MJML_TAGS
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

from .conftest import EXAMPLE, parse


def test_the_theme_uses_only_real_mjml_tags_and_always_writes_alt(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    mjml = result.email.mjml
    assert set(re.findall(r"<(mj[a-z-]*)", mjml)) <= MJML_TAGS
    images = re.findall(r"<(?:mj-image|img)\b[^>]*\bsrc=[^>]*>", mjml)
    assert len(images) == 4 and all(" alt=" in tag for tag in images)
    assert 'inline="inline"' not in mjml  # MRML ignores it; the inline transform does the job


def test_every_template_file_of_the_theme_is_used() -> None:
    theme = builtin_themes() / "gzero"
    files = list(theme.rglob("*.j2"))
    names = {p.relative_to(theme).as_posix() for p in files}
    text = " ".join(p.read_text() for p in files)
    used = set(re.findall(r'(?:include|import|extends) "([^"]+)"', text))
    # the entry points: the email's two parts, and the web archive's two kinds of page
    entries = {"email.mjml.j2", "email.txt.j2", "web/issue.html.j2", "web/archive.html.j2"}
    assert names - used == entries


#: The line of the lead partial that first prints the headline.
LEAD_HEADLINE_LINE = next(
    number
    for number, line in enumerate(
        (builtin_themes() / "gzero" / "partials" / "lead.mjml.j2").read_text().splitlines(), 1
    )
    if "{{ lead.headline }}" in line
)


def override(workspace_dir: Path, partial: str, edit: Callable[[str], str]) -> None:
    """Copy the built-in theme into the workspace and edit one of its files."""
    own = workspace_dir / "templates" / "gzero"
    shutil.copytree(builtin_themes() / "gzero", own)
    path = own / partial
    path.write_text(edit(path.read_text()))


def failure(workspace_dir: Path) -> str:
    result = build_issue(
        workspace_dir / "issues" / f"{EXAMPLE}.yaml", load_workspace(workspace_dir)
    )
    assert not result.ok
    return "\n".join(map(str, result.problems))


def test_a_workspace_override_wins_over_the_builtin_partial(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    override(
        workspace_dir,
        "partials/footer.mjml.j2",
        lambda t: t.replace('{{ t("receiving", site=site_link) }}', "You get {{ nl.name }}"),
    )
    assert (
        b"You get GZERO Daily"
        in build(workspace_dir / "issues" / f"{EXAMPLE}.yaml").email.html.encode()
    )


@pytest.mark.parametrize(
    ("partial", "edit", "message"),
    [
        (
            "partials/header.mjml.j2",
            lambda t: t.replace("<mj-column>", "<mj-colum>", 1).replace(
                "</mj-column>", "</mj-colum>", 1
            ),
            ": email.mjml.j2: unknown MJML tag <mj-colum>",
        ),
        (
            "partials/lead.mjml.j2",
            lambda t: t.replace("{{ lead.headline }}", "{{ lead.headlin.upper() }}", 1),
            f"partials/lead.mjml.j2:{LEAD_HEADLINE_LINE}: template error: 'newsletter.model.issue.Lead object' has no attribute 'headlin'",
        ),
        (
            "partials/footer.mjml.j2",
            lambda t: t.replace("%%unsubscribe_url%%", "%%unsubscribe_link%%"),
            ": email.mjml.j2: unknown merge field %%unsubscribe_link%%",
        ),
        (
            "partials/footer.mjml.j2",
            lambda t: t.replace("</mj-section>", ""),
            ": email.mjml.j2: MJML error:",
        ),
    ],
)
def test_theme_mistakes_are_errors_that_name_the_template(
    workspace_dir: Path, partial: str, edit: Callable[[str], str], message: str
) -> None:
    override(workspace_dir, partial, edit)
    assert message in failure(workspace_dir)


def test_each_local_image_gets_the_height_of_its_file_at_its_shown_width(
    workspace_dir: Path, write_issue: Callable[..., Path]
) -> None:
    """The height attribute keeps an image's box while a client blocks images. A phone photo
    stored sideways with an EXIF turn is as tall as browsers show it; a web image, whose file
    is not at hand, keeps height:auto alone."""
    from PIL import Image

    photo = Image.new("RGB", (400, 300), "#777777")
    exif = Image.Exif()
    exif[0x0112] = 6  # turned 90 degrees: shown 300 wide, 400 tall
    photo.save(workspace_dir / "assets" / "phone.jpg", exif=exif)
    path = write_issue(
        "subject: Heights\ndate: 2025-06-26\nlead:\n  headline: A headline\n"
        "  image: {src: assets/phone.jpg, alt: A phone photo.}\n  body: Text.\n"
        "teasers:\n  - url: https://www.gzeromedia.com/a\n    summary: One.\n"
        "    image: {src: assets/budapest-pride.jpg, alt: Pride.}\n"
        "  - url: https://www.gzeromedia.com/b\n    summary: Two.\n"
        "    image: {src: 'https://cdn.example.com/x.jpg', alt: A web image.}\n"
    )
    result = build_issue(path, load_workspace(workspace_dir))
    assert result.email is not None, result.problems
    tags = {
        img.get("alt"): (img.get("width"), img.get("height"))
        for img in parse(result.email.html).iter("img")
    }
    assert tags["A phone photo."] == ("600", "800")
    assert tags["Pride."] == ("264", "149")  # 600 x 338 shown 264 wide
    assert tags["A web image."] == ("264", None)
