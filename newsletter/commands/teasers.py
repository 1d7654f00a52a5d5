"""Article URLs into an issue file: teasers for the "More from" row, and the lead of a new issue.

An editor pastes the links of articles already published; each page's own metadata gives the
headline, summary, image, alt text and credit that would otherwise be typed by hand. The
functions here read the pages (:mod:`newsletter.fetch`), add what they found to the issue
file as an editor would (comments kept, each added field marked ``# from <url>``), check that
the result still loads, and report per URL what was added, skipped or refused. They never
print: the CLI shows the report.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from newsletter.commands.scaffold import create_issue
from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.fetch import images
from newsletter.fetch.client import IMAGE_TYPES, FetchError, FetchPolicy, fetch
from newsletter.fetch.edit import IssueDocument, mark, replace_file, yaml_text
from newsletter.fetch.metadata import Article, ArticleImage, canonical_url, extract, trim
from newsletter.files import write_whole
from newsletter.model.workspace import Workspace
from newsletter.pipeline.load import parse_issue

__all__ = [
    "LeadReport",
    "TeasersReport",
    "UrlOutcome",
    "add_teasers",
    "new_issue_from_url",
]

# How much text the gzero theme has room for (templates/gzero/partials/): a teaser's card is a
# 264 px column (19 px headline, 15 px summary, so about 35 characters a line), the lead's a
# 552 px one with a 30 px headline; past these a card towers over its neighbour in the row.
TEASER_HEADLINE_MAX = 110
TEASER_SUMMARY_MAX = 300
LEAD_HEADLINE_MAX = 150
LEAD_PARAGRAPH_MAX = 600
KICKER_MAX = 40  # one line of small capitals
BYLINE_MAX = 100
ALT_MAX = 250  # screen readers read it whole; longer belongs in a caption
CAPTION_MAX = 250
CREDIT_MAX = 80


@dataclass(frozen=True)
class UrlOutcome:
    """What happened to one URL: added (with its headline), skipped or failed (with why)."""

    url: str
    status: Literal["added", "skipped", "failed"]
    message: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeasersReport:
    """The result of :func:`add_teasers`."""

    issue: str  # the issue file as an editor names it
    outcomes: tuple[UrlOutcome, ...]
    written: bool
    dry_run: bool
    added_yaml: str  # the new teasers as YAML, comments included ("" when none)
    images: tuple[str, ...] = ()  # the files saved under assets/

    @property
    def added(self) -> int:
        return sum(o.status == "added" for o in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(o.status == "failed" for o in self.outcomes)

    @property
    def ok(self) -> bool:
        """True when every URL was added or was already there."""
        return self.failed == 0

    def lines(self) -> list[tuple[Literal["note", "warning", "error"], str]]:
        """What to tell the editor, one line each, in order: per URL its warnings and what
        happened to it, the images saved, the file written, and how many URLs failed. The
        command line and the preview show the same lines."""
        lines: list[tuple[Literal["note", "warning", "error"], str]] = []
        for outcome in self.outcomes:
            lines += [("warning", f"warning: {outcome.url}: {w}") for w in outcome.warnings]
            if outcome.status == "failed":
                lines.append(("error", f"error: {outcome.url}: {outcome.message}"))
            else:
                lines.append(("note", f"{outcome.status} {outcome.url}: {outcome.message}"))
        lines += [("note", f"saved {image}") for image in self.images]
        if self.written:
            lines.append(("note", f"wrote {self.issue} ({self.added} teaser(s) added)"))
        if self.failed:
            lines.append(
                (
                    "error",
                    f"{self.failed} of {len(self.outcomes)} URL(s) failed; "
                    "nothing was added for them",
                )
            )
        return lines


@dataclass(frozen=True)
class LeadReport:
    """The result of :func:`new_issue_from_url`."""

    issue: str
    url: str
    headline: str
    warnings: tuple[str, ...] = ()
    images: tuple[str, ...] = ()


@dataclass
class _Found:
    """An article read from its page, with the notes the editor should see."""

    article: Article
    warnings: list[str] = field(default_factory=list)


def add_teasers(
    workspace: Workspace,
    issue_path: Path,
    urls: Sequence[str],
    *,
    allow_hosts: Sequence[str] = (),
    dry_run: bool = False,
    download: bool = False,
) -> TeasersReport:
    """Append a teaser to ``issue_path`` for each article in ``urls``.

    A URL already among the teasers (compared without tracking parameters) is skipped; one that
    cannot be read, or gives no headline or summary, is reported and nothing is added for it;
    the others are added. With ``download``, each image is saved under ``assets/``. The file
    is replaced atomically once, at the end, and only with text that loads as a valid issue;
    ``dry_run`` reads the pages and writes nothing. Raises :class:`NewsletterError` when the
    issue file itself cannot be edited (unreadable, or already invalid).
    """
    display = workspace.display(issue_path)
    policy = _policy(workspace, allow_hosts)
    document = IssueDocument.read(issue_path, display)
    _check_loads(document.original, issue_path, workspace, display)
    language = workspace.settings.newsletter.lang
    teasers = document.teasers()
    known = {
        canonical_url(item["url"]): number
        for number, item in enumerate(teasers, 1)
        if isinstance(item, dict) and isinstance(item.get("url"), str)
    }
    added: list[CommentedMap] = []
    outcomes: list[UrlOutcome] = []
    saved: list[_Saved] = []
    for url in (u.strip() for u in urls):
        if canonical_url(url) in known:
            outcomes.append(_already(url, known[canonical_url(url)]))
            continue
        picture: _Saved | None = None
        try:
            found = _read(url, policy)
            article = found.article
            if article.url in known:
                outcomes.append(_already(url, known[article.url]))
                continue
            if download and not dry_run:
                picture = _download(article, workspace, policy, found.warnings, "teaser")
                src = picture.src if picture else None
            else:  # a dry run with --download would save it: no warning about its URL
                src = _remote_image(article, [] if download else found.warnings)
            teaser = _teaser(article, url, src, found.warnings)
            if _foreign(article.lang, document.data.get("lang") or language):
                teaser["lang"] = article.lang
                mark(teaser, ["lang"], f"from {url}")
            document.append_teaser(teaser)
            try:
                _check_loads(document.text(), issue_path, workspace, display)
            except ProblemsError as error:
                teasers.pop()
                raise FetchError(_problem_text(error)) from None
        except FetchError as error:
            if picture:
                picture.undo(workspace.root)
            outcomes.append(UrlOutcome(_shown(url), "failed", str(error)))
            continue
        if picture:
            saved.append(picture)
        known[article.url] = known[canonical_url(url)] = len(teasers)
        added.append(teaser)
        outcomes.append(UrlOutcome(url, "added", str(teaser["headline"]), tuple(found.warnings)))
    written = bool(added) and not dry_run
    if written:
        try:
            replace_file(issue_path, document.text(), document.original, display)
        except NewsletterError:
            for picture in saved:
                picture.undo(workspace.root)
            raise
    return TeasersReport(
        issue=display,
        outcomes=tuple(outcomes),
        written=written,
        dry_run=dry_run,
        added_yaml=yaml_text(CommentedSeq(added)) if added else "",
        images=tuple(p.src for p in saved if p.created),
    )


def new_issue_from_url(
    workspace: Workspace,
    slug: str,
    day: dt.date,
    url: str,
    *,
    allow_hosts: Sequence[str] = (),
    download: bool = False,
) -> LeadReport:
    """Write the skeleton ``issues/<day>-<slug>.yaml`` with its lead read from the article at
    ``url``: headline, kicker (the section), byline (the author), link, image, and the page's
    summary as the first paragraph of the body, never the article's own text, which belongs
    to the site. The page is read first, so a URL that fails writes nothing.
    """
    url = url.strip()
    policy = _policy(workspace, allow_hosts)
    try:
        found = _read(url, policy)
    except FetchError as error:
        raise NewsletterError(f"{_shown(url)}: {error}; no issue written") from None
    article = found.article
    path = create_issue(workspace.issues_dir, slug, day, brand=workspace.settings.newsletter.brand)
    display = workspace.display(path)
    picture: _Saved | None = None
    try:
        if download:
            picture = _download(article, workspace, policy, found.warnings, "lead")
            src = picture.src if picture else None
        else:
            src = _remote_image(article, found.warnings)
        document = IssueDocument.read(path, display)
        language = workspace.settings.newsletter.lang
        _fill_lead(document.lead(), article, url, src, found.warnings, language)
        text = document.text()
        _check_loads(text, path, workspace, display)
        replace_file(path, text, document.original, display)
    except BaseException:
        path.unlink(missing_ok=True)  # the skeleton this call wrote, and nothing else
        if picture:
            picture.undo(workspace.root)
        raise
    return LeadReport(
        issue=display,
        url=url,
        headline=article.headline or "",
        warnings=tuple(found.warnings),
        images=(picture.src,) if picture and picture.created else (),
    )


def _policy(workspace: Workspace, allow_hosts: Sequence[str]) -> FetchPolicy:
    try:
        return FetchPolicy.from_settings(workspace.settings.fetch, allow_hosts, root=workspace.root)
    except ValueError as error:
        raise NewsletterError(f"--allow-host: {error}") from None


def _already(url: str, number: int) -> UrlOutcome:
    return UrlOutcome(_shown(url), "skipped", f"already in the issue (teaser {number})")


def _shown(url: str) -> str:
    """``url`` fit to print: a user name or password in it is replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if sep and "@" in netloc:
        return f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{path}"
    return url


