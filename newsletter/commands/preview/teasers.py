"""The preview's paste field: ``POST /_/teasers/<file>`` runs ``newsletter teasers add``.

The page sends ``{"urls": [...], "download": false}`` as JSON; the answer is the report's own
lines (what the command line prints) and whether every URL went in. The issue file is edited
exactly as the command edits it, so the watcher sees the change and the page shows the new
teasers by itself, like any other save.

A POST changes a file, so it must come from the preview page itself: JSON only (a form on
another site cannot send it without a CORS preflight, which this server never grants), an
``Origin`` that is the server's own, and a body of bounded size. Fetching keeps every rule of
:mod:`newsletter.fetch.client`, with the ``[fetch]`` settings of the workspace.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path
from typing import Any

from newsletter.errors import NewsletterError, ProblemsError
from newsletter.workspace import load_workspace

__all__ = ["MAX_BODY", "add_from_page"]

#: The largest request body read: a few dozen URLs.
MAX_BODY = 64 * 1024


def add_from_page(
    root: Path,
    issue: Path,
    *,
    body: bytes,
    content_type: str,
    origin: str | None,
    host: str | None,
) -> tuple[HTTPStatus, dict[str, Any]]:
    """The answer to one paste: an HTTP status and the JSON to send with it."""
    if origin is None or host is None or origin not in (f"http://{host}", f"https://{host}"):
        return HTTPStatus.FORBIDDEN, {"ok": False, "error": "only the preview page may add teasers"}
    if content_type.split(";")[0].strip().lower() != "application/json":
        return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"ok": False, "error": "send JSON"}
    try:
        request = json.loads(body)
    except ValueError:
        request = None
    urls = request.get("urls") if isinstance(request, dict) else None
    if not (isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls)):
        return HTTPStatus.BAD_REQUEST, {"ok": False, "error": 'expected {"urls": ["https://..."]}'}
    from newsletter.commands.teasers import add_teasers  # httpx and ruamel only when a paste comes

    try:
        report = add_teasers(
            load_workspace(root), issue, urls, download=bool(request.get("download"))
        )
    except ProblemsError as error:
        lines = [["error", str(problem)] for problem in error.problems]
        return HTTPStatus.OK, {"ok": False, "lines": lines}
    except NewsletterError as error:
        return HTTPStatus.OK, {"ok": False, "lines": [["error", f"error: {error.message}"]]}
    lines = [[kind, text] for kind, text in report.lines()]
    return HTTPStatus.OK, {"ok": report.ok, "lines": lines}
