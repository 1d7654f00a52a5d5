"""MJML to HTML with mjml-python (the Rust MRML engine), with the checks MRML leaves out.

MRML accepts a misspelt tag without a word and drops it from the output, so a theme typo
(``<mj-sectoin>``) would silently lose a whole block of the email. The tags are checked against
MJML's own list first, and any MRML error is re-raised naming the template it came from.

MRML is native code that recurses once per level of nesting: around 2,000 levels deep it
overflows its stack, a segfault that no ``except`` catches and that takes the whole process
with it (``build``, or the preview server an editor keeps open). So the nesting is measured
first, in one linear pass, and refused beyond :data:`MAX_DEPTH`; and while :func:`isolated`
is in force (the preview), MRML runs in a child process of its own, so that a crash nobody
foresaw becomes one error in the page and the next build gets a fresh child.
"""

from __future__ import annotations

import os
import re
import struct
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from mjml import mjml2html

from newsletter.errors import NewsletterError

if TYPE_CHECKING:
    # Imported where a child is started: only the preview isolates MRML, and a build's
    # start-up would pay for both modules (signal builds an enum of every signal).
    import subprocess

__all__ = ["MAX_DEPTH", "MJML_TAGS", "ChildCompiler", "compile_mjml", "isolated", "nesting_depth"]

#: How deeply the MJML may nest elements: the theme needs about 20 and an issue's Markdown at
#: most 20 more (``pipeline.load.MAX_NESTING``); MRML crashes near 2,000.
MAX_DEPTH = 500

#: Every tag of MJML 4 (core components and head elements).
MJML_TAGS = frozenset(
    [
        "mjml",
        "mj-head",
        "mj-body",
        "mj-include",
        "mj-attributes",
        "mj-all",
        "mj-class",
        "mj-breakpoint",
        "mj-font",
        "mj-html-attributes",
        "mj-html-attribute",
        "mj-selector",
        "mj-preview",
        "mj-style",
        "mj-title",
        "mj-accordion",
        "mj-accordion-element",
        "mj-accordion-title",
        "mj-accordion-text",
        "mj-button",
        "mj-carousel",
        "mj-carousel-image",
        "mj-column",
        "mj-divider",
        "mj-group",
        "mj-hero",
        "mj-image",
        "mj-navbar",
        "mj-navbar-link",
        "mj-raw",
        "mj-section",
        "mj-social",
        "mj-social-element",
        "mj-spacer",
        "mj-table",
        "mj-text",
        "mj-wrapper",
    ]
)

_TAG = re.compile(r"</?(mj[a-z0-9-]*)\b", re.IGNORECASE)
_ANY_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*>")
#: HTML elements that never have content, so never nest (``<br>`` needs no ``</br>``).
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)


def nesting_depth(markup: str) -> int:
    """How many elements deep ``markup`` nests at its deepest, in one pass over its tags."""
    depth = deepest = 0
    for match in _ANY_TAG.finditer(markup):
        if match.group(1):
            depth = max(depth - 1, 0)
        elif not match.group(0).endswith("/>") and match.group(2).lower() not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def compile_mjml(mjml: str, *, template: str = "email.mjml.j2") -> str:
    """Compile ``mjml`` to HTML; an unknown tag, a nesting too deep or an MRML error (or, when
    :func:`isolated`, its crash) names ``template``."""
    unknown = sorted({tag for tag in _TAG.findall(mjml) if tag.lower() not in MJML_TAGS})
    if unknown:
        raise NewsletterError(f"{template}: unknown MJML tag <{'>, <'.join(unknown)}>")
    # Each element opens with a "<": fewer of them than the limit cannot nest past it, which
    # spares nearly every email the walk over its tags.
    depth = nesting_depth(mjml) if mjml.count("<") > MAX_DEPTH else 0
    if depth > MAX_DEPTH:
        raise NewsletterError(
            f"{template}: the MJML nests {depth} elements deep, more than the {MAX_DEPTH} "
            "the MJML compiler can take"
        )
    child = _child
    try:
        return child.compile(mjml) if child is not None else mrml(mjml)
    except (ValueError, RuntimeError) as error:
        raise NewsletterError(f"{template}: MJML error: {error}") from None


def mrml(mjml: str) -> str:
    """MRML itself, unchecked: what the :class:`ChildCompiler`'s child runs."""
    html: str = mjml2html(mjml)
    return html


class ChildCompiler:
    """MRML in one long-lived child Python process, started on first use and after a crash.

    The child (``python -m newsletter.pipeline.compile``) reads MJML texts from its stdin and
    writes HTML to its stdout, each framed by its length, so it needs nothing of the parent's
    state and the cost is a pipe round trip per email. It exits when its stdin closes, which is
    also what happens when the parent dies, however it dies.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # one compile at a time: the child does one at a time

    def compile(self, mjml: str) -> str:
        """The HTML of ``mjml``; MRML's error is a ``ValueError``, a crash a NewsletterError."""
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:
                process = self._process = _start_child()
            assert process.stdin is not None and process.stdout is not None
            try:
                _write(process.stdin, b"", mjml.encode())
                status, payload = _read(process.stdout)
            except (OSError, EOFError):
                self._process = None
                code = process.wait()
                raise NewsletterError(f"the MJML compiler crashed ({_how(code)})") from None
        if status == b"e":
            raise ValueError(payload.decode())
        return payload.decode()

    def close(self) -> None:
        """Stop the child, if one runs."""
        with self._lock:
            if self._process is not None:
                if self._process.stdin is not None:
                    self._process.stdin.close()
                self._process.wait()
                self._process = None


def _start_child() -> subprocess.Popen[bytes]:
    import subprocess

    package_root = str(Path(__file__).resolve().parents[2])  # so the child imports this copy
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter.pipeline.compile"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )


def _write(stream: IO[bytes], status: bytes, payload: bytes) -> None:
    stream.write(status + struct.pack(">Q", len(payload)) + payload)
    stream.flush()


def _read(stream: IO[bytes], *, status: bool = True) -> tuple[bytes, bytes]:
    head = stream.read(9 if status else 8)
    if len(head) < (9 if status else 8):
        raise EOFError
    code, size = (head[:1], head[1:]) if status else (b"", head)
    payload = stream.read(struct.unpack(">Q", size)[0])
    return code, payload


def _serve() -> None:
    """The child's loop: MJML in, ``o`` and HTML or ``e`` and MRML's error out, until EOF."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            _, payload = _read(stdin, status=False)
        except EOFError:
            return
        try:
            _write(stdout, b"o", mrml(payload.decode()).encode())
        except (ValueError, RuntimeError) as error:
            _write(stdout, b"e", str(error).encode())


def _how(code: int) -> str:
    """``killed by SIGSEGV`` from a child's exit code."""
    if code < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


_child: ChildCompiler | None = None
_users = 0
_users_lock = threading.Lock()


@contextmanager
def isolated() -> Iterator[ChildCompiler]:
    """While in force, :func:`compile_mjml` runs MRML in a child process (shared by nested
    users, stopped when the last one leaves)."""
    global _child, _users
    with _users_lock:
        if _child is None:
            _child = ChildCompiler()
        _users += 1
        child = _child
    try:
        yield child
    finally:
        with _users_lock:
            _users -= 1
            if _users == 0 and _child is not None:
                _child.close()
                _child = None


if __name__ == "__main__":
    _serve()
