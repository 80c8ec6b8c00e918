"""Leases on a shared Redis: single-flight locks that never outlive their holder.

A lease is taken for the fetch it guards: the caller's budget, which the fetch never runs
past, plus a margin. It lives :data:`LEASE_TERM` seconds at a time and is renewed while its
holder holds it, never past that budget: a holder that dies (SIGKILL, a lost host) blocks the
fleet for at most one term, and one that hangs for no longer than it would have waited itself.
Each lease carries a token of ours; renewal and release are compare-and-set scripts, so a
lease that expired and went to another process is never extended or deleted by us. Release
happens on every exit path: the ``with`` block's end, a ``SET`` whose answer timed out (it may
still run on a stalled server: the delete is queued behind it), and interpreter exit
(``atexit``: a worker that exits during a background renewal frees the fleet). A release that
does not get through (the server stalled) is tried again before the next lease.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import weakref
from typing import Any, Callable, Dict, Optional, Tuple, Type

from ._bounded import Bound

__all__ = ["LEASE_MARGIN", "LEASE_TERM", "Leases", "compare_and_delete"]

LEASE_MARGIN = 2.0
"""Seconds a lease outlasts the budget of the fetch it guards."""

LEASE_TERM = 5.0
"""Seconds a lease lives unless renewed (renewed every third of it while held)."""

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

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
        self._held: Dict[Tuple[str, str], float] = {}  # -> renewed until (monotonic)
        self._unfenced: Dict[Tuple[str, str], None] = {}  # releases that did not get through
        self._lock = threading.Lock()
        self._renewing = threading.Condition(self._lock)
        self._keeper: Optional[threading.Thread] = None
        _everyone.add(self)

    def hold(self, name: str, token: str, budget: float) -> None:
        """Record a lease taken (for :data:`LEASE_TERM` at most) and keep renewing it while
        held, up to ``budget`` seconds from now."""
        with self._lock:
            self._held[(name, token)] = time.monotonic() + budget
            if self._keeper is None:
                self._keeper = threading.Thread(
                    target=self._keep, name="auth-sessions-lease-keeper", daemon=True
                )
                self._keeper.start()

    def _keep(self) -> None:
        """Renew every held lease each third of a term, until none is held."""
        while True:
            with self._lock:
                self._renewing.wait(LEASE_TERM / 3)
                held = list(self._held.items())
                if not held:
                    self._keeper = None
                    return
            now = time.monotonic()
            for (name, token), until in held:
                if until > now:  # never past the holder's budget
                    self._extend(name, token, int(min(LEASE_TERM, until - now) * 1000) + 1)

    def _extend(self, name: str, token: str, ms: int) -> None:
        with contextlib.suppress(*self._errors):  # an outage: the lease expires by itself
            self._bound(lambda: self._client.eval(_EXTEND, 1, name, token, ms))

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
        self._renewing = threading.Condition(self._lock)
        self._keeper = None  # the parent's keeper thread does not exist here
        self._held, self._unfenced = {}, {}


_everyone: weakref.WeakSet[Leases] = weakref.WeakSet()


@atexit.register
def _release_at_exit() -> None:
    for leases in list(_everyone):
        leases.release_all()
