"""A clock that moves only when told to: expiry tests without sleeping."""

from __future__ import annotations

import threading
import time

__all__ = ["ManualClock"]


class ManualClock:
    """Epoch-seconds clock for ``clock=`` arguments; call it to read, :meth:`advance` to move.

    Thread-safe.

    Example:
        >>> clock = ManualClock(1000.0)
        >>> clock.advance(5)
        >>> clock()
        1005.0
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"
