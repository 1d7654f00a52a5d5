"""``newsletter site`` again: only what changed is made anew, the result is the site a build
from nothing makes, and the email links the resized copies that the site holds."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from newsletter.cli import cli
from newsletter.commands import site as site_command
from newsletter.commands.site import build_site
from newsletter.model.artifact import BuildResult
from newsletter.workspace import load_workspace
from tests.conftest import EXAMPLE, parse
from tests.site.conftest import BASE, add_copies

TODAY = dt.date(2025, 7, 1)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _site(root: Path, out: Path | None = None) -> tuple[int, dict[str, bytes]]:
    report = build_site(load_workspace(root), today=TODAY, out=out)
    return report.rendered, _tree(report.folder)


def test_a_second_site_makes_only_what_changed_and_equals_a_site_made_from_nothing(
    workspace_dir: Path, tmp_path: Path
) -> None:
    copies = add_copies(workspace_dir, 12)  # newest first, all older than the example
    rendered, first = _site(workspace_dir)
    assert rendered == 13
    rendered, again = _site(workspace_dir)
    assert rendered == 0 and again == first

    # the subject of an issue in the middle: its page and its two neighbours' (which link
    # it by its subject) are made anew, and the archive and feeds show the new subject
    edited = copies[5]
    edited.write_text(
        edited.read_text(encoding="utf-8").replace("Issue number 7 of", "Issue seven of"),
        encoding="utf-8",
    )
    rendered, changed = _site(workspace_dir)
    assert rendered == 3
    differ = sorted(name for name in changed if changed[name] != first.get(name))
    assert differ == sorted(
        [
            f"{copies[4].stem}/index.html",
            f"{copies[5].stem}/index.html",
            f"{copies[6].stem}/index.html",
            "index.html",
            "feed.xml",
            "feed.json",
        ]
    )
    assert b"Issue seven of" in changed["feed.json"]
    _, fresh = _site(workspace_dir, tmp_path / "fresh")  # another folder: no cache
    assert fresh == changed


def test_a_page_changed_by_hand_or_lost_is_made_again(workspace_dir: Path) -> None:
    _, first = _site(workspace_dir)
    site = workspace_dir / "out" / "_site"
    (site / EXAMPLE / "index.html").write_text("edited by hand")
    (site / "index.html").unlink()
    rendered, again = _site(workspace_dir)
    assert rendered == 1 and again == first


def test_a_changed_setting_makes_every_page_anew(workspace_dir: Path) -> None:
    add_copies(workspace_dir, 3)
    _site(workspace_dir)
    config = workspace_dir / "newsletter.toml"
    config.write_text(config.read_text().replace('name = "GZERO Daily"', 'name = "GZERO Weekly"'))
    rendered, files = _site(workspace_dir)
    assert rendered == 4
    assert all(b"GZERO Weekly" in files[f"{p}/index.html"] for p in [EXAMPLE])


def test_an_unreadable_cache_is_no_cache(workspace_dir: Path) -> None:
    _, first = _site(workspace_dir)
    (workspace_dir / "out" / ".site-cache.pickle").write_bytes(b"not a pickle")
    rendered, again = _site(workspace_dir)
    assert rendered == 1 and again == first


def test_every_image_of_the_email_is_a_file_of_the_site_at_twice_its_width(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    """The email links each local image at 2x the width it shows it at (or the original's
    width when that is smaller), under asset_base_url, and ``site`` makes exactly that file."""
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.artifact is not None
    _site(workspace_dir)
    site = workspace_dir / "out" / "_site"
    images = parse(result.artifact.email.html).xpath("//img")
    assert len(images) == 4  # the lead and the three teasers with a photo
    for img in images:
        src = img.get("src")
        assert src.startswith(f"{BASE}assets/"), src
        shown = int(img.get("width"))
        rewrite = next(r for r in result.artifact.rewrites.images if r.final == src)
        original = Image.open(workspace_dir / rewrite.original)
        with Image.open(site / src.removeprefix(BASE)) as copy:
            assert copy.width == min(2 * shown, original.width), src
            assert abs(copy.height - original.height * copy.width / original.width) <= 1
        assert f".{copy.width}w." in src


def test_the_heavy_image_warning_goes_away_with_the_resized_copy(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    """A 2,400 px photo weighs more than [check] image_max_kb; the 1,200 px copy the email
    links does not, and the copy is what subscribers load."""
    photo = workspace_dir / "assets" / "putin-poaches-the-neighbors.jpg"
    with Image.open(photo) as image:
        image.resize((2400, image.height * 2)).save(photo, quality=100)
    assert photo.stat().st_size > 200 * 1024
    config = workspace_dir / "newsletter.toml"
    heavy = [
        f
        for f in build(workspace_dir / "issues" / f"{EXAMPLE}.yaml").findings
        if f.id == "image-heavy"
    ]
    assert heavy == []
    config.write_text(config.read_text().replace("asset_base_url", "# asset_base_url"))
    unpublished = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml").findings
    assert [f.id for f in unpublished if f.id == "image-heavy"] == ["image-heavy"]


def test_a_new_workspace_with_an_image_builds_checks_and_makes_its_site(tmp_path: Path) -> None:
    """The default workspace, with asset_base_url set as its comment says and an image added:
    the email links the copy, ``site`` makes it, and ``check`` finds nothing about the site."""
    runner = CliRunner()
    ws = tmp_path / "news"
    assert runner.invoke(cli, ["init", str(ws), "--name", "The Weekly"]).exit_code == 0
    config = ws / "newsletter.toml"
    config.write_text(
        config.read_text().replace(
            '# asset_base_url = "https://example.com/newsletter/"',
            'asset_base_url = "https://example.com/newsletter/"',
        )
    )
    (ws / "assets").mkdir(exist_ok=True)
    Image.new("RGB", (1600, 900), (20, 90, 160)).save(ws / "assets" / "photo.jpg")
    (issue,) = (ws / "issues").glob("*.yaml")
    text = issue.read_text()
    text = text.replace(
        "  body: |", "  image: {src: assets/photo.jpg, alt: A blue square.}\n  body: |", 1
    )
    issue.write_text(text)
    site = runner.invoke(cli, ["site", "-w", str(ws)])
    assert site.exit_code == 0, site.output
    checked = runner.invoke(cli, ["check", "-w", str(ws), "--json"])
    findings = json.loads(checked.output)
    assert [f for f in findings if f["id"].startswith("site-")] == [], findings
    built = runner.invoke(cli, ["build", "-w", str(ws)])
    assert built.exit_code == 0, built.output
    (html,) = (ws / "out").glob("*/email.html")
    (img,) = parse(html.read_text()).xpath("//img[contains(@src, 'photo')]")
    name = img.get("src").removeprefix("https://example.com/newsletter/")
    assert name.startswith("assets/photo.1200w.")
    with Image.open(ws / "out" / "_site" / name) as copy:
        assert copy.size == (1200, 675)


def test_an_issue_removed_leaves_the_site_and_the_spare_folder_stays_hidden(
    workspace_dir: Path, tmp_path: Path
) -> None:
    copies = add_copies(workspace_dir, 4)
    _site(workspace_dir)
    _site(workspace_dir)  # the replaced folder is kept beside it, to be updated next time
    assert (workspace_dir / "out" / "._site.spare" / EXAMPLE / "index.html").is_file()
    copies[1].unlink()
    rendered, files = _site(workspace_dir)
    assert rendered == 2  # the neighbours of the issue that is gone
    assert f"{copies[1].stem}/index.html" not in files
    assert not (workspace_dir / "out" / "_site" / copies[1].stem).exists()
    assert sorted(p.name for p in (workspace_dir / "out").iterdir()) == [
        "._site.spare",
        ".site-cache.pickle",
        "_site",
    ]
    _, fresh = _site(workspace_dir, tmp_path / "fresh")
    assert fresh == files


def test_the_spare_folder_is_put_right_whatever_it_holds(tmp_path: Path) -> None:
    """A spare left half-updated, or tampered with, never leaks into the folder: stale files
    and folders go, a link in it is replaced rather than written through, and a file that
    did not change is the folder's own (a hard link), not a copy."""
    from newsletter.commands.output import replace_folder_keeping_spare

    folder = tmp_path / "site"
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    replace_folder_keeping_spare(folder, {"a/index.html": b"one", "b/index.html": b"two"})
    spare = tmp_path / ".site.spare"
    assert not spare.exists()
    replace_folder_keeping_spare(folder, {"a/index.html": b"one", "b/index.html": b"2"})
    assert (spare / "b" / "index.html").read_bytes() == b"two"  # the folder replaced
    (spare / "old" / "deep").mkdir(parents=True)
    (spare / "old" / "deep" / "x.html").write_text("stale")
    (spare / "b" / "index.html").unlink()
    (spare / "b" / "index.html").symlink_to(outside)
    replace_folder_keeping_spare(
        folder, {"a/index.html": b"one", "b/index.html": b"3"}, unchanged=["a/index.html"]
    )
    assert _tree(folder) == {"a/index.html": b"one", "b/index.html": b"3"}
    assert outside.read_text() == "not yours"
    assert not (folder / "b" / "index.html").is_symlink()
    assert (folder / "a" / "index.html").stat().st_nlink == 2  # shared with the spare


