"""The web target: issues' artifacts in, the files of a static site out (``{path: bytes}``).

``site`` makes the pages, the archive, the feeds and the sitemap; ``images`` the responsive
image sizes; ``feeds`` the Atom and JSON feeds and the sitemap; ``hosting`` how a host serves
each file. Where each file lives under the site's one base URL is
:mod:`newsletter.model.site`, which the checks read too.
"""

from __future__ import annotations

from newsletter.model.site import SiteUrls, file_of, site_urls
from newsletter.targets.web.site import ATOM_FILE, JSON_FILE, SITEMAP_FILE, issue_page, site_files

__all__ = [
    "ATOM_FILE",
    "JSON_FILE",
    "SITEMAP_FILE",
    "SiteUrls",
    "file_of",
    "issue_page",
    "site_files",
    "site_urls",
]
