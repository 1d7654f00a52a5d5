"""The web archive of a workspace: its issues' artifacts in, the site's files out.

Each issue becomes a page at the path ``web_version_url`` names, rendered by the theme's
``web/`` templates from the same :class:`~newsletter.model.issue.Issue` the email was built
from (the Markdown through :mod:`newsletter.pipeline.markdown`, as in the email). The merge
fields are filled with neutral values, since a web page is read by anyone: no name, no
address, and where the email has an unsubscribe link the page has a Subscribe link. Around the
pages: the archive index (newest first, paginated), Atom and JSON feeds with every issue's
whole content, ``sitemap.xml``, and the issues' local images with their resized sizes.

Nothing is written here: :func:`site_files` returns ``{path: bytes}``, and
``newsletter site`` replaces its output folder with it in one swap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.model import mergefields
from newsletter.model.artifact import Artifact
from newsletter.model.issue import Image, Issue, is_local_src, text_direction
from newsletter.model.site import SiteUrls, site_urls
from newsletter.model.workspace import Workspace
from newsletter.pipeline.render import render
from newsletter.targets.web.feeds import Entry, Feed, atom, json_feed, sitemap
from newsletter.targets.web.images import Images, Picture

__all__ = ["ATOM_FILE", "JSON_FILE", "SITEMAP_FILE", "Shown", "issue_page", "site_files"]

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


def site_files(artifacts: Sequence[Artifact], workspace: Workspace) -> dict[str, bytes]:
    """Every file of the site for ``artifacts`` (the issues to publish, in any order).

    Raises :class:`ProblemsError` for the issues whose images cannot be published, each
    problem naming the issue file and the field.
    """
    return _Site(workspace, site_urls(workspace.settings)).files(artifacts)


def issue_page(artifact: Artifact, workspace: Workspace, *, image_base: str) -> str:
    """One issue's web page on its own, its local images linked as ``image_base`` + path at
    their original size (no sizes are made): for the preview, which serves the workspace's
    image files itself. Everything else is the page ``site_files`` makes."""
    site = _Site(workspace, site_urls(workspace.settings), image_base=image_base)
    page = site._page(artifact, None, None).decode()
    if site.problems:
        raise ProblemsError(dict.fromkeys(site.problems))
    return page


class _Site:
    def __init__(
        self, workspace: Workspace, urls: SiteUrls, *, image_base: str | None = None
    ) -> None:
        self.workspace = workspace
        self.image_base = image_base
        self.settings = workspace.settings
        self.urls = urls
        self.images = Images(workspace.root)
        nl = self.settings.newsletter
        self.subscribe_url = self.settings.site.subscribe_url or nl.site_url
        self.problems: list[Problem] = []

    def files(self, artifacts: Sequence[Artifact]) -> dict[str, bytes]:
        ordered = sorted(artifacts, key=lambda a: (a.issue.date, a.slug), reverse=True)
        files: dict[str, bytes] = {}
        for index, artifact in enumerate(ordered):
            newer = ordered[index - 1].issue if index > 0 else None
            older = ordered[index + 1].issue if index + 1 < len(ordered) else None
            files[self.urls.page_file(artifact.slug)] = self._page(artifact, newer, older)
        archive = self._archive([a.issue for a in ordered])
        files.update(archive)
        entries = [self._entry(a) for a in ordered[: self.settings.site.feed_entries]]
        if self.problems:
            raise ProblemsError(dict.fromkeys(self.problems))
        feed = self._feed()
        files[ATOM_FILE] = atom(feed, entries)
        files[JSON_FILE] = json_feed(feed, entries)
        pages: list[tuple[str, dt.date | None]] = [(self.urls.url(name), None) for name in archive]
        pages += [(self.urls.page_url(a.slug), a.issue.date) for a in ordered]
        files[SITEMAP_FILE] = sitemap(pages)
        files.update(self.images.files)
        return files

    # -- the pieces -------------------------------------------------------------------------

    def _page(self, artifact: Artifact, newer: Issue | None, older: Issue | None) -> bytes:
        issue = artifact.issue
        file = self.urls.page_file(issue.slug)
        href = self._linker(file)
        lead = self._shown(artifact, issue.lead.image, LEAD_WIDTH, href, ("lead", "image"))
        extra = {
            **self._common(file, href),
            "page_url": self.urls.page_url(issue.slug),
            "lead_image": lead,
            "picture": self._pictures(artifact, href),
            "newer": self._neighbour(newer, href),
            "older": self._neighbour(older, href),
            "published": issue.date.isoformat(),
        }
        html = render("web/issue.html.j2", issue, self.settings, self.workspace.theme, extra)
        return self._neutral(html, issue.slug).encode()

    def _entry(self, artifact: Artifact) -> Entry:
        issue = artifact.issue
        absolute = self.urls.url
        lead = self._shown(artifact, issue.lead.image, LEAD_WIDTH, absolute, ("lead", "image"))
        extra = {
            **self._common("", absolute),
            "picture": self._pictures(artifact, absolute),
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

    def _archive(self, issues: Sequence[Issue]) -> dict[str, bytes]:
        size = self.settings.site.per_page
        chunks = [issues[i : i + size] for i in range(0, len(issues), size)] or [[]]
        names = ["index.html", *(f"page/{n}/index.html" for n in range(2, len(chunks) + 1))]
        files: dict[str, bytes] = {}
        for number, (file, chunk) in enumerate(zip(names, chunks, strict=True), start=1):
            href = self._linker(file)
            cards = [
                {
                    "issue": issue,
                    "href": href(self.urls.page_file(issue.slug)),
                    "image": self._card_image(issue, href),
                }
                for issue in chunk
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
            files[file] = self._neutral(html, "").encode()
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
        self, artifact: Artifact, href: Callable[[str], str]
    ) -> Callable[[Image, int], Shown | None]:
        """``picture(image, width)`` for the templates: a teaser's image as this page links it."""
        places = {
            id(t.image): ("teasers", n, "image") for n, t in enumerate(artifact.issue.teasers)
        }

        def picture(image: Image, width: int) -> Shown | None:
            return self._shown(artifact, image, width, href, places.get(id(image), ("image",)))

        return picture

    def _card_image(self, issue: Issue, href: Callable[[str], str]) -> Shown | None:
        image = issue.lead.image
        if image is None:
            return None
        if not is_local_src(image.src):
            return Shown(image.src, "", None, None, image.alt, image.src)
        try:
            picture = self.images.picture(image.src, CARD_WIDTH)
        except NewsletterError:
            return None  # its page has reported the problem already
        return self._from_picture(picture, image.alt, href)

    def _shown(
        self,
        artifact: Artifact,
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
            picture = self.images.picture(image.src, shown_width)
        except NewsletterError as error:
            name = ".".join(map(str, field))
            line = artifact.issue.line_of(*field, "src")
            self.problems.append(Problem(artifact.display, f"{name}.src", error.message, line))
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