def _check_loads(text: str, path: Path, workspace: Workspace, display: str) -> None:
    """Raise the loader's ProblemsError if ``text`` is not a valid issue file."""
    parse_issue(text, slug=path.stem, suffix=path.suffix, file=display, root=workspace.root)


def _problem_text(error: ProblemsError) -> str:
    """A validation failure of an added teaser, as one line."""
    first = error.problems[0] if error.problems else Problem("", "", "invalid")
    where = f"{first.field}: " if first.field else ""
    return f"the teaser would not load ({where}{first.message}); nothing added for it"


def _read(url: str, policy: FetchPolicy) -> _Found:
    """The article at ``url``, or a FetchError saying what the page lacks."""
    page = fetch(url, policy)
    article = extract(page.body, page.url, page.charset)
    if not article.headline:
        raise FetchError("has no headline (JSON-LD, og:title, twitter:title or <title>)")
    found = _Found(article)
    if article.noindex or "noindex" in page.robots.lower():
        found.warnings.append(
            "the page asks search engines not to index it (robots noindex): "
            "check that it is meant to be public"
        )
    return found


def _remote_image(article: Article, warnings: list[str]) -> str | None:
    """The image's URL for ``src`` when it is not downloaded."""
    if article.image is None:
        return None
    if urlsplit(article.image.src).scheme != "https":
        warnings.append(
            f"the image {article.image.src} is not https: mail clients may block it "
            "(use --download)"
        )
    return article.image.src


