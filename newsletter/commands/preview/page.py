"""The preview's pages: the shell around one email, and the index of issues.

The shell (``page.html``) is self-contained, with no CDN or outside font: inline CSS and a
small script that fetches the issue's state as JSON, shows it, and refetches it when the
server announces a new build over server-sent events (``/_/events``), so the page updates in
place, keeping the chosen width, scheme, tab and scroll position.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from urllib.parse import quote

__all__ = ["index_page", "issue_page"]


@cache
def _shell() -> str:
    return (Path(__file__).parent / "page.html").read_text(encoding="utf-8")


def issue_page(name: str, token: str = "") -> str:
    """The page that previews the issue file ``name``; ``token`` lets it ask for test sends."""
    script_json = json.dumps(name).replace("<", "\\u003c")  # cannot close the <script>
    return (
        _shell()
        .replace("__NAME_JSON__", script_json)
        .replace("__TOKEN_JSON__", json.dumps(token))
        .replace("__TITLE__", html.escape(name))
    )


def index_page(names: Iterable[str], workspace: str) -> str:
    """Every issue of the workspace, each linking to its preview; it reloads on changes."""
    items = "\n".join(
        f'    <li><a href="/issue/{quote(name)}">{html.escape(name)}</a></li>' for name in names
    )
    body = (
        f"<ul>\n{items}\n  </ul>" if items else "<p>No issues yet: try 'newsletter new SLUG'.</p>"
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Issues · newsletter preview</title>
<style>
  body {{ margin: 0; padding: 24px; font: 15px/1.5 system-ui, sans-serif; color: #1f2328; background: #f3f4f6; }}
  main {{ max-width: 720px; margin: 0 auto; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 24px 16px; }}
  h1 {{ font-size: 18px; }} .ws {{ color: #59636e; font-size: 13px; }} li {{ margin: 6px 0; }} a {{ color: #0b57d0; }}
</style>
</head>
<body>
<main>
  <h1>Issues</h1>
  <p class="ws">{html.escape(workspace)}</p>
  {body}
</main>
<script>new EventSource("/_/events").addEventListener("build", (e) => {{
  if (window.seen !== undefined && window.seen !== e.data) location.reload();
  window.seen = e.data;
}});</script>
</body>
</html>
"""
