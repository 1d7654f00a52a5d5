"""An image ``src`` cannot turn a secret into an "image": not through a symlink, a hidden
folder, or a file that only has an image's name. Each attack goes through the real loader, the
Mailchimp export (which packs local images into its ZIP) and the preview's file route."""

from __future__ import annotations

import io
import os
import urllib.request
import zipfile
from pathlib import Path

import pytest

from newsletter.commands.preview import PreviewServer
from newsletter.errors import NewsletterError, ProblemsError
from newsletter.pipeline.load import parse_issue
from newsletter.pipeline.transforms.sizes import read_source

from .delivery_support import ISSUE, make_workspace

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
MINIMAL = """\
subject: S
date: 2025-06-26
lead:
  headline: H
  image: {src: SRC, alt: A photo.}
  body: |
    A first paragraph.
teasers: []
"""


def _problem(root: Path, src: str) -> str:
    with pytest.raises(ProblemsError) as raised:
        parse_issue(MINIMAL.replace("SRC", src), slug="x", root=root, file="issues/x.yaml")
    (problem,) = raised.value.problems
    assert problem.field == "lead.image.src" and problem.line == 5
    return problem.message


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "real.jpg").write_bytes(JPEG)
    (tmp_path / ".newsletter").mkdir()
    (tmp_path / ".newsletter" / "sends.sqlite").write_bytes(b"SQLite format 3\0 ann@example.com")
    (tmp_path / "dkim.pem").write_text("-----BEGIN PRIVATE KEY-----\nMIIE...\n")
    return tmp_path


def test_a_real_image_passes(root: Path) -> None:
    issue = parse_issue(MINIMAL.replace("SRC", "assets/real.jpg"), slug="x", root=root)
    assert issue.lead.image is not None


@pytest.mark.parametrize(
    ("src", "link", "message"),
    [
        ("dkim.pem", None, "dkim.pem is not a JPEG, PNG, GIF or WebP image by its content"),
        ("newsletter.toml", None, "image file not found: newsletter.toml"),
        (".newsletter/sends.sqlite", None, "may not be in a hidden folder or file"),
        ("assets/x.jpg", "/proc/self/environ", "leads outside the workspace (a symlink?)"),
        ("assets/key.jpg", "../dkim.pem", "is not a JPEG, PNG, GIF or WebP image by its content"),
        ("assets/journal.jpg", "../.newsletter/sends.sqlite", "leads into a hidden folder"),
        ("assets/up/real.jpg", "/", "leads outside the workspace"),
        ("assets/logo.svg", None, "SVG is not shown by Gmail or Outlook: export it as PNG"),
    ],
)
def test_what_no_image_src_may_name(root: Path, src: str, link: str | None, message: str) -> None:
    if link is not None:
        target = Path(src).parent if src.endswith("real.jpg") else Path(src)
        os.symlink(link, root / target)
    if src.endswith(".svg"):
        (root / src).write_text('<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')
    assert message in _problem(root, src)


def test_the_stages_read_an_image_where_its_links_lead_and_never_outside(root: Path) -> None:
    """What the assets stage, the image heights and the site's copies read (``read_source``)
    follows a link under the workspace, takes a path with ``..`` where it really leads, and
    refuses one that leads out, as ``realpath`` over the whole path did."""
    real = str(root.resolve() / "assets" / "real.jpg")
    os.symlink("real.jpg", root / "assets" / "alias.jpg")
    os.symlink("/proc/self/environ", root / "assets" / "environ.jpg")
    assert read_source(root, "assets/real.jpg").path == real
    assert read_source(root, "assets/alias.jpg").path == real
    assert read_source(root, "assets/../assets/./real.jpg").path == real
    for src in ("assets/environ.jpg", "../outside.jpg"):
        with pytest.raises(NewsletterError, match="leads outside the workspace"):
            read_source(root, src)


