"""What the stores share: token (de)serialisation, hashed keys, and fork hygiene."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import weakref
from typing import Any, Dict, Optional

from ..tokens import Token

__all__ = ["after_fork", "hashed", "token_from_dict", "token_to_dict"]


def hashed(key: str) -> str:
    """A short, stable digest of a store key (for file names and Redis keys)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def token_to_dict(token: Token) -> Dict[str, Any]:
    """A JSON-ready dict (secrets revealed: only for the store's own file or Redis)."""
    return {
        "access_token": token.access_token.reveal(),
        "token_type": token.token_type,
        "expires_ts": token.expires_ts,
        "issued_ts": token.issued_ts,
        "refresh_token": token.refresh_token.reveal() if token.refresh_token else None,
        "refresh_expires_ts": (
            token.refresh_expires_at.timestamp() if token.refresh_expires_at else None
        ),
        "scope": token.scope,
        "proof_key": token.proof_key.reveal() if token.proof_key else None,
        "generation": token.generation,
    }


def token_from_dict(data: Any) -> Optional[Token]:
    """The token a dict describes, or None if it is not one (a corrupt or foreign entry)."""
    try:
        generation = int(data.get("generation") or 0)
        return dataclasses.replace(
            Token.create(
                data["access_token"],
                token_type=data["token_type"],
                expires_ts=float(data["expires_ts"]),
                issued_ts=float(data["issued_ts"]),
                refresh_token=data.get("refresh_token"),
                refresh_expires_ts=(
                    float(data["refresh_expires_ts"]) if data.get("refresh_expires_ts") else None
                ),
                scope=data.get("scope"),
                proof_key=data.get("proof_key"),
            ),
            generation=generation,
        )
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


_stores: weakref.WeakSet[Any] = weakref.WeakSet()


def _reset_in_child() -> None:
    for store in list(_stores):
        store._after_fork_in_child()


def after_fork(store: Any) -> None:
    """Call ``store._after_fork_in_child()`` in every child forked from now on.

    A child must not inherit a lock another thread of the parent held at fork time, nor a
    connection it shares with the parent (gunicorn ``--preload``).
    """
    _stores.add(store)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
