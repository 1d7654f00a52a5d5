"""Problems in an editor's input, and the error that carries them to the command line.

Every stage that reads what an editor wrote (the issue file, ``newsletter.toml``, the theme)
reports what is wrong as :class:`Problem` values rather than raising on the first one, so that
an editor fixes everything in one pass. A problem prints as one line that points at the place
to fix, compiler style::

    issues/x.yaml:12: lead.imgae: unknown field (did you mean 'image'?)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import IO, Any

import click

from newsletter.record import Record

__all__ = ["NewsletterError", "Problem", "ProblemsError", "styled"]


def styled(text: str, kind: str) -> str:
    """``text`` coloured for its ``kind`` (``error`` red, ``warning`` yellow, ``ok`` green).

    click drops the colour when the output is not a terminal; ``NO_COLOR`` (no-color.org)
    drops it everywhere.
    """
    if os.environ.get("NO_COLOR"):
        return text
    return click.style(text, fg=_COLOURS[kind], bold=kind == "error")


_COLOURS = {"error": "red", "warning": "yellow", "ok": "green"}


class Problem(Record):
    """One thing wrong in one place: ``file:line: field: message``."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class NewsletterError(click.ClickException):
    """The root of every error the tool raises on purpose.

    It is a :class:`click.ClickException`, so the command line prints it as a clean line and
    exits 1 (a problem in the user's input) with no traceback; Python callers catch this one
    class. The tree:

    - ``NewsletterError``: a single problem described in one message (a missing workspace, an
      MJML template error ...).
    - ``ProblemsError``: one or more :class:`Problem` values, one line each.
    """

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(
            f"{styled('error:', 'error')} {self.format_message()}", file=file, err=file is None
        )


class ProblemsError(NewsletterError):
    """Several problems found at once; each prints on a line of its own."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(map(str, self.problems)))

    def show(self, file: IO[Any] | None = None) -> None:
        for problem in self.problems:
            click.echo(str(problem), file=file, err=file is None)
        count = len(self.problems)
        found = styled(f"{count} problem{'s' if count != 1 else ''} found", "error")
        click.echo(found, file=file, err=file is None)
