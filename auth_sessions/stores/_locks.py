"""Per-key locks for the stores: created on demand, dropped when unused, interrupt-safe.

Thread-safety: every method may be called from any thread.

Why not ``acquire()`` then ``try``: on CPython a signal handler (SIGALRM, a Celery time
limit, Ctrl-C) can raise after any call returns, so between ``acquire()`` returning and the
next statement. Each key's lock is an ``RLock``, whose owner the interpreter records inside
``acquire()`` itself, so whichever statement an exception interrupts, the cleanup asks the
lock whether this thread holds it and releases it if so; bookkeeping under the mutex makes
no calls; ``__exit__`` finishes releasing before it lets an interrupt through. One window is
beyond any Python code: the instant before ``__exit__``'s first line. The library itself
takes these locks only on its fetch threads, which never receive signals.
``tests/stores/test_interrupts.py`` fires SIGALRM at random offsets to show it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, ContextManager, Dict, Optional

__all__ = ["KeyedLocks", "LockHold"]


class _Entry:
    __slots__ = ("lock", "refs")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.refs = 0


class KeyedLocks:
    """One lock per key, existing only while some thread holds or waits for it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._entries: Dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def reset(self) -> None:
        """Forget every lock (in a forked child: the parent's holders do not exist there)."""
        self._mutex = threading.Lock()
        self._entries = {}

    def _ref(self, key: str, hold: LockHold) -> None:
        """Count ``hold`` as a user of ``key``'s lock; recorded on it under the mutex, so
        an interrupt after this returns cannot lose the reference."""
        with self._mutex:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
            entry.refs += 1
            hold._entry = entry

    def _unref(self, key: str, hold: LockHold) -> None:
        """Undo :meth:`_ref` for ``hold``, once however often it is called.

        No calls between the first change and the last: CPython runs signal handlers only
        after calls (and at loop edges), so this block cannot be cut in half.
        """
        with self._mutex:
            entry = hold._entry
            if entry is None:
                return
            hold._entry = None
            entry.refs -= 1
            if entry.refs <= 0 and key in self._entries and self._entries[key] is entry:
                del self._entries[key]


class LockHold:
    """``with`` section holding a key's thread lock, then ``process_lock(key, ...)``'s,
    under one timeout budget; yields whether both were taken. Not reentrant: a thread that
    already holds the key gets False rather than a deadlock."""

    __slots__ = ("_blocking", "_entry", "_key", "_locks", "_outer", "_process", "_timeout")

    def __init__(
        self,
        locks: KeyedLocks,
        key: str,
        process_lock: Callable[[str, bool, float], Optional[ContextManager[bool]]],
        blocking: bool,
        timeout: float,
    ) -> None:
        self._locks = locks
        self._key = key
        self._outer = process_lock
        self._blocking = blocking
        self._timeout = timeout
        self._entry: Optional[_Entry] = None
        self._process: Optional[ContextManager[bool]] = None

    def __enter__(self) -> bool:
        started = time.monotonic()
        try:
            self._locks._ref(self._key, self)
            entry = self._entry
            assert entry is not None
            if entry.lock._is_owned():  # type: ignore[attr-defined]
                # this thread holds it already (an outer section): refuse, do not deadlock,
                # and leave the outer section's hold alone
                self._locks._unref(self._key, self)
                return False
            if self._blocking:
                got = entry.lock.acquire(True, max(0.0, self._timeout))
            else:
                got = entry.lock.acquire(False)
            if not got:
                self._release()
                return False
            remaining = max(0.0, self._timeout - (time.monotonic() - started))
            self._process = self._outer(self._key, self._blocking, remaining)
            if self._process is None:
                return True
            if not self._process.__enter__():
                self._release()
                return False
            return True
        except BaseException:
            self._release()
            raise

    def __exit__(self, *exc: Any) -> None:
        interrupted: Optional[BaseException] = None
        while self._entry is not None or self._process is not None:
            try:
                self._release()
            except BaseException as error:  # finish releasing, then let the interrupt through
                interrupted = error
        if interrupted is not None:
            raise interrupted

    def _release(self) -> None:
        """Release whatever this section holds; safe to call again."""
        process, self._process = self._process, None
        try:
            if process is not None:
                process.__exit__(None, None, None)
        finally:
            entry = self._entry  # cleared only by _unref, so a retry can finish the job
            if entry is not None:
                if entry.lock._is_owned():  # type: ignore[attr-defined]
                    entry.lock.release()
                self._locks._unref(self._key, self)
