"""``newsletter publish [--to DEST] [--dry-run]``."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli.options import open_workspace, workspace_option


@click.command(
    "publish",
    epilog="""\b
Examples:
  newsletter publish --dry-run                    # what would change, sending nothing
  newsletter publish                              # to [publish] to in newsletter.toml
  newsletter publish --to /var/www/newsletter     # a folder a web server serves
  newsletter publish --to s3://my-bucket/newsletter/

\b
S3 credentials come from the environment (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, or AWS_PROFILE); [publish] endpoint_url names an
S3-compatible store (R2, MinIO ...). Only files whose content changed are sent;
the resized images are marked immutable, pages and feeds cached for 5 minutes.
Nothing is deleted at the destination.""",
)
@workspace_option
@click.option(
    "--to", "to", default=None, help="A folder or s3://BUCKET/PREFIX (default: [publish] to)."
)
@click.option("--dry-run", "-n", is_flag=True, help="List what would be sent; send nothing.")
def command(workspace: Path | None, to: str | None, dry_run: bool) -> None:
    """Publish the web archive where asset_base_url and web_version_url point.

    Builds the site as 'newsletter site' does (never with drafts), then sends the files
    that differ from what the destination holds. Exits 0 when done, 1 on a problem.
    """
    from newsletter.commands.publish import open_store, publish

    ws = open_workspace(workspace)
    if to and "://" not in to:
        to = str(Path(to).resolve())
    report = publish(ws, open_store(ws, to), dry_run=dry_run)
    verb = "would send" if dry_run else "sent"
    for change in report.sent:
        mark = "new    " if change.new else "changed"
        click.echo(f"  {mark} {change.path} ({change.size:,} bytes, {change.content_type})")
    click.echo(
        f"{verb} {len(report.sent)} file(s) to {report.destination}, {report.unchanged} unchanged"
    )
    if report.stale:
        click.echo(
            f"  {len(report.stale)} file(s) there are no longer in the site (left as they are): "
            + ", ".join(report.stale[:5])
            + (" ..." if len(report.stale) > 5 else "")
        )
