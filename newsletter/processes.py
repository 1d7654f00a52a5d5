"""Worker processes that never outlive the command that started them.

A build's workers and a list send's connections run in processes of their own. Killed, the
command must take them with it: a build worker left behind keeps writing into ``out/``, and
a send worker keeps sending while the resumed send starts on the same recipients.
"""

from __future__ import annotations

import ctypes
import os
import signal

__all__ = ["die_with_parent"]


def die_with_parent(parent: int) -> None:
    """Have this process killed when ``parent``, the process that started it, dies (Linux's
    ``PR_SET_PDEATHSIG``), and end it now if ``parent`` died before the call. Elsewhere
    (macOS has no ``prctl``) nothing happens: the parent's own shutdown ends its workers."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # reparented already: to init, or to a subreaper
        os._exit(1)