@dataclass(frozen=True)
class _Saved:
    """An image under ``assets/``: its workspace path, and whether this run wrote it."""

    src: str
    created: bool

    def undo(self, root: Path) -> None:
        """Remove the file if this run wrote it (an identical file that was there stays)."""
        if self.created:
            (root / self.src).unlink(missing_ok=True)


def _download(
    article: Article, workspace: Workspace, policy: FetchPolicy, warnings: list[str], what: str
) -> _Saved | None:
    """Save the article's image under ``assets/``; None, with a warning, if it cannot be used.

    The file is named after the article; an existing file of that name with other content is
    never overwritten (the next free ``-2``, ``-3`` ... is taken), one with the same content
    is reused.
    """
    if article.image is None:
        return None
    try:
        page = fetch(
            article.image.src,
            policy,
            kinds=IMAGE_TYPES,
            accept="image/jpeg,image/png,image/gif,image/webp;q=0.9",
            max_bytes=policy.max_image_bytes,
            same_site=False,
        )
        picture = images.prepare(page.body)
    except (FetchError, ValueError) as error:
        warnings.append(f"the image {article.image.src} {error}; the {what} has no image")
        return None
    folder = workspace.root / "assets"
    stem = _slug(article.url)
    try:
        folder.mkdir(exist_ok=True)
        for number in range(1, 100):
            name = f"{stem}-{number}" if number > 1 else stem
            target = folder / f"{name}.{picture.extension}"
            if target.exists():
                if target.read_bytes() == picture.data:
                    return _Saved(f"assets/{target.name}", created=False)
                continue
            if write_whole(target, picture.data, replace=False):
                return _Saved(f"assets/{target.name}", created=True)
    except OSError as error:
        warnings.append(
            f"cannot save the image under assets/ ({error.strerror}); the {what} has no image"
        )
        return None
    warnings.append(f"assets/ has 99 images named {stem}-N; the {what} has no image")
    return None


