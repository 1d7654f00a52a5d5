"""Where everything of the web archive lives: one base URL, and a file of the site per URL.

The site is one folder published at one URL, the *base*: ``[newsletter] asset_base_url`` when
there is one (so that the email's ``<base>assets/x.jpg`` images are files of the site), else
the folder of ``web_version_url``. Every issue's page is at the URL ``web_version_url`` names;
a URL that ends in a folder or a name without an extension is that folder's ``index.html``,
which every static host (S3 website endpoints, nginx, GitHub Pages, Netlify) serves for it.
"""

from __future__ import annotations

import posixpath

from newsletter.errors import Problem, ProblemsError
from newsletter.model.settings import Settings
from newsletter.record import Record

__all__ = ["SITE_FOLDER", "SiteUrls", "file_of", "has_site", "site_urls"]

#: The site's folder under ``out/``, where ``newsletter site`` and ``publish`` write it: a name
#: no issue's slug can take (slugs start with a letter or digit), so the archive never collides
#: with an issue's ``out/<slug>/``.
SITE_FOLDER = "_site"

_CONFIG = "newsletter.toml"


def file_of(path: str) -> str:
    """The file of the site that serves the site-relative URL ``path`` (``""`` is the index)."""
    if path == "" or path.endswith("/"):
        return path + "index.html"
    if "." not in path.rsplit("/", 1)[-1]:
        return path + "/index.html"
    return path


class SiteUrls(Record):
    """The site's base URL and the pattern of its issue pages."""

    base: str
    #: ``web_version_url`` with ``{slug}``: the pattern of every issue page's URL
    page_pattern: str

    def page_url(self, slug: str) -> str:
        """The URL of an issue's page: exactly what the email's "View in browser" links to."""
        return self.page_pattern.replace("{slug}", slug)

    def page_file(self, slug: str) -> str:
        """The file of the site that holds an issue's page."""
        return file_of(self.page_url(slug).removeprefix(self.base))

    def url(self, file: str) -> str:
        """The absolute URL of a file of the site (an ``index.html`` as its folder)."""
        if file == "index.html" or file.endswith("/index.html"):
            file = file.removesuffix("index.html")
        return self.base + file

    def contains(self, url: str) -> bool:
        """Whether ``url`` is inside the site."""
        return url.startswith(self.base)

    @staticmethod
    def relative(file: str, target: str) -> str:
        """A link from the page in ``file`` to the file ``target``, relative so that the site
        works wherever it is put (a folder, a bucket, a local preview); an ``index.html`` is
        linked as its folder."""
        folder = posixpath.dirname(file)
        if target == "index.html" or target.endswith("/index.html"):
            linked = posixpath.relpath(posixpath.dirname(target) or ".", folder or ".")
            return "./" if linked == "." else linked + "/"
        return posixpath.relpath(target, folder or ".")


def site_urls(settings: Settings) -> SiteUrls:
    """Where this workspace's site lives; a setting that cannot make one is a problem that
    names the key and says what to write."""
    nl = settings.newsletter
    pattern = nl.web_version_url
    if not pattern or "{slug}" not in pattern:
        raise ProblemsError(
            [
                Problem(
                    _CONFIG,
                    "newsletter.web_version_url",
                    "the web archive needs a page per issue: set it to a URL with {slug}, "
                    'like "https://example.com/newsletter/{slug}"',
                )
            ]
        )
    head = pattern.split("{slug}", 1)[0]
    if "/" not in head.split("://", 1)[-1] or "?" in pattern or "#" in pattern:
        raise ProblemsError(
            [
                Problem(
                    _CONFIG,
                    "newsletter.web_version_url",
                    f"{{slug}} must be in the path of the URL (not its host, query or fragment): {pattern!r}",
                )
            ]
        )
    base = nl.asset_base_url or head[: head.rindex("/") + 1]
    base = base if base.endswith("/") else base + "/"
    if not head.startswith(base):
        raise ProblemsError(
            [
                Problem(
                    _CONFIG,
                    "newsletter.web_version_url",
                    f"the issue pages ({pattern}) must be under asset_base_url ({base}), "
                    "since one site holds both the pages and the images",
                )
            ]
        )
    return SiteUrls(base=base, page_pattern=pattern)


def has_site(settings: Settings) -> bool:
    """Whether ``newsletter site`` makes the files under ``asset_base_url``: there is one, and
    the issue pages are under it (so the email's images are files of the workspace's site)."""
    if not settings.newsletter.asset_base_url:
        return False
    try:
        site_urls(settings)
    except ProblemsError:
        return False
    return True
