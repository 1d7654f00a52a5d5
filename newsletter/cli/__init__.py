"""The ``newsletter`` command line: a thin click group whose commands live one per module.

Commands are imported only when they run, so a command pays only for the libraries it uses.
``newsletter --help`` pays for none, not even click (a third of a bare start-up): the group's
help is rendered by click once, kept in ``help.txt`` beside this file (a test keeps the two
the same), and printed from there when the terminal is as wide as click's widest layout.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.cli.group import cli

__all__ = ["HELP_FILE", "cli", "main"]

#: The group's ``--help`` as click writes it at its widest (80 columns): regenerate with
#: ``python -m newsletter.cli.group > newsletter/cli/help.txt`` when a command is added.
HELP_FILE = os.path.join(os.path.dirname(__file__), "help.txt")

#: click lays help out for min(columns, 80) - 2: from 80 columns up it is the same text.
_WIDEST = 80


def _columns() -> int:
    """The terminal's width as click measures it (``shutil.get_terminal_size``, whose import
    alone costs more than printing the help)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return _WIDEST


def main() -> None:
    """The console script."""
    if sys.argv[1:] in (["--help"], ["-h"]) and _columns() >= _WIDEST:
        with open(HELP_FILE, encoding="utf-8") as help_text:
            sys.stdout.write(help_text.read())
        return
    from newsletter.cli.group import cli

    cli()


def __getattr__(name: str) -> Any:
    """``newsletter.cli.cli``, the click group, imported when asked for."""
    if name == "cli":
        from newsletter.cli.group import cli

        return cli
    raise AttributeError(f"module 'newsletter.cli' has no attribute {name!r}")
