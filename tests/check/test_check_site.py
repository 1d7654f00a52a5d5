"""The rules that keep a published workspace's links honest: the email's images and its web
version must be files of the site in ``out/_site/``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from newsletter.commands.site import build_site
from newsletter.model.artifact import BuildResult
from newsletter.model.findings import Finding
from newsletter.workspace import load_workspace
from tests.conftest import EXAMPLE

TODAY = dt.date(2025, 7, 1)


def _site_findings(result: BuildResult) -> list[Finding]:
    return [f for f in result.findings if f.id.startswith("site-")]


def test_an_unpublished_workspace_has_nothing_to_compare_with(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    assert _site_findings(build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")) == []


def test_a_published_issue_links_only_files_of_the_site(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    issue = workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    build_site(load_workspace(workspace_dir), today=TODAY)
    assert _site_findings(build(issue)) == []

    # an image edited after publishing, and one the site has lost: the email links each at
    # its copy of twice its width (264 px), named by what it is made from, so the edited
    # image's copy has a new name, which the site does not have either
    path = workspace_dir / "assets" / "nato-summit-hague.jpg"
    with Image.open(path) as original:
        original.rotate(180).save(path, quality=90)
    (lost,) = (workspace_dir / "out" / "_site" / "assets").glob("budapest-pride.528w.*.jpg")
    lost.unlink()
    findings = _site_findings(build(issue))
    lines = [n for n, line in enumerate(issue.read_text().splitlines(), 1) if "  src: " in line]
    assert [(f.id, f.severity, f.location) for f in findings] == [
        (
            "site-asset-missing",
            "error",
            f"issues/{EXAMPLE}.yaml:{lines[1]}: teasers[0].image.src",
        ),
        (
            "site-asset-missing",
            "error",
            f"issues/{EXAMPLE}.yaml:{lines[3]}: teasers[3].image.src",
        ),
    ]
    assert findings[0].message == (
        "image assets/budapest-pride.jpg is linked as "
        f"https://www.gzeromedia.com/newsletter/assets/{lost.name}, which the published "
        "site does not have: run newsletter publish (or newsletter site) before sending"
    )
    assert findings[1].message.startswith(
        "image assets/nato-summit-hague.jpg is linked as "
        "https://www.gzeromedia.com/newsletter/assets/nato-summit-hague.528w."
    )
    assert "which the published site does not have" in findings[1].message


def test_a_draft_has_no_page_to_view_in_the_browser(
    workspace_dir: Path, build: Callable[..., BuildResult], write_issue: Callable[..., Path]
) -> None:
    text = (workspace_dir / "issues" / f"{EXAMPLE}.yaml").read_text(encoding="utf-8")
    draft = write_issue(text.replace("date: 2025-06-26", "date: 2025-06-26\ndraft: true"))
    build_site(load_workspace(workspace_dir), today=TODAY)
    (finding,) = _site_findings(build(draft))
    assert (finding.id, finding.severity, finding.location) == (
        "site-page-missing",
        "warning",
        "issues/2025-06-26-test.yaml",
    )
    assert finding.message == (
        "the email's View in browser link "
        "(https://www.gzeromedia.com/newsletter/2025-06-26-test) is not a page of the "
        "published site: it is a draft"
    )
