"""The web target: issues' artifacts in, the files of a static site out (``{path: bytes}``).

``site`` makes the pages, the archive, the feeds and the sitemap; ``images`` the responsive
image sizes; ``urls`` says where each file lives under the site's one base URL.
"""

from __future__ import annotations

from newsletter.targets.web.site import ATOM_FILE, JSON_FILE, SITEMAP_FILE, site_files
from newsletter.targets.web.urls import SiteUrls, file_of, site_urls

__all__ = [
    "ATOM_FILE",
    "JSON_FILE",
    "SITEMAP_FILE",
    "SiteUrls",
    "file_of",
    "site_files",
    "site_urls",
]
