"""``newsletter preview``: the email as subscribers will see it, rebuilt as the editor types.

- :mod:`.server`: the HTTP server on loopback, its routes, and what it refuses to serve.
- :mod:`.builds`: the current generation of builds, rebuilt in a loop, requests held meanwhile.
- :mod:`.watcher`: watchfiles threads that mark the builds stale.
- :mod:`.page`: the page around the email (widths, light/dark, plain text, inbox line, size,
  findings, problems) and the index of issues.
- :mod:`.scheme`: the email with its dark-mode rules forced on or off.

Every email shown comes from :func:`newsletter.build.build_issue`, the function ``build``
uses; the only difference is that local images link to the preview server itself.
"""

from __future__ import annotations

from newsletter.commands.preview.server import PreviewServer

__all__ = ["PreviewServer"]
