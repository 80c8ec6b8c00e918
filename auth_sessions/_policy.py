"""The renewal decision as pure values: a snapshot of a token with its renewal points, and the
window a moment falls in. No locks, no I/O, no clock of its own.

Windows (after botocore's refreshable credentials): with leeway ``L`` (default
``min(60 s, 10 % of the lifetime)``, never more than half of it) a token enters its
*advisory* window ``L`` seconds before expiry: it is renewed in the background while every
request keeps sending it. At ``L / 2`` before expiry the *mandatory* window starts: callers
wait (within their own time budget) for a fresh token, and the old one is never sent again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ._dpop import prover_of
from .tokens import Token

__all__ = [
    "DEFAULT_COOLDOWN",
    "DEFAULT_DEADLINE",
    "Policy",
    "Snapshot",
    "Window",
    "snapshot",
    "window",
]

DEFAULT_COOLDOWN = 60.0
"""Seconds a refused credential set (400/401/403) is held back before it is tried again."""

DEFAULT_DEADLINE = 30.0
"""Seconds a token fetch may take in all (lock waits, attempts, retries) — and how long a
call without a timeout of its own waits for one."""

MAX_DEFAULT_LEEWAY = 60.0


@dataclass(frozen=True)
class Policy:
    """How one manager renews: leeway, cooldown after a refusal, background renewal.

    Thread-safety: an immutable value.
    """

    leeway: Optional[float] = None
    cooldown: float = DEFAULT_COOLDOWN
    background: bool = True


@dataclass(frozen=True)
class Snapshot:
    """A token with its ``Authorization`` value and renewal points worked out once.

    Thread-safety: an immutable value; the hot path reads it without a lock.
    """

    token: Token
    header: str
    renew_at: float
    must_renew_at: float
    prover: Optional[Any] = None  # a DPoP-bound token's key (see auth_sessions._dpop)

    def __repr__(self) -> str:
        return f"Snapshot(expires_at={self.token.expires_at.isoformat()})"

    def held_until_mandatory(self) -> Snapshot:
        """This token, its advisory window closed: it serves until the mandatory point
        (after a failed early renewal, so the next renewal waits until then)."""
        return Snapshot(
            self.token, self.header, self.must_renew_at, self.must_renew_at, self.prover
        )


class Window(enum.Enum):
    """Where a moment falls in a token's life."""

    FRESH = "fresh"  # send it
    ADVISORY = "advisory"  # send it, and renew in the background
    MANDATORY = "mandatory"  # wait for a new one
    ABSENT = "absent"  # no token at all


def snapshot(token: Token, policy: Policy, header: Callable[[Token], str]) -> Snapshot:
    """``token`` with its header and its renewal points under ``policy``'s leeway."""
    lifetime = token.lifetime
    leeway = policy.leeway
    advisory = min(MAX_DEFAULT_LEEWAY, 0.1 * lifetime) if leeway is None else leeway
    advisory = min(advisory, lifetime / 2)
    expires = token.expires_ts
    prover = prover_of(token) if token.proof_key is not None else None
    return Snapshot(token, header(token), expires - advisory, expires - advisory / 2, prover)


def window(snap: Optional[Snapshot], now: float) -> Window:
    """The window ``now`` falls in for ``snap`` (an expired token is in the mandatory one)."""
    if snap is None:
        return Window.ABSENT
    if now < snap.renew_at:
        return Window.FRESH
    if now < snap.must_renew_at:
        return Window.ADVISORY
    return Window.MANDATORY
