"""Leases on a shared Redis: single-flight locks that never outlive their holder.

A lease lasts as long as the fetch it guards may take (the caller's budget, which the fetch
never runs past) plus a margin, so a holder that dies blocks the fleet for no longer than it
would have waited itself. Each lease carries a token of ours and is released by a
compare-and-delete on every exit path: the ``with`` block's end, a ``SET`` whose answer timed
out (it may still run on a stalled server: the delete is queued behind it), and interpreter
exit (``atexit``: a worker that exits during a background renewal frees the fleet). A release
that does not get through (the server stalled) is tried again before the next lease.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Any, Callable, Dict, Optional, Tuple, Type

from ._bounded import Bound

__all__ = ["LEASE_MARGIN", "Leases", "compare_and_delete"]

LEASE_MARGIN = 2.0
"""Seconds a lease outlasts the budget of the fetch it guards."""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def compare_and_delete(client: Any, name: str, value: Any) -> bool:
    """Delete ``name`` only if it still holds ``value``, in one step (a lease's release, a
    stale entry's invalidation)."""
    return bool(client.eval(_RELEASE, 1, name, value))


class Leases:
    """The leases this process holds on one Redis client.

    Thread-safety: every method may be called from any thread; :meth:`forget_all` is for a
    forked child (the parent's leases are the parent's to release).
    """

    def __init__(
        self,
        client: Any,
        errors: Tuple[Type[BaseException], ...],
        failed: Optional[Callable[[BaseException], None]] = None,
        bound: Optional[Bound] = None,
    ) -> None:
        self._client = client
        self._bound = bound or Bound(None)
        self._errors = errors
        self._on_error = failed
        self._held: Dict[Tuple[str, str], None] = {}
        self._unfenced: Dict[Tuple[str, str], None] = {}  # releases that did not get through
        self._lock = threading.Lock()
        _everyone.add(self)

    def hold(self, name: str, token: str) -> None:
        with self._lock:
            self._held[(name, token)] = None

    def release(self, name: str, token: str) -> None:
        """Delete ``name`` if it still holds ``token`` (never another holder's lease). A
        release that does not get through is tried again by :meth:`sweep`."""
        with self._lock:
            self._held.pop((name, token), None)
        try:
            self._bound(lambda: compare_and_delete(self._client, name, token))
        except self._errors as exc:
            with self._lock:
                self._unfenced[(name, token)] = None
            if self._on_error is not None:
                self._on_error(exc)  # an outage, said once (a refused EVAL names its fix)
        else:
            with self._lock:
                self._unfenced.pop((name, token), None)

    def sweep(self) -> None:
        """Release again what did not get through (a lease whose SET timed out here but ran
        there once the server woke): called before each new lease, so an orphan lives only
        until this process next talks to Redis."""
        with self._lock:
            pending = list(self._unfenced)
        for name, token in pending:
            self.release(name, token)

    def release_all(self) -> None:
        with self._lock:
            held = [*self._held, *self._unfenced]
        for name, token in held:
            self.release(name, token)

    def forget_all(self) -> None:
        self._lock = threading.Lock()
        self._held, self._unfenced = {}, {}


_everyone: weakref.WeakSet[Leases] = weakref.WeakSet()


@atexit.register
def _release_at_exit() -> None:
    for leases in list(_everyone):
        leases.release_all()
