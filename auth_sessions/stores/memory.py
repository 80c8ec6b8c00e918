"""The in-process token store (the default)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional

from cachetools import TLRUCache

from ..tokens import Token
from ._common import after_fork

__all__ = ["MemoryTokenStore", "default_store"]


def _keep_until(_key: str, token: Token, _now: float) -> float:
    return token.keep_until


class MemoryTokenStore:
    """Tokens in this process's memory, in a cachetools ``TLRUCache``.

    An entry leaves when its token (and its refresh token, if any) expires, and the least
    recently used entry leaves when ``maxsize`` credential sets are held. Every method is
    thread-safe: one lock guards the cache, and one lock per key gives single-flight.

    Args:
        maxsize: how many credential sets to keep at most.
        timer: the clock (epoch seconds) that expiries are compared with.
    """

    def __init__(self, maxsize: int = 1024, *, timer: Callable[[], float] = time.time) -> None:
        self._cache: TLRUCache[str, Token] = TLRUCache(maxsize, ttu=_keep_until, timer=timer)
        self._lock = threading.Lock()
        self._key_locks: Dict[str, threading.Lock] = {}
        after_fork(self)

    def _after_fork_in_child(self) -> None:
        # Locks held by the parent's other threads would stay held forever in the child.
        self._lock = threading.Lock()
        self._key_locks = {}

    def __repr__(self) -> str:
        return f"MemoryTokenStore(entries={len(self._cache)}, maxsize={self._cache.maxsize})"

    def get(self, key: str) -> Optional[Token]:
        with self._lock:
            return self._cache.get(key)

    def put(self, key: str, token: Token) -> None:
        with self._lock:
            self._cache[key] = token

    def invalidate(self, key: str, token: Token) -> bool:
        with self._lock:
            current = self._cache.get(key)
            if current is None or current.access_token != token.access_token:
                return False
            del self._cache[key]
            return True

    def clear(self) -> None:
        """Forget every token (tests, credential rotation)."""
        with self._lock:
            self._cache.clear()

    @contextmanager
    def lock(self, key: str, *, blocking: bool = True, timeout: float = 60.0) -> Iterator[bool]:
        with self._lock:
            key_lock = self._key_locks.get(key)
            if key_lock is None:
                key_lock = self._key_locks[key] = threading.Lock()
        acquired = key_lock.acquire(True, timeout) if blocking else key_lock.acquire(False)
        try:
            yield acquired
        finally:
            if acquired:
                key_lock.release()


default_store = MemoryTokenStore()
"""The process-wide store every auth object uses unless given another."""
