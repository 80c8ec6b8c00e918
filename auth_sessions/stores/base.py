"""The ``TokenStore`` protocol every store implements."""

from __future__ import annotations

from typing import ContextManager, Optional, Protocol, runtime_checkable

from ..tokens import Token

__all__ = ["TokenStore"]


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens are kept, keyed by credential set.

    Keys are opaque strings built by :class:`~auth_sessions.TokenAuth` from the vendor, the
    token URL, the client id and a digest of the secret; they never contain a secret.

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

    def lock(
        self, key: str, *, blocking: bool = True, timeout: float = 60.0
    ) -> ContextManager[bool]:
        """The single-flight section for ``key``.

        Used as ``with store.lock(key, blocking=False) as acquired:``; yields whether the
        section was entered (a blocking call that times out yields False). Only the holder
        fetches a token for ``key``.
        """
        ...