def _slug(url: str) -> str:
    """A file name for an article's image: the last part of its URL's path, as a slug."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    last = re.sub(r"\.[a-z0-9]{2,5}$", "", parts[-1].lower()) if parts else ""
    slug = re.sub(r"[^a-z0-9]+", "-", last).strip("-")[:60].strip("-")
    return slug or re.sub(r"[^a-z0-9]+", "-", urlsplit(url).hostname or "article").strip("-")


def _image_map(
    found: ArticleImage, src: str, note: str, *, caption: bool, warnings: list[str]
) -> CommentedMap:
    """``image:`` for a teaser or the lead: src and alt, then caption and credit if known."""
    image = CommentedMap()
    image["src"] = src
    alt = trim(found.alt, ALT_MAX)
    if not alt:
        warnings.append("the page gives no alt text for its image: describe it in image.alt")
    image["alt"] = alt or ""
    if caption and found.caption:
        image["caption"] = trim(found.caption, CAPTION_MAX)
    if found.credit:
        image["credit"] = trim(found.credit, CREDIT_MAX)
    mark(image, list(image), note)
    return image


def _teaser(article: Article, url: str, src: str | None, warnings: list[str]) -> CommentedMap:
    """A teaser's mapping, in the README's key order, each field marked with its source."""
    if not article.description:
        raise FetchError(
            "has no description (JSON-LD, og:description, twitter:description or meta "
            "description) to use as the summary"
        )
    note = f"from {url}"
    teaser = CommentedMap()
    teaser["headline"] = trim(article.headline, TEASER_HEADLINE_MAX)
    teaser["url"] = article.url
    teaser["summary"] = trim(article.description, TEASER_SUMMARY_MAX)
    mark(teaser, ["headline", "url", "summary"], note)
    if src and article.image:
        teaser["image"] = _image_map(article.image, src, note, caption=False, warnings=warnings)
    return teaser


def _fill_lead(
    lead: CommentedMap,
    article: Article,
    url: str,
    src: str | None,
    warnings: list[str],
    workspace_lang: str,
) -> None:
    """Set the lead's fields from ``article`` where the page has them, in the skeleton's order."""
    note = f"from {url}"
    values: dict[str, object] = {
        "kicker": trim(article.section, KICKER_MAX),
        "headline": trim(article.headline, LEAD_HEADLINE_MAX),
        "byline": trim(_byline(article.author), BYLINE_MAX),
        "url": article.url,
    }
    for key, value in values.items():
        if value:
            lead[key] = value
            mark(lead, [key], note)
    if src and article.image:
        image = _image_map(article.image, src, note, caption=True, warnings=warnings)
        keys = list(lead)
        lead.insert(keys.index("url") + 1 if "url" in keys else len(keys), "image", image)
    if _foreign(article.lang, workspace_lang):
        lead["lang"] = article.lang
        mark(lead, ["lang"], note)
    if article.description:
        paragraph = _markdown_text(trim(article.description, LEAD_PARAGRAPH_MAX) or "")
        lead["body"] = LiteralScalarString(paragraph + "\n")
        mark(lead, ["body"], f"{note} (its summary: write the story below it)")
    else:
        warnings.append("the page has no description: the body is still the skeleton's")


def _foreign(lang: str | None, issue_lang: object) -> bool:
    """Whether a story's language differs from its issue's (so it needs its own ``lang``)."""
    if not lang or not isinstance(issue_lang, str):
        return False
    return lang.split("-")[0].lower() != issue_lang.split("-")[0].lower()


def _byline(author: str | None) -> str | None:
    if not author:
        return None
    return author if author.lower().startswith("by ") else f"By {author}"


def _markdown_text(text: str) -> str:
    """Plain text that Markdown prints as written (no emphasis, links or headings by accident)."""
    return re.sub(r"([\\`*_\[\]<>#|~])", r"\\\1", text)
