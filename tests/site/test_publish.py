"""``newsletter publish``: to a folder, and to S3 through boto3 against moto's S3 API served on
127.0.0.1 (a real HTTP server speaking the S3 protocol, in this process's threads)."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from newsletter.cli import cli
from newsletter.commands.publish import open_store, publish
from newsletter.errors import NewsletterError
from newsletter.targets.web.hosting import IMMUTABLE, SHORT
from newsletter.workspace import load_workspace
from tests.conftest import EXAMPLE

TODAY = dt.date(2025, 7, 1)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 in server mode on a free port of 127.0.0.1."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Any:
    """A new bucket on the moto server, credentials in the environment as for AWS, and a
    boto3 client to read it back with."""
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    name = "site-" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
    client.create_bucket(Bucket=name)
    return client, name


def _with_s3(workspace_dir: Path, endpoint: str, bucket: str) -> None:
    config = workspace_dir / "newsletter.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'\n[publish]\nto = "s3://{bucket}/newsletter"\nendpoint_url = "{endpoint}"\n',
        encoding="utf-8",
    )


def _keys(client: Any, bucket: str) -> dict[str, str]:
    listing = client.list_objects_v2(Bucket=bucket)
    return {item["Key"]: item["ETag"] for item in listing.get("Contents", [])}


def test_publish_to_s3_sends_only_what_changed(
    workspace_dir: Path, bucket: Any, s3_endpoint: str
) -> None:
    client, name = bucket
    _with_s3(workspace_dir, s3_endpoint, name)
    ws = load_workspace(workspace_dir)

    dry = publish(ws, open_store(ws), dry_run=True, today=TODAY)
    # 19 files of the pages, and the email's three teaser images at 2x its 264 px
    assert dry.dry_run and len(dry.sent) == 22 and _keys(client, name) == {}
    assert not (workspace_dir / "out" / "_site").exists()  # a dry run writes nothing

    first = publish(ws, open_store(ws), today=TODAY)
    keys = _keys(client, name)
    assert sorted(keys) == sorted(f"newsletter/{s.path}" for s in first.sent)
    assert f"newsletter/{EXAMPLE}/index.html" in keys
    order = [s.path for s in first.sent]
    assert order.index("assets/budapest-pride.jpg") < order.index(f"{EXAMPLE}/index.html")
    assert order.index(f"{EXAMPLE}/index.html") < order.index("index.html")

    page = client.head_object(Bucket=name, Key=f"newsletter/{EXAMPLE}/index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert page["CacheControl"] == SHORT
    feed = client.head_object(Bucket=name, Key="newsletter/feed.xml")
    assert feed["ContentType"] == "application/atom+xml"
    hashed = next(k for k in keys if ".680w." in k)
    image = client.head_object(Bucket=name, Key=hashed)
    assert image["ContentType"] == "image/jpeg" and image["CacheControl"] == IMMUTABLE
    body = client.get_object(Bucket=name, Key=hashed)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == image["Metadata"]["sha256"]

    again = publish(ws, open_store(ws), today=TODAY)
    assert again.sent == [] and again.unchanged == 22
    assert _keys(client, name) == keys

    # one image changes: its original and its new sizes go up, the pages that show it
    # change with them (new hashed names), and nothing else
    path = workspace_dir / "assets" / "nato-summit-hague.jpg"
    with Image.open(path) as original:
        original.rotate(180).save(path, quality=90)
    changed = publish(ws, open_store(ws), today=TODAY)
    sent = sorted(s.path for s in changed.sent)
    originals = [p for p in sent if p.startswith("assets/") and ".jpg" in p and "w." not in p]
    assert originals == ["assets/nato-summit-hague.jpg"]
    assert all(
        "nato-summit-hague" in p or p.endswith(".html") or p.startswith("feed") for p in sent
    )
    after = _keys(client, name)
    assert (
        after["newsletter/assets/nato-summit-hague.jpg"]
        != keys["newsletter/assets/nato-summit-hague.jpg"]
    )
    assert (
        after["newsletter/assets/budapest-pride.jpg"]
        == keys["newsletter/assets/budapest-pride.jpg"]
    )


def test_a_changed_image_that_no_page_resizes_uploads_one_object(
    workspace_dir: Path, bucket: Any, s3_endpoint: str
) -> None:
    client, name = bucket
    _with_s3(workspace_dir, s3_endpoint, name)
    ws = load_workspace(workspace_dir)
    # a GIF is served as it is (no sizes, no hashed name): changing it changes one file
    gif = workspace_dir / "assets" / "chart.gif"
    Image.new("RGB", (200, 100), (200, 30, 30)).save(gif)
    issue = workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    text = issue.read_text(encoding="utf-8")
    issue.write_text(
        text.replace(
            "    summary: Small businesses",
            "    image: {src: assets/chart.gif, alt: A chart of growth.}\n    summary: Small businesses",
        ),
        encoding="utf-8",
    )
    publish(ws, open_store(ws), today=TODAY)
    Image.new("RGB", (200, 100), (30, 30, 200)).save(gif)
    changed = publish(ws, open_store(ws), today=TODAY)
    assert [(s.path, s.new, s.content_type) for s in changed.sent] == [
        ("assets/chart.gif", False, "image/gif")
    ]
    head = client.head_object(Bucket=name, Key="newsletter/assets/chart.gif")
    assert head["CacheControl"] == SHORT and head["ContentLength"] == gif.stat().st_size


def test_a_missing_bucket_is_one_line(workspace_dir: Path, bucket: Any, s3_endpoint: str) -> None:
    _with_s3(workspace_dir, s3_endpoint, "no-such-bucket")
    ws = load_workspace(workspace_dir)
    with pytest.raises(NewsletterError) as raised:
        publish(ws, open_store(ws), today=TODAY)
    assert raised.value.message.startswith("s3://no-such-bucket/newsletter: NoSuchBucket: ")


def test_publish_to_a_folder_with_the_cli(workspace_dir: Path, tmp_path: Path) -> None:
    dest = tmp_path / "www"
    run = CliRunner().invoke(cli, ["publish", "-w", str(workspace_dir), "--to", str(dest), "-n"])
    assert run.exit_code == 0, run.output
    assert run.output.splitlines()[-1] == f"would send 22 file(s) to {dest}, 0 unchanged"
    assert not dest.exists()
    run = CliRunner().invoke(cli, ["publish", "-w", str(workspace_dir), "--to", str(dest)])
    assert run.output.splitlines()[-1] == f"sent 22 file(s) to {dest}, 0 unchanged"
    assert (dest / EXAMPLE / "index.html").is_file()
    (dest / "old.html").write_text("from before")
    run = CliRunner().invoke(cli, ["publish", "-w", str(workspace_dir), "--to", str(dest)])
    assert run.output.splitlines() == [
        f"sent 0 file(s) to {dest}, 22 unchanged",
        "  1 file(s) there are no longer in the site (left as they are): old.html",
    ]
    assert (dest / "old.html").read_text() == "from before"


def test_nowhere_to_publish_to_says_how_to_say_where(workspace_dir: Path) -> None:
    run = CliRunner().invoke(cli, ["publish", "-w", str(workspace_dir)])
    assert run.exit_code == 1
    assert run.output.startswith("error: nowhere to publish to: pass --to DIR")


def test_the_folder_in_the_settings_is_relative_to_the_workspace(workspace_dir: Path) -> None:
    config = workspace_dir / "newsletter.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[publish]\nto = "public"\n')
    ws = load_workspace(workspace_dir)
    report = publish(ws, open_store(ws), today=TODAY)
    assert report.destination == str(workspace_dir.resolve() / "public")
    assert (workspace_dir / "public" / "feed.json").is_file()
    # the copy of what was published, that `check` compares the emails with
    assert (workspace_dir / "out" / "_site" / "feed.json").read_bytes() == (
        workspace_dir / "public" / "feed.json"
    ).read_bytes()
    shutil.rmtree(workspace_dir / "public")
