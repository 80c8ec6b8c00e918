"""Deadlines on an injectable monotonic clock."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Deadline"]


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
