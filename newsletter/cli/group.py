"""The click group behind ``newsletter``: its commands are listed from a table and imported
only when they run.

``python -m newsletter.cli.group`` prints the group's help at click's widest layout, which is
what ``newsletter/cli/help.txt`` holds for the console script's fast ``--help``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

__all__ = ["COMMANDS", "cli"]

#: command name -> "module:function" under newsletter.cli, in the order --help lists them.
COMMANDS = {
    "init": ("init", "Make a new workspace folder with settings and a first issue."),
    "new": ("new", "Write a dated issue skeleton into issues/."),
    "teasers": ("teasers", "Add teasers to an issue, read from article URLs."),
    "validate": ("validate", "Check issue files for mistakes without building them."),
    "build": ("build", "Build issues into out/<slug>/ (HTML, text, MJML, .eml, meta.json)."),
    "check": ("check", "Review built emails before sending: links, images, size, a11y, clients."),
    "preview": ("preview", "Serve a live preview of the email that reloads as you edit."),
    "export": ("export", "Export an issue as an ESP takes it (Mailchimp, SendGrid, SES ...)."),
    "send": ("send", "Send an issue: test sends, or a list send that resumes where it stopped."),
    "site": ("site", "Build the web archive: a page per issue, archive, Atom/JSON feeds, sitemap."),
    "publish": (
        "publish",
        "Publish the web archive to a folder or an S3 bucket (changed files only).",
    ),
    "diff": ("diff", "What changed in an issue since its last test send."),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"newsletter.cli.{COMMANDS[cmd_name][0]}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""\b
A morning with newsletter:
  newsletter new putin-poaches-the-neighbors   # write issues/<today>-putin-....yaml
  newsletter validate                          # every issue, every problem at once
  newsletter build                             # out/<slug>/email.html, email.txt ...

Run 'newsletter COMMAND --help' for a command's options and examples.""",
)
@click.version_option(package_name="newsletter")
def cli(**_: Any) -> None:
    """Turn newsletter issue files into finished, responsive emails."""


if __name__ == "__main__":
    os.environ["COLUMNS"] = "80"
    cli(["--help"], prog_name="newsletter")
