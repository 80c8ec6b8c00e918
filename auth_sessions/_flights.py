"""Flights: one token fetch in progress, and the callers waiting for its outcome.

Each waiter sleeps on a private lock of its own, released by the flight when it lands: a
caller that gives up (its budget spent, or an interrupt) never cancels the fetch and can
leave no shared lock held. The fetch runs on a short-lived daemon thread, or inline where no
thread can start (uWSGI without threads, process limits).
"""

from __future__ import annotations

import _thread
import threading
from typing import Any, Callable, List, Optional

from ._policy import Snapshot
from ._time import Deadline
from .errors import AuthError

__all__ = ["Flight", "spawn"]


class Flight:
    """One fetch in progress. Its fields are written under the owning manager's mutex.

    Thread-safety: :meth:`wait` and :meth:`outcome` may be called from any thread;
    :meth:`land` only under the mutex given at construction.
    """

    __slots__ = ("_mutex", "_waiters", "deadline", "done", "error", "snap", "stale")

    def __init__(self, stale: Optional[str], deadline: Deadline, mutex: Any) -> None:
        self.stale = stale
        self.deadline = deadline
        self.done = False
        self.snap: Optional[Snapshot] = None
        self.error: Optional[AuthError] = None
        self._mutex = mutex
        self._waiters: List[Any] = []

    def wait(self, budget: float) -> bool:
        """Wait at most ``budget`` seconds for the flight to land; whether it has."""
        waiter: Any = _thread.allocate_lock()
        waiter.acquire()
        with self._mutex:
            if self.done:
                return True
            self._waiters.append(waiter)
        return bool(waiter.acquire(True, max(0.0, budget)))

    def land(self, snap: Optional[Snapshot], error: Optional[AuthError]) -> List[Any]:
        """Record the outcome (under the mutex); the waiters to wake once it is let go."""
        self.snap, self.error, self.done = snap, error, True
        waiters, self._waiters = self._waiters, []
        return waiters

    def outcome(self) -> Snapshot:
        """The token it landed with, or (a copy of) its error."""
        if self.error is not None:
            raise self.error.copy() from None
        assert self.snap is not None
        return self.snap


def spawn(run: Callable[[], None], claim: Callable[[], None], abandon: Callable[[], None]) -> bool:
    """Start ``run`` on a daemon thread, calling ``claim`` (install the flight) just before;
    False when no thread can start (the caller runs it inline).

    An interrupt after ``claim`` calls ``abandon`` when the thread did not come to life, so
    no flight is left that nobody runs.
    """
    thread = threading.Thread(target=run, name="auth-sessions-fetch", daemon=True)
    try:
        claim()
        thread.start()
    except RuntimeError:  # "can't start new thread"
        return False
    except BaseException:
        if not thread.is_alive():
            abandon()
        raise
    return True
