"""``newsletter publish``: the site put where ``asset_base_url`` and ``web_version_url`` point.

The site is built in memory exactly as ``newsletter site`` builds it (drafts and future issues
left out, always), compared with what the destination holds by content hash, and only the
files that differ are sent: images first, then the issue pages, then the archive, feeds and
sitemap that link to them, so a reader never follows a link to a file not there yet. Nothing
is ever deleted at the destination; files there that the site no longer has are reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.commands.site import make_site, write_site
from newsletter.delivery.storage import FolderStore, S3Store, Store, md5
from newsletter.errors import NewsletterError
from newsletter.model.site import SITE_FOLDER
from newsletter.model.workspace import Workspace
from newsletter.targets.web.hosting import cache_control, content_type, upload_order

__all__ = ["PublishReport", "Sent", "open_store", "publish"]


@dataclass(frozen=True)
class Sent:
    """One file that differed at the destination: where, how big, and how it is served."""

    path: str
    size: int
    content_type: str
    cache_control: str
    new: bool


@dataclass(frozen=True)
class PublishReport:
    """What ``publish`` sent (or, in a dry run, would send), and what it left alone."""

    destination: str
    dry_run: bool
    sent: list[Sent] = field(default_factory=list)
    unchanged: int = 0
    #: files at the destination that the site does not have (never deleted)
    stale: list[str] = field(default_factory=list)


def open_store(workspace: Workspace, to: str | None = None, *, client: object = None) -> Store:
    """The destination ``to`` (``--to``), else ``[publish] to``: ``s3://bucket/prefix`` or a
    folder (relative to the workspace when it comes from the settings)."""
    settings = workspace.settings.publish
    where = to or settings.to
    if not where:
        raise NewsletterError(
            "nowhere to publish to: pass --to DIR or --to s3://BUCKET/PREFIX, "
            'or set [publish] to = "..." in newsletter.toml'
        )
    if where.startswith("s3://"):
        return S3Store(
            where, endpoint_url=settings.endpoint_url, region=settings.region, client=client
        )
    if "://" in where:
        raise NewsletterError(f"{where}: publish goes to a folder or an s3:// bucket")
    folder = Path(where)
    return FolderStore(folder if folder.is_absolute() or to else workspace.root / folder)


def publish(
    workspace: Workspace,
    store: Store,
    *,
    dry_run: bool = False,
    today: dt.date | None = None,
) -> PublishReport:
    """Send the site's changed files to ``store`` (in a dry run, only say which).

    The site is also written to ``out/_site/``, the copy of what was published that
    ``newsletter check`` compares each email's images and web link with.
    """
    folder = workspace.out_dir / SITE_FOLDER
    site = make_site(workspace, today=today, folder=folder)
    if not dry_run:
        write_site(folder, site)
    files = site.files
    there = store.existing()
    sent: list[Sent] = []
    for path in sorted(files, key=upload_order):
        data = files[path]
        if there.get(path) == md5(data):
            continue
        change = Sent(path, len(data), content_type(path), cache_control(path), path not in there)
        if not dry_run:
            store.put(
                path, data, content_type=change.content_type, cache_control=change.cache_control
            )
        sent.append(change)
    return PublishReport(
        destination=store.describe(),
        dry_run=dry_run,
        sent=sent,
        unchanged=len(files) - len(sent),
        stale=sorted(set(there) - set(files)),
    )
