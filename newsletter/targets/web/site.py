"""The web archive of a workspace: its issues in, the site's files out.

Each issue becomes a page at the path ``web_version_url`` names, rendered by the theme's
``web/`` templates from the same :class:`~newsletter.model.issue.Issue` the email was built
from (the Markdown through :mod:`newsletter.pipeline.markdown`, as in the email). The merge
fields are filled with neutral values, since a web page is read by anyone: no name, no
address, and where the email has an unsubscribe link the page has a Subscribe link. Around the
pages: the archive index (newest first, paginated), Atom and JSON feeds with every issue's
whole content, ``sitemap.xml``, and the issues' local images with their resized sizes.

Nothing is written or read here: :func:`site_files` returns ``{path: Made}`` (each file's
bytes and what it was made from), taking the files that are made from what they were made
from last time from ``reuse`` (the previous site, which ``newsletter site`` reads), and
``newsletter site`` replaces its output folder with them in one swap. Each issue's key stands
for everything its page is made from; a page is keyed by its issue's and its neighbours'
(it links them by subject), an archive page by its issues', a resized copy by its name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.model import mergefields
from newsletter.model.artifact import Artifact
from newsletter.model.issue import Image, Issue, is_local_src, text_direction
from newsletter.model.site import SiteUrls, site_urls
from newsletter.model.workspace import Workspace
from newsletter.pipeline.render import render
from newsletter.pipeline.transforms.sizes import HASHED
from newsletter.targets.web.feeds import Entry, Feed, atom, json_feed, sitemap
from newsletter.targets.web.images import Images, Picture

__all__ = [
    "ATOM_FILE",
    "JSON_FILE",
    "SITEMAP_FILE",
    "Made",
    "Page",
    "Reuse",
    "Shown",
    "SiteMaker",
    "issue_page",
    "site_files",
]

ATOM_FILE = "feed.xml"
JSON_FILE = "feed.json"
SITEMAP_FILE = "sitemap.xml"

#: The widths (CSS px) the web layout shows images at: the article column, and the cards of
#: teasers and of the archive. The stylesheet in web/base.html.j2 is drawn to these.
LEAD_WIDTH = 680
CARD_WIDTH = 320


@dataclass(frozen=True)
class Shown:
    """An image as one page links it: what ``<img>`` needs, links already made for the page."""

    src: str
    srcset: str
    width: int | None
    height: int | None
    alt: str
    #: the absolute URL of the largest size, for og:image and the feeds
    absolute: str


@dataclass(frozen=True)
class Page:
    """An issue that goes into the site, and what its output is made from.

    The issue itself is loaded only when a file is made from it (``load``): a site where one
    issue of a thousand changed remakes a few pages, and reads the others' slugs and dates.
    """

    #: the issue file as the editor names it, for problems
    display: str
    slug: str
    date: dt.date
    draft: bool
    load: Callable[[], Issue]
    #: a digest of everything the issue's output is made from (its file, the tool, the
    #: settings, the theme, the assets); "" for output never taken from a previous site
    key: str = ""
    #: the resized copies of images the email links (src, width), which the site must hold
    email_copies: tuple[tuple[str, int], ...] = ()

    @property
    def issue(self) -> Issue:
        return self.load()

    @classmethod
    def of(
        cls,
        issue: Issue,
        display: str,
        key: str = "",
        email_copies: tuple[tuple[str, int], ...] = (),
    ) -> Page:
        """The page of an issue already loaded."""
        return cls(display, issue.slug, issue.date, issue.draft, lambda: issue, key, email_copies)


@dataclass(frozen=True)
class Made:
    """A file of the site, the key it was made from, and the images (src, width) it shows,
    which the site must hold whenever the file is taken again from a previous site."""

    data: bytes
    key: str = ""
    images: tuple[tuple[str, int], ...] = ()
    #: read from the previous site as it is, not made anew
    reused: bool = False


#: ``reuse(file, key)``: the previous site's ``file``, if it was made from ``key``.
Reuse = Callable[[str, str], Made | None]


def site_files(
    pages: Sequence[Page], workspace: Workspace, *, reuse: Reuse | None = None
) -> dict[str, Made]:
    """Every file of the site for ``pages`` (the issues to publish, in any order), each page
    taken from ``reuse`` where it was made from what it would be made from now.

    Raises :class:`ProblemsError` for the issues whose images cannot be published, each
    problem naming the issue file and the field.
    """
    maker = SiteMaker(pages, workspace, reuse=reuse)
    stale = maker.stale()
    return maker.files(dict(zip(stale, maker.render(stale), strict=True)))


def issue_page(artifact: Artifact, workspace: Workspace, *, image_base: str) -> str:
    """One issue's web page on its own, its local images linked as ``image_base`` + path at
    their original size (no sizes are made): for the preview, which serves the workspace's
    image files itself. Everything else is the page ``site_files`` makes."""
    page = Page.of(artifact.issue, artifact.display)
    site = SiteMaker([page], workspace, image_base=image_base)
    html = site.page(0).data.decode()
    if site.problems:
        raise ProblemsError(dict.fromkeys(site.problems))
    return html


class SiteMaker:
    """The site of ``pages``, made in parts: :meth:`render` makes issue pages (the bulk of
    the work, which ``newsletter site`` spreads over processes) and :meth:`files` the rest."""

    def __init__(
        self,
        pages: Sequence[Page],
        workspace: Workspace,
        *,
        reuse: Reuse | None = None,
        entries: MutableMapping[str, Entry] | None = None,
        image_base: str | None = None,
    ) -> None:
        self.workspace = workspace
        #: feed entries by their page's key: those made before, and those made now
        self.entries = {} if entries is None else entries
        self.image_base = image_base
        self.settings = workspace.settings
        self.urls = site_urls(workspace.settings)
        self.reuse: Reuse = reuse or (lambda file, key: None)
        self.images = Images(workspace.root, self._reused_copy)
        nl = self.settings.newsletter
        self.subscribe_url = self.settings.site.subscribe_url or nl.site_url
        self.problems: list[Problem] = []
        self.ordered = sorted(pages, key=lambda p: (p.date, p.slug), reverse=True)
        #: the images shown by the file being made, recorded in its :class:`Made`
        self._shown_images: list[tuple[str, int]] = []

    def _reused_copy(self, file: str) -> bytes | None:
        made = self.reuse(file, file)  # a copy's name says what it is made from
        return made.data if made else None

    def _page_key(self, index: int) -> str:
        """What page ``index`` is made from: its issue's key and its neighbours' (whose
        subjects and links it shows)."""
        near = self.ordered[max(0, index - 1) : index + 2]
        if not all(p.key for p in near):
            return ""
        return _digest("page", index > 0, *(p.key for p in near))

    def stale(self) -> list[int]:
        """The issue pages that cannot be taken from the previous site."""
        return [
            index
            for index, page in enumerate(self.ordered)
            if self._taken(self.urls.page_file(page.slug), self._page_key(index)) is None
        ]

    def _taken(self, file: str, key: str) -> Made | None:
        return self.reuse(file, key) if key else None

    def render(self, indices: Sequence[int]) -> list[Made]:
        """The issue pages ``indices`` (of the pages newest first)."""
        return [self.page(index) for index in indices]

    def page(self, index: int) -> Made:
        page = self.ordered[index]
        newer = self.ordered[index - 1].issue if index > 0 else None
        older = self.ordered[index + 1].issue if index + 1 < len(self.ordered) else None
        self._shown_images = []
        data = self._page(page, newer, older)
        return Made(data, self._page_key(index), tuple(self._shown_images))

    def files(self, rendered: Mapping[int, Made]) -> dict[str, Made]:
        """Every file of the site, with the issue pages ``rendered`` (by index; the others are
        taken from the previous site)."""
        files: dict[str, Made] = {}
        for index, page in enumerate(self.ordered):
            file = self.urls.page_file(page.slug)
            made = rendered.get(index) or self._taken(file, self._page_key(index))
            assert made is not None, f"page {file} neither rendered nor reusable"
            files[file] = made
            self._show_again(page, made)
            for src, width in page.email_copies:
                self._copy(page, src, width)
        archive = self._archive(self.ordered)
        files.update(archive)
        entries = [self._known_entry(p) for p in self.ordered[: self.settings.site.feed_entries]]
        if self.problems:
            raise ProblemsError(dict.fromkeys(self.problems))
        feed = self._feed()
        files[ATOM_FILE] = Made(atom(feed, entries))
        files[JSON_FILE] = Made(json_feed(feed, entries))
        pages: list[tuple[str, dt.date | None]] = [(self.urls.url(name), None) for name in archive]
        pages += [(self.urls.page_url(p.slug), p.date) for p in self.ordered]
        files[SITEMAP_FILE] = Made(sitemap(pages))
        try:
            images = self.images.files()
        except NewsletterError as error:
            raise ProblemsError([Problem("", "", error.message)]) from None
        for file, data in images.items():
            files[file] = Made(data, file if HASHED.search(file) else "")
        return files

    def _show_again(self, page: Page, made: Made) -> None:
        """Name again the images of a file made elsewhere (a worker, a previous site), so that
        the site holds them."""
        for src, width in made.images:
            try:
                self.images.picture(src, width)
            except NewsletterError as error:
                self.problems.append(Problem(page.display, "image", error.message))

    def _copy(self, page: Page, src: str, width: int) -> None:
        try:
            self.images.copy(src, width)
        except NewsletterError as error:
            self.problems.append(Problem(page.display, "image", error.message))

    # -- the pieces -------------------------------------------------------------------------

    def _page(self, page: Page, newer: Issue | None, older: Issue | None) -> bytes:
        issue = page.issue
        file = self.urls.page_file(issue.slug)
        href = self._linker(file)
        lead = self._shown(page, issue.lead.image, LEAD_WIDTH, href, ("lead", "image"))
        extra = {
            **self._common(file, href),
            "page_url": self.urls.page_url(issue.slug),
            "lead_image": lead,
            "picture": self._pictures(page, href),
            "newer": self._neighbour(newer, href),
            "older": self._neighbour(older, href),
            "published": issue.date.isoformat(),
        }
        html = render("web/issue.html.j2", issue, self.settings, self.workspace.theme, extra)
        return self._neutral(html, issue.slug).encode()

    def _known_entry(self, page: Page) -> Entry:
        """The feed entry of ``page``, made once per key (it shows the images the page does,
        which the page has named)."""
        if not page.key:
            return self._entry(page)
        if page.key not in self.entries:
            self.entries[page.key] = self._entry(page)
        return self.entries[page.key]

    def _entry(self, page: Page) -> Entry:
        issue = page.issue
        absolute = self.urls.url
        lead = self._shown(page, issue.lead.image, LEAD_WIDTH, absolute, ("lead", "image"))
        extra = {
            **self._common("", absolute),
            "picture": self._pictures(page, absolute),
            "lead_image": lead,
        }
        content = render("web/content.html.j2", issue, self.settings, self.workspace.theme, extra)
        fill = self._values(issue.slug)
        return Entry(
            url=self.urls.page_url(issue.slug),
            title=mergefields.fill(issue.subject, fill, html_escape=False),
            summary=mergefields.fill(issue.preheader, fill, html_escape=False),
            day=issue.date,
            content_html=mergefields.fill(content, fill, html_escape=True),
            image_url=lead.absolute if lead else None,
        )

    def _archive(self, pages: Sequence[Page]) -> dict[str, Made]:
        size = self.settings.site.per_page
        chunks = [pages[i : i + size] for i in range(0, len(pages), size)] or [[]]
        names = ["index.html", *(f"page/{n}/index.html" for n in range(2, len(chunks) + 1))]
        files: dict[str, Made] = {}
        for number, (file, chunk) in enumerate(zip(names, chunks, strict=True), start=1):
            keys = [p.key for p in chunk]
            key = _digest("archive", number, len(chunks), *keys) if all(keys) else ""
            made = self._taken(file, key)
            if made is not None:
                self._show_again(chunk[0], made)
                files[file] = made
                continue
            self._shown_images = []
            href = self._linker(file)
            cards = [
                {
                    "issue": p.issue,
                    "href": href(self.urls.page_file(p.slug)),
                    "image": self._card_image(p.issue, href),
                }
                for p in chunk
            ]
            lang = self.settings.newsletter.lang
            extra = {
                **self._common(file, href),
                "lang": lang,
                "dir": text_direction("", lang),
                "page_url": self.urls.url(file),
                "cards": cards,
                "number": number,
                "pages": len(chunks),
                "newer_page": href(names[number - 2]) if number > 1 else None,
                "older_page": href(names[number]) if number < len(chunks) else None,
            }
            html = render("web/archive.html.j2", None, self.settings, self.workspace.theme, extra)
            data = self._neutral(html, "").encode()
            files[file] = Made(data, key, tuple(self._shown_images))
        return files

    def _feed(self) -> Feed:
        nl = self.settings.newsletter
        return Feed(
            title=nl.name,
            home_url=self.urls.base,
            atom_url=self.urls.url(ATOM_FILE),
            json_url=self.urls.url(JSON_FILE),
            author=nl.brand,
            lang=nl.lang,
        )

    # -- helpers ----------------------------------------------------------------------------

    def _linker(self, file: str) -> Callable[[str], str]:
        return lambda target: SiteUrls.relative(file, target)

    def _common(self, file: str, href: Callable[[str], str]) -> dict[str, object]:
        """What every web template sees: the site's own links, made for this page."""
        return {
            "href": href,
            "home": href("index.html"),
            "atom_href": href(ATOM_FILE),
            "json_href": href(JSON_FILE),
            "subscribe_url": self.subscribe_url,
            "site_name": self.settings.newsletter.name,
        }

    def _neighbour(self, issue: Issue | None, href: Callable[[str], str]) -> dict[str, str] | None:
        if issue is None:
            return None
        return {"subject": issue.subject, "href": href(self.urls.page_file(issue.slug))}

    def _values(self, slug: str) -> dict[str, str]:
        """Neutral merge values: nobody's name or address, and Subscribe for unsubscribe."""
        return {
            "first_name": "",
            "email": "",
            "web_version_url": self.urls.page_url(slug) if slug else self.urls.base,
            "unsubscribe_url": self.subscribe_url,
            "preferences_url": self.subscribe_url,
        }

    def _neutral(self, html: str, slug: str) -> str:
        return mergefields.fill(html, self._values(slug), html_escape=True)

    def _pictures(
        self, page: Page, href: Callable[[str], str]
    ) -> Callable[[Image, int], Shown | None]:
        """``picture(image, width)`` for the templates: a teaser's image as this page links it."""
        places = {id(t.image): ("teasers", n, "image") for n, t in enumerate(page.issue.teasers)}

        def picture(image: Image, width: int) -> Shown | None:
            return self._shown(page, image, width, href, places.get(id(image), ("image",)))

        return picture

    def _picture(self, src: str, width: int) -> Picture:
        """:meth:`Images.picture`, recorded as shown by the file being made."""
        picture = self.images.picture(src, width)
        self._shown_images.append((src, width))
        return picture

    def _card_image(self, issue: Issue, href: Callable[[str], str]) -> Shown | None:
        image = issue.lead.image
        if image is None:
            return None
        if not is_local_src(image.src):
            return Shown(image.src, "", None, None, image.alt, image.src)
        try:
            picture = self._picture(image.src, CARD_WIDTH)
        except NewsletterError:
            return None  # its page has reported the problem already
        return self._from_picture(picture, image.alt, href)

    def _shown(
        self,
        page: Page,
        image: Image | None,
        width: int,
        href: Callable[[str], str],
        field: tuple[str | int, ...],
    ) -> Shown | None:
        if image is None:
            return None
        if not is_local_src(image.src):
            return Shown(image.src, "", image.width, None, image.alt, image.src)
        shown_width = min(image.width or width, width)
        if self.image_base is not None:
            url = self.image_base + image.src
            return Shown(url, "", shown_width, None, image.alt, url)
        try:
            picture = self._picture(image.src, shown_width)
        except NewsletterError as error:
            name = ".".join(map(str, field))
            line = page.issue.line_of(*field, "src")
            self.problems.append(Problem(page.display, f"{name}.src", error.message, line))
            return None
        return self._from_picture(picture, image.alt, href)

    def _from_picture(self, picture: Picture, alt: str, href: Callable[[str], str]) -> Shown:
        best = picture.best
        largest = picture.sizes[-1] if picture.sizes else best
        srcset = ", ".join(f"{href(s.file)} {s.width}w" for s in picture.sizes)
        return Shown(
            src=href(best.file),
            srcset=srcset if len(picture.sizes) > 1 else "",
            width=best.width or None,
            height=best.height or None,
            alt=alt,
            absolute=self.urls.url(largest.file),
        )


def _digest(*parts: object) -> str:
    """A key made of ``parts``."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()
