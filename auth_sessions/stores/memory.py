"""The in-process token store (the default)."""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from typing import Any, Callable, Optional

from cachetools import TLRUCache

from ..tokens import Failure, Token
from .base import BaseTokenStore

__all__ = ["MemoryTokenStore", "default_store"]


def _keep_until(_key: str, token: Token, _now: float) -> float:
    return token.keep_until


def _failure_until(_key: str, failure: Failure, _now: float) -> float:
    return failure.until_ts


class MemoryTokenStore(BaseTokenStore):
    """Tokens in this process's memory, in a cachetools ``TLRUCache``.

    An entry leaves when its token (and its refresh token, if any) expires, and the least
    recently used entry leaves when ``maxsize`` credential sets are held. Every method is
    thread-safe: one lock guards the cache; single-flight locks come from
    :class:`~auth_sessions.stores.BaseTokenStore`.

    Args:
        maxsize: how many credential sets to keep at most.
        timer: the clock (epoch seconds) that expiries are compared with.
    """

    def __init__(self, maxsize: int = 1024, *, timer: Callable[[], float] = time.time) -> None:
        super().__init__(clock=timer)
        self.maxsize = maxsize
        self._cache: TLRUCache[str, Token] = TLRUCache(maxsize, ttu=_keep_until, timer=timer)
        self._failures: TLRUCache[str, Failure] = TLRUCache(
            maxsize, ttu=_failure_until, timer=timer
        )
        self._lock = threading.Lock()
        self._uid = uuid.uuid4().hex
        _by_uid[self._uid] = self

    def after_fork(self) -> None:
        self._lock = threading.Lock()  # another thread of the parent may have held it

    def __repr__(self) -> str:
        return f"MemoryTokenStore(entries={len(self._cache)}, maxsize={self._cache.maxsize})"

    def __reduce__(self) -> Any:
        """Pickles by identity: loaded in this process it is this store; in another, one
        (empty) store per original, shared by everything pickled with it."""
        if self is default_store:
            return (_default, ())
        return (_by_identity, (self._uid, self.maxsize))

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

    def delete(self, key: str) -> None:
        with self._lock:
            self._cache.pop(key, None)
            self._failures.pop(key, None)

    def get_failure(self, key: str) -> Optional[Failure]:
        with self._lock:
            return self._failures.get(key)

    def put_failure(self, key: str, failure: Failure) -> None:
        with self._lock:
            self._failures[key] = failure

    def clear_storage(self) -> None:
        with self._lock:
            self._cache.clear()
            self._failures.clear()


_by_uid: weakref.WeakValueDictionary[str, MemoryTokenStore] = weakref.WeakValueDictionary()
_uid_lock = threading.Lock()


def _default() -> MemoryTokenStore:
    return default_store


def _by_identity(uid: str, maxsize: int) -> MemoryTokenStore:
    with _uid_lock:
        store = _by_uid.get(uid)
        if store is None:
            store = MemoryTokenStore(maxsize)
            del _by_uid[store._uid]
            store._uid = uid
            _by_uid[uid] = store
        return store


default_store = MemoryTokenStore()
"""The process-wide store every auth object uses unless given another."""