def test_no_export_or_preview_serves_a_secret_behind_an_image_name(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    os.symlink("/proc/self/environ", ws / "assets" / "environ.jpg")
    (ws / ".newsletter").mkdir()
    (ws / ".newsletter" / "secret.jpg").write_bytes(JPEG)
    server = PreviewServer(ws, port=0)
    server.start()
    try:
        for path in ("assets/environ.jpg", ".newsletter/secret.jpg", "newsletter.toml"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{server.url}{path}", timeout=10)
            assert refused.value.code == 404, path
        with urllib.request.urlopen(f"{server.url}assets/budapest-pride.jpg", timeout=10) as ok:
            assert ok.read(3) == b"\xff\xd8\xff"
    finally:
        server.close()
    from newsletter.commands.export import export_issue
    from newsletter.workspace import load_workspace

    (done,) = export_issue(load_workspace(ws), ws / ISSUE, ["mailchimp"])
    packed = zipfile.ZipFile(io.BytesIO((done.folder / "template.zip").read_bytes()))
    for name in packed.namelist():
        data = packed.read(name)
        assert name == "index.html" or data.startswith(b"\xff\xd8\xff"), name
        assert b"NEWSLETTER" not in data and b"PATH=" not in data


def test_an_issue_file_that_links_out_of_the_workspace_is_not_read(
    workspace_dir: Path, tmp_path: Path
) -> None:
    from newsletter.commands.build import build
    from newsletter.workspace import load_workspace

    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = abcd\n")
    (example,) = (workspace_dir / "issues").iterdir()
    issue = example.read_text()
    link = workspace_dir / "issues" / "2026-12-04-credentials.yaml"
    link.symlink_to(secret)
    workspace = load_workspace(workspace_dir)
    report = build(workspace, [link], force=True)
    ((shown, problems),) = report.failed.items()
    assert shown == "issues/2026-12-04-credentials.yaml"  # by its own name, not where it leads
    assert [p.message for p in problems] == [
        f"a link to {secret}, outside the workspace: copy the file into issues/ (or give "
        "that file's own path on the command line)"
    ]
    # The same issue as a file of its own outside the workspace, named by the editor, builds.
    link.unlink()
    outside = tmp_path / "2026-12-04-draft.yaml"
    outside.write_text(issue)
    assert [b.folder.name for b in build(workspace, [outside], force=True).built] == [
        "2026-12-04-draft"
    ]
    # A link that stays in the workspace is the editor's own business.
    (workspace_dir / "drafts").mkdir()
    (workspace_dir / "drafts" / "d.yaml").write_text(issue)
    link.symlink_to(workspace_dir / "drafts" / "d.yaml")
    assert len(build(workspace, [link], force=True).built) == 1


def test_settings_or_an_out_folder_that_link_out_of_the_workspace_are_refused(
    workspace_dir: Path, tmp_path: Path
) -> None:
    """A cloned workspace's ``out -> ~`` would have a build replace ``~/<slug>`` with an
    email folder; its ``newsletter.toml`` linked to a file of the editor's would be read into
    every email. Both are refused before anything is read or written through them."""
    from click.testing import CliRunner

    from newsletter.cli import cli

    home = tmp_path / "home"
    (home / "2025-06-26-putin-poaches-the-neighbors").mkdir(parents=True)
    (home / "2025-06-26-putin-poaches-the-neighbors" / "notes.txt").write_text("mine\n")
    (workspace_dir / "out").symlink_to(home)
    config = workspace_dir / "newsletter.toml"
    shared = tmp_path / "shared.toml"
    config.rename(shared)
    config.symlink_to(shared)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    result = CliRunner().invoke(cli, ["build", "--workspace", str(workspace_dir)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"newsletter.toml: a link to {shared}, outside the workspace: copy it in",
        f"out/: a link to {home}, outside the workspace, where builds would write: remove the "
        "link (rm out) and builds make out/ here; `newsletter site --out DIR` writes the web "
        "archive anywhere",
        "2 problems found",
    ]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before

    # Links that stay in the workspace are the editor's own business.
    config.unlink()
    (workspace_dir / "settings").mkdir()
    shared.rename(workspace_dir / "settings" / "newsletter.toml")
    config.symlink_to(workspace_dir / "settings" / "newsletter.toml")
    (workspace_dir / "out").unlink()
    (workspace_dir / "build").mkdir()
    (workspace_dir / "out").symlink_to(workspace_dir / "build")
    result = CliRunner().invoke(cli, ["build", "--workspace", str(workspace_dir)])
    assert result.exit_code == 0, result.output
    assert (
        workspace_dir / "build" / "2025-06-26-putin-poaches-the-neighbors" / "email.html"
    ).is_file()
