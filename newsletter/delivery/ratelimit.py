"""At most ``rate`` messages per second, over every connection together.

Each caller of :meth:`RateLimiter.wait` is given the next free slot on a fixed grid of
``1/rate`` seconds, so that sleeping a little too long never adds up into a slower send, and
bursts never exceed the rate either. The next slot lives in shared memory under a process-shared
lock, so that the worker processes a send forks share one limit as its threads do.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Hands out send slots ``1/rate`` seconds apart; thread-safe, and shared with the
    processes forked after it is made (the monotonic clock is the machine's)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = multiprocessing.Value("d", clock())

    def wait(self) -> None:
        """Return at the caller's slot."""
        with self._next.get_lock():
            now = self._clock()
            slot = max(self._next.value, now)
            self._next.value = slot + self._interval
        if slot > now:
            self._sleep(slot - now)