def test_pages_rendered_on_two_processes_are_the_pages_one_renders(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past a number of pages to make (64), they are rendered in forked workers; the site is
    the same. The number is lowered here so that a small workspace crosses it."""
    monkeypatch.setattr(site_command, "_PARALLEL_PAGES", 4)
    add_copies(workspace_dir, 9)
    ws = load_workspace(workspace_dir)
    one = build_site(ws, today=TODAY, jobs=1, out=tmp_path / "one")
    two = build_site(ws, today=TODAY, jobs=2, out=tmp_path / "two")
    assert one.rendered == two.rendered == 10
    assert _tree(one.folder) == _tree(two.folder)


def test_without_a_site_at_asset_base_url_the_email_links_the_originals(
    workspace_dir: Path, build: Callable[..., BuildResult]
) -> None:
    """Issue pages elsewhere than asset_base_url: no `newsletter site` makes the files there,
    so the email links the images as they are in assets/."""
    config = workspace_dir / "newsletter.toml"
    config.write_text(
        config.read_text().replace(
            'web_version_url = "https://www.gzeromedia.com/newsletter/{slug}"',
            'web_version_url = "https://archive.example.com/{slug}"',
        )
    )
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.artifact is not None
    sources = [img.get("src") for img in parse(result.artifact.email.html).xpath("//img")]
    assert sources[0] == f"{BASE}assets/putin-poaches-the-neighbors.jpg"
    assert all(r.width is None for r in result.artifact.rewrites.images)
