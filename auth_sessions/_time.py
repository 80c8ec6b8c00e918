"""Deadlines on an injectable monotonic clock."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Deadline", "budget"]


@dataclass(frozen=True)
class Deadline:
    """An instant on ``clock`` (monotonic seconds) that no wait, attempt or retry goes past.

    Thread-safety: an immutable value.
    """

    at: float
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """The deadline ``seconds`` from now on ``clock``."""
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left (0 when passed)."""
        return max(0.0, self.at - self.clock())

    def fits(self, wait: float) -> bool:
        """Whether waiting ``wait`` seconds still ends before the deadline."""
        return self.clock() + wait < self.at


def budget(timeout: Any, default: float) -> float:
    """How long a call with requests' ``timeout`` may wait for a token: the number, or a
    ``(connect, read)`` pair's sum; ``default`` when it sets no finite bound."""
    if isinstance(timeout, tuple):
        parts = [p for p in timeout if p is not None]
        timeout = sum(parts) if len(parts) == len(timeout) else None
    if isinstance(timeout, (int, float)) and math.isfinite(timeout):
        return float(timeout)
    return default
