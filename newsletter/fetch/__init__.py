"""Reading article pages from the web, at the edge of the tool: fetch, extract, edit.

- :mod:`.client` fetches a URL safely (http(s) only, bounded in time and size, redirects
  followed by hand and re-checked, no private addresses unless allowed, checked after DNS
  resolution and connected to exactly the address that was checked).
- :mod:`.metadata` turns a page's HTML into an article's metadata (pure: no I/O).
- :mod:`.edit` edits an issue file round-trip, so the editor's comments and layout survive,
  and replaces it atomically.
- :mod:`.images` checks a downloaded image by its content and resizes it to the theme's width.
"""
