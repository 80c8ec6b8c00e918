"""The ``TokenStore`` protocol, and ``BaseTokenStore``: the coordination every store shares.

A store is storage plus a lock. ``BaseTokenStore`` brings the lock (per-key, dropped when
unused, interrupt-safe; then the store's cross-process lock, under one timeout budget), fork
hygiene, the injectable clock, copy semantics and cache control. A new store subclasses it
and writes only the storage primitives it declares abstract: ``get``, ``put``,
``invalidate`` (compare-and-delete), ``delete``, ``get_failure``, ``put_failure``,
``clear_storage`` — plus ``process_lock`` if processes share it, ``after_fork`` if it holds
connections, and ``load`` if it can read a token and a failure in one round trip.
"""

from __future__ import annotations

import abc
import time
import weakref
from typing import (
    Any,
    Callable,
    ContextManager,
    Dict,
    Optional,
    Protocol,
    Tuple,
    runtime_checkable,
)

from ..tokens import Failure, Token
from ._common import after_fork
from ._locks import KeyedLocks, LockHold

__all__ = ["BaseTokenStore", "TokenStore"]


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens (and failure memory) are kept, keyed by credential set.

    Keys are opaque strings built from the vendor, the token URL, the client id, a digest of
    the secret and the grant's parameters; they never contain a secret.

    A store must be safe to use from many threads at once; stores shared between processes
    (file, Redis) also make :meth:`lock` hold across those processes.
    """

    def get(self, key: str) -> Optional[Token]:
        """Return the stored token for ``key`` (expired or not), or None."""
        ...

    def put(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``, replacing what was there."""
        ...

    def invalidate(self, key: str, token: Token) -> bool:
        """Remove ``key`` only if it still holds ``token``; return whether it did.

        Compare-and-invalidate: a burst of 401s answered to one stale token removes it
        once, and never removes the fresh token another thread has just stored.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``'s token and failure memory, whatever they are."""
        ...

    def get_failure(self, key: str) -> Optional[Failure]:
        """The remembered failure of ``key``, if one is still in force."""
        ...

    def put_failure(self, key: str, failure: Failure) -> None:
        """Remember ``failure`` for ``key`` until ``failure.until_ts``."""
        ...

    def load(self, key: str) -> Tuple[Optional[Token], Optional[Failure]]:
        """``(get(key), get_failure(key))`` — in one round trip where the store can."""
        ...

    def may_refresh(self, key: str, token: Token) -> bool:
        """Whether ``token``'s single-use refresh token may be presented, spending it: False
        when another process could have presented it already (a shared store during an
        outage, or after a failover). Called right before the refresh is sent."""
        ...

    def lock(
        self, key: str, *, blocking: bool = True, timeout: float = 60.0
    ) -> ContextManager[bool]:
        """The single-flight section for ``key``.

        Used as ``with store.lock(key, blocking=False) as acquired:``; yields whether the
        section was entered (a blocking call that times out yields False). Only the holder
        fetches a token for ``key``.
        """
        ...


class BaseTokenStore(abc.ABC):
    """Coordination shared by every store: locks, fork hygiene, clock, cache control.

    A store subclasses it and writes only the storage primitives, the abstract methods
    below: :meth:`get`, :meth:`put`, :meth:`invalidate` (compare-and-delete), :meth:`delete`,
    :meth:`get_failure`, :meth:`put_failure` and :meth:`clear_storage` — plus, when processes
    share it, :meth:`process_lock`, and :meth:`load` if it reads a token and a failure in
    one round trip. Nothing in a store knows what sits above it: token managers register
    themselves with :meth:`watch`, and :meth:`clear` tells them.

    Thread-safety: thread-safe and fork-safe; a forked child starts with no lock held.

    Args:
        clock: epoch-seconds clock that expiries are compared with.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._locks = KeyedLocks()
        self._watchers: weakref.WeakSet[Any] = weakref.WeakSet()
        after_fork(self)

    # ------------------------------------------------------------------ primitives

    @abc.abstractmethod
    def get(self, key: str) -> Optional[Token]:
        """See :meth:`TokenStore.get`."""

    @abc.abstractmethod
    def put(self, key: str, token: Token) -> None:
        """See :meth:`TokenStore.put`."""

    @abc.abstractmethod
    def invalidate(self, key: str, token: Token) -> bool:
        """See :meth:`TokenStore.invalidate`."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """See :meth:`TokenStore.delete`."""

    @abc.abstractmethod
    def get_failure(self, key: str) -> Optional[Failure]:
        """See :meth:`TokenStore.get_failure`."""

    @abc.abstractmethod
    def put_failure(self, key: str, failure: Failure) -> None:
        """See :meth:`TokenStore.put_failure`."""

    @abc.abstractmethod
    def clear_storage(self) -> None:
        """Remove every token and failure this store holds (nothing else)."""

    def process_lock(
        self, key: str, blocking: bool, timeout: float
    ) -> Optional[ContextManager[bool]]:
        """The cross-process lock of ``key``, or None for a store private to one process."""
        return None

    def after_fork(self) -> None:  # noqa: B027 - a hook: most stores share nothing else
        """Called in a forked child (after the base has dropped the parent's locks): drop
        anything else shared with the parent, such as connections."""

    # ------------------------------------------------------------------ coordination

    def lock(self, key: str, *, blocking: bool = True, timeout: float = 60.0) -> LockHold:
        """The single-flight section for ``key`` (see :meth:`TokenStore.lock`)."""
        return LockHold(self._locks, key, self.process_lock, blocking, timeout)

    def may_refresh(self, key: str, token: Token) -> bool:
        """See :meth:`TokenStore.may_refresh`."""
        return True

    def load(self, key: str) -> Tuple[Optional[Token], Optional[Failure]]:
        """See :meth:`TokenStore.load`."""
        return self.get(key), self.get_failure(key)

    def watch(self, watcher: Any) -> None:
        """Have :meth:`clear` call ``watcher.drop_local()`` (held weakly)."""
        self._watchers.add(watcher)

    def clear(self) -> None:
        """Forget every token and failure, here and in every open session using this store."""
        self.clear_storage()
        for watcher in list(self._watchers):
            watcher.drop_local()

    def _after_fork_in_child(self) -> None:
        self._locks.reset()
        self.after_fork()

    # ------------------------------------------------------------------ copies share

    def __copy__(self) -> Any:
        return self  # a store is a shared resource: copies of a session share it

    def __deepcopy__(self, memo: Dict[int, Any]) -> Any:
        return self
