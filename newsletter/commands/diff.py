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
from html import escape
from pathlib import Path

from lxml import html as lxml_html

from newsletter.errors import NewsletterError, ProblemsError
from newsletter.mail.values import sample_values
from newsletter.model.artifact import Artifact
from newsletter.model.mergefields import fill
from newsletter.model.workspace import Workspace
from newsletter.pipeline.stages import build_issue

__all__ = [
    "HIGHLIGHT",
    "KEEP",
    "MAX_BYTES",
    "DiffReport",
    "Snapshot",
    "diff_issue",
    "mark_changes",
    "save_snapshot",
    "side_by_side",
]

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
    html: str = ""  # the email as built, for the visual diff (none in older snapshots)

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
            email.html,
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
    #: the email as sent and as it is now, each with its changed blocks marked (see
    #: :func:`mark_changes`); empty when the snapshot predates the visual diff
    visual: tuple[str, str] = field(default=("", ""), repr=False)
    regions: int = 0  # blocks added, removed or changed, as the visual diff marks them
    #: each image URL of the email now -> the workspace file it shows (``assets/a.jpg``), for
    #: a preview that serves the images itself
    image_files: dict[str, str] = field(default_factory=dict, repr=False)

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
        """Everything but the two marked emails: what a script wants from ``--json``."""
        data = asdict(self)
        del data["visual"], data["image_files"]
        return {**data, "changed": self.changed}


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
    artifact = _artifact(workspace, path)
    now = Snapshot.of(artifact, dt.datetime.now(dt.UTC))
    before = _latest(workspace, now.slug)
    display = workspace.display(path)
    if before is None:
        raise NewsletterError(
            f"{display}: no test send of this issue to compare with yet; "
            f"send one first: newsletter send {display} --to you@example.com"
        )
    report = DiffReport(display, before.sent_at)
    report.image_files = {image.final: image.original for image in artifact.rewrites.images}
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
    if before.html:
        values = sample_values(workspace.settings, now.slug)  # as message.eml shows them
        *marked, report.regions = mark_changes(before.html, now.html)
        report.visual = (
            fill(marked[0], values, html_escape=True),
            fill(marked[1], values, html_escape=True),
        )
    return report


def side_by_side(report: DiffReport) -> str:
    """A page with the email as last sent and as it is now, side by side at 600 px, the
    changed regions highlighted: what ``newsletter diff --html`` writes."""
    before, now = report.visual
    frames = "".join(
        f'<figure><figcaption>{escape(caption)}</figcaption><iframe title="{escape(caption)}" '
        f'srcdoc="{escape(html)}" sandbox="allow-popups"></iframe></figure>'
        for caption, html in (
            (f"Test send of {report.sent_at}", before),
            ("Now", now),
        )
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(report.source)}: changes</title>
<style>body{{margin:16px;font:14px system-ui,sans-serif;background:#f3f4f6;color:#1f2328}}
main{{display:flex;gap:16px;flex-wrap:wrap}}figure{{margin:0}}
iframe{{width:600px;height:90vh;border:1px solid #d0d7de;background:#fff}}
figcaption{{font-weight:600;margin-bottom:6px}}</style></head>
<body><h1>{escape(report.source)}</h1>
<p>{report.regions} region{"" if report.regions == 1 else "s"} changed since the test send
of {escape(report.sent_at)}, outlined in red (green: added).</p>
<main>{frames}</main></body></html>
"""


#: The attribute that marks a changed block in the visual diff: ``added``, ``removed`` or
#: ``changed``.
HIGHLIGHT = "data-diff"
_HIGHLIGHT_CSS = (
    "[data-diff]{outline:3px solid #cf222e !important;outline-offset:1px;"
    "background-color:rgba(255,214,0,.35) !important}"
    '[data-diff="added"]{outline-color:#1a7f37 !important}'
)


def mark_changes(before: str, now: str) -> tuple[str, str, int]:
    """Both emails with the blocks that differ marked, so that a browser shows the changed
    regions of the rendered email highlighted, and how many blocks differ.

    A block is an element with text of its own (a headline, a paragraph, a link, with its
    target) or an image (its file, alt text and width), with its inline style (the theme's
    CSS is inlined, so a restyled block counts too), in reading order; the two sequences are
    matched as a text diff matches lines, so a block that moved down because another grew
    is not counted as changed.
    """
    old, new = lxml_html.document_fromstring(before), lxml_html.document_fromstring(now)
    old_blocks, new_blocks = _blocks(old), _blocks(new)
    matcher = difflib.SequenceMatcher(
        None, [key for _, key in old_blocks], [key for _, key in new_blocks], autojunk=False
    )
    regions = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            regions += max(i2 - i1, j2 - j1)
        if op in ("replace", "delete"):
            for element, _ in old_blocks[i1:i2]:
                element.set(HIGHLIGHT, "changed" if op == "replace" else "removed")
        if op in ("replace", "insert"):
            for element, _ in new_blocks[j1:j2]:
                element.set(HIGHLIGHT, "changed" if op == "replace" else "added")
    return _with_highlights(old), _with_highlights(new), regions


_NOT_CONTENT = frozenset({"head", "style", "script", "title", "meta"})


Block = tuple[lxml_html.HtmlElement, tuple[str, ...]]  # an element, and what it shows


def _blocks(tree: lxml_html.HtmlElement) -> list[Block]:
    found: list[Block] = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in _NOT_CONTENT:
            continue  # comments (Outlook's conditional blocks) and what is not shown
        style = element.get("style", "")
        if element.tag == "img":
            src, alt, width = (element.get(name, "") for name in ("src", "alt", "width"))
            found.append((element, ("img", src, alt, width, style)))
            continue
        own = (element.text or "") + "".join(child.tail or "" for child in element)
        if own.strip():
            target = element.get("href", "") if element.tag == "a" else ""
            found.append((element, (element.tag, " ".join(own.split()), target, style)))
    return found


def _with_highlights(tree: lxml_html.HtmlElement) -> str:
    head = tree.find("head")
    if head is None:
        head = lxml_html.Element("head")
        tree.insert(0, head)
    style = lxml_html.Element("style")
    style.text = _HIGHLIGHT_CSS
    head.append(style)
    serialized: str = lxml_html.tostring(tree, encoding="unicode", doctype="<!doctype html>")
    return serialized


def _unique_targets(links: list[tuple[str, str]]) -> dict[str, str]:
    """Link text -> target, for the texts that always point at one target."""
    targets: dict[str, set[str]] = {}
    for text, href in links:
        if text:
            targets.setdefault(text, set()).add(href)
    return {text: next(iter(hrefs)) for text, hrefs in targets.items() if len(hrefs) == 1}


def _once(links: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(links))
