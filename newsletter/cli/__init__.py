"""The ``newsletter`` command line: a thin click group whose commands live one per module.

Commands are imported only when they run, so a command pays only for the libraries it uses.
``newsletter --help`` pays for none, not even click (a third of a bare start-up): the group's
help is rendered by click once, kept in ``help.txt`` beside this file (a test keeps the two
the same), and printed from there when the terminal is as wide as click's widest layout.

A command that has finished also skips what Python does after it: freeing every object and
module one by one, a sixth of a cold ``newsletter build`` on the machines we measure, work
whose only effect is on memory the kernel takes back anyway (see :func:`_end_without_teardown`).
And it looks for garbage less often than Python does by default (see :data:`GC_YOUNG`).
"""

from __future__ import annotations

import atexit
import gc
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

#: New objects between two looks for garbage in cycles (Python's default: 700). A cold build
#: makes some 50,000 that live as long as the process (its modules' functions, classes and
#: tables), and every look walked them again, for no garbage at all. At 20,000 a cold build
#: takes 2.3 % fewer instructions (50,000: 3.6 %), and a batch, a send or the preview still
#: look often: what an issue's build leaves in cycles (Jinja's macros imported with context,
#: and the issue they rendered) waits longer, so 300 issues built in one process peaked at
#: 42 MB against 38 MB (50,000: 44 MB).
GC_YOUNG = 20_000

#: The exit status of the command that finished, for :func:`_end_without_teardown`; ``None``
#: while it runs, and when something other than a normal exit ends it.
_status: int | None = None


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
    global _status
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    # Registered first so that it runs last, after every handler the command registered.
    atexit.register(_end_without_teardown)
    from newsletter.cli.group import cli

    try:
        cli()
    except SystemExit as stop:
        _status = _exit_code(stop.code)
        raise


def _exit_code(code: object) -> int:
    """The process status Python gives ``sys.exit(code)``: ``None`` is 0, a message is 1."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _end_without_teardown() -> None:
    """End the process once the command is done and Python has run its exit steps.

    By the time this runs, Python has joined the command's threads and run the exit handlers
    registered after this one (worker pools, logging); what is left is freeing objects one by
    one, for memory the kernel takes back anyway. Streams are flushed here as Python would. Left
    to Python: a flush that fails (so it reports it as usual), an interrupt or a crash (its
    status and message are Python's to give), and a process measured by coverage (which saves
    its data in an exit handler that may have been registered before this one).
    """
    if _status is None or "coverage" in sys.modules:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            return
    os._exit(_status)


def __getattr__(name: str) -> Any:
    """``newsletter.cli.cli``, the click group, imported when asked for."""
    if name == "cli":
        from newsletter.cli.group import cli

        return cli
    raise AttributeError(f"module 'newsletter.cli' has no attribute {name!r}")
