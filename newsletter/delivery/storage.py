"""Where ``newsletter publish`` puts the site: a folder, or an S3 bucket (or any S3-compatible
store) through boto3. Both are the same two-method :class:`Store`, so the publishing logic is
one and a test can hand it either.

A store says what it holds as ``{path: MD5 hex}``; publishing compares that with the site's
files and sends only those whose content differs. For S3 the MD5 is the object's ETag, which
S3 sets to the MD5 of the content for objects uploaded in one piece (what ``put`` does), so
one listing tells every object's content without downloading any.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from newsletter.errors import NewsletterError
from newsletter.files import write_whole

__all__ = ["FolderStore", "S3Store", "Store", "md5"]


def md5(data: bytes) -> str:
    """The content hash stores compare by (S3's ETag of a single-part upload)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class Store(Protocol):
    """A place a site is published to."""

    def describe(self) -> str:
        """The destination as the user wrote it, for reports."""
        ...

    def existing(self) -> dict[str, str]:
        """Every file the store holds under its root: path -> MD5 hex of its content."""
        ...

    def put(self, path: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """Store ``data`` at ``path`` (replacing what is there), served with these headers."""
        ...


@dataclass(frozen=True)
class FolderStore:
    """A folder on this machine (a web server's root, a synced drive). A static server sets
    its own headers, so content types and cache policy are not written here."""

    root: Path

    def describe(self) -> str:
        return str(self.root)

    def existing(self) -> dict[str, str]:
        if not self.root.is_dir():
            return {}
        found = {}
        for path in self.root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                found[path.relative_to(self.root).as_posix()] = md5(path.read_bytes())
        return found

    def put(self, path: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        target = self.root / path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_whole(target, data, mode=0o644)  # a reader never sees half a file
        except OSError as error:
            raise NewsletterError(f"cannot write {target}: {error.strerror or error}") from None


class S3Store:
    """A bucket, under an optional prefix (``s3://bucket/newsletter/``), through boto3.

    Credentials come from the environment, as for every AWS tool (``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, an instance role); none is ever read from
    ``newsletter.toml``.
    """

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise NewsletterError(f"{url}: expected s3://BUCKET or s3://BUCKET/PREFIX")
        self.url = url
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self.client = client

    def describe(self) -> str:
        return self.url

    def existing(self) -> dict[str, str]:
        found = {}
        with self._errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"].removeprefix(self.prefix)
                    found[key] = item["ETag"].strip('"')
        return found

    def put(self, path: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        with self._errors():
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + path,
                Body=data,
                ContentType=content_type,
                CacheControl=cache_control,
                Metadata={"sha256": hashlib.sha256(data).hexdigest()},
            )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """boto3's failures as one line that says what to do."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            yield
        except NoCredentialsError:
            raise NewsletterError(
                f"{self.url}: no AWS credentials: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment"
            ) from None
        except ClientError as error:
            info = error.response.get("Error", {})
            raise NewsletterError(
                f"{self.url}: {info.get('Code', 'error')}: {info.get('Message', error)}"
            ) from None
        except BotoCoreError as error:
            raise NewsletterError(f"{self.url}: {error}") from None
