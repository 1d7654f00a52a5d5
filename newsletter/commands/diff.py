"""``newsletter diff ISSUE``: what changed in an issue since its last test send.

Editors send a test, read it on a phone, fix things, and then need to know what they changed
before they send the list: the subject, the preheader, the links (added, removed, pointed
elsewhere), the images, and the plain text as a unified diff. Each successful test send keeps a
:class:`Snapshot` of what it sent as ``.newsletter/snapshot@<slug>@<time>.json`` (at most
:data:`KEEP` per issue, each at most :data:`MAX_BYTES`); ``diff`` builds the issue as it is now
and compares it with the newest one. Both sides come from :func:`build_issue` with the
workspace's own settings, so the comparison is of like with like.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lxml import html as lxml_html

from newsletter.errors import NewsletterError, ProblemsError
from newsletter.model.artifact import Artifact
from newsletter.model.workspace import Workspace
from newsletter.pipeline.stages import build_issue

__all__ = ["KEEP", "MAX_BYTES", "DiffReport", "Snapshot", "diff_issue", "save_snapshot"]

#: Snapshots kept per issue (the oldest go first).
KEEP = 10
#: The largest snapshot written: an email past Gmail's clip is far smaller than this.
MAX_BYTES = 1024 * 1024
#: Where snapshots live, beside the send journal (``@`` is in no slug, so names cannot clash).
SNAPSHOTS = Path(".newsletter")


@dataclass(frozen=True)
class Snapshot:
    """What a test send sent: enough to say what changed, not the whole email."""

    slug: str
    sent_at: str
    subject: str
    preheader: str
    links: list[tuple[str, str]]  # (text, href), in the order of the email
    images: list[str]
    text: str

    @classmethod
    def of(cls, artifact: Artifact, sent_at: dt.datetime) -> Snapshot:
        email = artifact.email
        tree = lxml_html.document_fromstring(email.html)
        links = [
            (" ".join(a.text_content().split()) or a.get("title", ""), a.get("href", ""))
            for a in tree.iter("a")
            if a.get("href")
        ]
        images = [img.get("src", "") for img in tree.iter("img")]
        return cls(
            email.slug,
            sent_at.isoformat(timespec="seconds"),
            email.subject,
            email.preheader,
            links,
            images,
            email.text,
        )


@dataclass
class DiffReport:
    """What changed between the last test send (``before``) and the issue now."""

    source: str
    sent_at: str
    subject: tuple[str, str] | None = None  # (before, now) when they differ
    preheader: tuple[str, str] | None = None
    links_added: list[tuple[str, str]] = field(default_factory=list)
    links_removed: list[tuple[str, str]] = field(default_factory=list)
    links_changed: list[tuple[str, str, str]] = field(default_factory=list)  # text, before, now
    images_added: list[str] = field(default_factory=list)
    images_removed: list[str] = field(default_factory=list)
    text_diff: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.subject,
                self.preheader,
                self.links_added,
                self.links_removed,
                self.links_changed,
                self.images_added,
                self.images_removed,
                self.text_diff,
            )
        )

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "changed": self.changed}


def _artifact(workspace: Workspace, path: Path) -> Artifact:
    result = build_issue(path, workspace)
    if result.artifact is None:
        raise ProblemsError(result.problems)
    return result.artifact


def _snapshots(workspace: Workspace, slug: str) -> list[Path]:
    """The snapshots of ``slug``, oldest first."""
    folder = workspace.root / SNAPSHOTS
    return sorted(folder.glob(f"snapshot@{slug}@*.json")) if folder.is_dir() else []


def save_snapshot(
    workspace: Workspace, path: Path, *, now: dt.datetime | None = None
) -> Path | None:
    """Keep a snapshot of ``path`` as built now (call it after a test send succeeded); the
    oldest beyond :data:`KEEP` go. ``None`` when it would be larger than :data:`MAX_BYTES`."""
    when = now or dt.datetime.now(dt.UTC)
    snapshot = Snapshot.of(_artifact(workspace, path), when)
    data = json.dumps(asdict(snapshot), ensure_ascii=False).encode()
    if len(data) > MAX_BYTES:
        return None
    folder = workspace.root / SNAPSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"snapshot@{snapshot.slug}@{when.strftime('%Y%m%dT%H%M%S%f')}.json"
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)  # a snapshot is whole or absent
    for old in _snapshots(workspace, snapshot.slug)[:-KEEP]:
        old.unlink(missing_ok=True)
    return target


def _latest(workspace: Workspace, slug: str) -> Snapshot | None:
    for candidate in reversed(_snapshots(workspace, slug)):
        try:
            if candidate.stat().st_size > MAX_BYTES:
                continue
            raw = json.loads(candidate.read_text(encoding="utf-8"))
            raw["links"] = [tuple(link) for link in raw["links"]]
            return Snapshot(**raw)
        except (OSError, ValueError, TypeError, KeyError):
            continue  # a damaged snapshot is skipped, the one before it used
    return None


def diff_issue(workspace: Workspace, path: Path) -> DiffReport:
    """What changed in ``path`` since its last test send; an error if it never had one."""
    now = Snapshot.of(_artifact(workspace, path), dt.datetime.now(dt.UTC))
    before = _latest(workspace, now.slug)
    display = workspace.display(path)
    if before is None:
        raise NewsletterError(
            f"{display}: no test send of this issue to compare with yet; "
            f"send one first: newsletter send {display} --to you@example.com"
        )
    report = DiffReport(display, before.sent_at)
    if before.subject != now.subject:
        report.subject = (before.subject, now.subject)
    if before.preheader != now.preheader:
        report.preheader = (before.preheader, now.preheader)
    old_hrefs = {href for _, href in before.links}
    new_hrefs = {href for _, href in now.links}
    old_by_text = _unique_targets(before.links)
    new_by_text = _unique_targets(now.links)
    moved = {
        text: (old_by_text[text], new_by_text[text])
        for text in old_by_text.keys() & new_by_text.keys()
        if old_by_text[text] != new_by_text[text]
    }
    report.links_changed = [(text, old, new) for text, (old, new) in sorted(moved.items())]
    moved_hrefs = {old for old, _ in moved.values()} | {new for _, new in moved.values()}
    report.links_added = _once(link for link in now.links if link[1] not in old_hrefs | moved_hrefs)
    report.links_removed = _once(
        link for link in before.links if link[1] not in new_hrefs | moved_hrefs
    )
    report.images_added = [src for src in dict.fromkeys(now.images) if src not in before.images]
    report.images_removed = [src for src in dict.fromkeys(before.images) if src not in now.images]
    report.text_diff = list(
        difflib.unified_diff(
            before.text.splitlines(),
            now.text.splitlines(),
            f"sent {before.sent_at}",
            "now",
            lineterm="",
        )
    )
    return report


def _unique_targets(links: list[tuple[str, str]]) -> dict[str, str]:
    """Link text -> target, for the texts that always point at one target."""
    targets: dict[str, set[str]] = {}
    for text, href in links:
        if text:
            targets.setdefault(text, set()).add(href)
    return {text: next(iter(hrefs)) for text, hrefs in targets.items() if len(hrefs) == 1}


def _once(links: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(links))
