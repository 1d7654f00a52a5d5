"""``newsletter preview [ISSUE]``."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from newsletter.cli.options import find_issue, open_workspace, workspace_option


@click.command(
    "preview",
    epilog="""\b
Examples:
  newsletter preview                       # index of every issue at http://127.0.0.1:8000/
  newsletter preview issues/2025-06-26-putin-poaches-the-neighbors.yaml --open
  newsletter preview --port 8765           # when 8000 is taken (--port 0: any free port)

\b
Keep the page open beside your editor: saving the issue, a template, newsletter.toml
or an image rebuilds the email and updates the page by itself. Problems show in the
page, one line each as 'newsletter validate' prints them, and the server keeps running.""",
)
@click.argument("issue", required=False, type=click.Path(dir_okay=False, path_type=Path))
@workspace_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port to serve on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on; any but loopback shows your drafts to the network.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
def command(
    issue: Path | None, workspace: Path | None, port: int, host: str, open_browser: bool
) -> None:
    """Serve a live preview of ISSUE (or an index of every issue) on 127.0.0.1.

    The page shows the built email at phone, tablet and desktop widths, in light and dark
    mode, its plain text, its inbox line, its size against Gmail's clip, and the check
    findings. Stop it with Ctrl+C.
    """
    from newsletter.commands.preview import PreviewServer

    ws = open_workspace(workspace)
    if issue is not None:
        issue = find_issue(ws, issue)
    server = PreviewServer(ws.root, host=host, port=port, issue=issue, log=click.echo)
    if not server.loopback:
        click.echo(f"warning: listening on {host}: anyone who can reach it sees your drafts")
    click.echo(f"previewing {ws.display(issue) if issue else ws.root} at {server.url}")
    click.echo("watching issues/, templates/, assets/ and newsletter.toml; Ctrl+C stops")
    server.start()
    try:
        if open_browser:
            import webbrowser

            opened = webbrowser.open(server.url)
            click.echo("opened the page in the browser" if opened else "no browser found to open")
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.close()
