"""``newsletter init DIR``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click


@click.command(
    "init",
    epilog="""\b
Examples:
  newsletter init my-newsletter
  newsletter init my-newsletter --name "GZERO Daily"
  cd my-newsletter && newsletter build""",
)
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--name", default="My Newsletter", show_default=True, help="The newsletter's name.")
def command(folder: Path, name: str) -> None:
    """Make a new workspace in FOLDER (new or empty): newsletter.toml, issues/, assets/.

    The first issue it writes builds as it is.
    """
    from newsletter.commands.scaffold import BEFORE_THE_FIRST_SEND, create_workspace

    for path in create_workspace(folder, name, today=dt.date.today()):
        click.echo(f"wrote {path}")
    click.echo(f"next: cd {folder} && newsletter build")
    click.echo("before the first real send, fill in (the lines marked TODO in newsletter.toml):")
    for item in BEFORE_THE_FIRST_SEND:
        click.echo(f"  - {item}")
