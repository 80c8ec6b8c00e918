"""The token value and the redacting secret wrapper.

A :class:`Token` is immutable: a thread that holds a reference always sees a whole token,
never a half-updated one, so the hot path can read it without a lock.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Optional

__all__ = ["Failure", "Secret", "Token"]

_REDACTED = "***"


class Secret:
    """A string that never shows itself when formatted.

    ``repr()``, ``str()`` and f-strings give ``***``; only :meth:`reveal` returns the value.
    Comparison is constant-time. Instances are immutable and safe to share between threads.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """Return the secret value itself (send it over the wire; never log it)."""
        return self._value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return f"Secret('{_REDACTED}')"

    def __str__(self) -> str:
        return _REDACTED

    def __format__(self, spec: str) -> str:
        return _REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        return (Secret, (self._value,))


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


@dataclass(frozen=True)
class Token:
    """An access token and what is known about its life.

    Attributes:
        access_token: the token itself, wrapped so it never prints.
        token_type: as the vendor wrote it (usually ``Bearer``).
        expires_at: absolute expiry, timezone-aware UTC.
        issued_at: when this process received it, timezone-aware UTC.
        refresh_token: the refresh token, if the vendor issues one (some rotate it).
        refresh_expires_at: when the refresh token stops working, if known.
        scope: the scope the server granted, when it said (it may differ from the one asked).
        proof_key: for a DPoP-bound token (RFC 9449), the private key that proves it (PEM,
            wrapped): it travels with the token, so every process sending it can prove it.
        generation: how many tokens of its credential set were stored before it (a store
            that serves a lower one than a process has seen went back in time).

    Tokens are immutable values; share them freely between threads.
    """

    access_token: Secret
    token_type: str
    expires_at: datetime
    issued_at: datetime
    refresh_token: Optional[Secret] = None
    refresh_expires_at: Optional[datetime] = None
    scope: Optional[str] = None
    proof_key: Optional[Secret] = field(default=None, repr=False)
    generation: int = field(default=0, compare=False)
    expires_ts: float = field(init=False, repr=False, compare=False)
    issued_ts: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("expires_at", "issued_at", "refresh_expires_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"Token.{name} must be timezone-aware")
        object.__setattr__(self, "expires_ts", self.expires_at.timestamp())
        object.__setattr__(self, "issued_ts", self.issued_at.timestamp())

    @classmethod
    def create(
        cls,
        access_token: str,
        *,
        expires_ts: float,
        issued_ts: float,
        token_type: str = "Bearer",
        refresh_token: Optional[str] = None,
        refresh_expires_ts: Optional[float] = None,
        scope: Optional[str] = None,
        proof_key: Optional[str] = None,
    ) -> Token:
        """Build a token from plain strings and epoch seconds."""
        return cls(
            access_token=Secret(access_token),
            token_type=token_type,
            expires_at=_utc(expires_ts),
            issued_at=_utc(issued_ts),
            refresh_token=Secret(refresh_token) if refresh_token is not None else None,
            refresh_expires_at=_utc(refresh_expires_ts) if refresh_expires_ts is not None else None,
            scope=scope,
            proof_key=Secret(proof_key) if proof_key is not None else None,
        )

    @property
    def lifetime(self) -> float:
        """Seconds between issue and expiry."""
        return self.expires_ts - self.issued_ts

    def usable(self, now: float, leeway: float = 0.0) -> bool:
        """Whether the token may be sent at ``now`` (epoch seconds) with ``leeway`` to spare."""
        return now < self.expires_ts - leeway

    def refresh_usable(self, now: float) -> bool:
        """Whether the refresh token (if any) is still worth presenting at ``now``."""
        if self.refresh_token is None:
            return False
        if self.refresh_expires_at is None:
            return True
        return now < self.refresh_expires_at.timestamp()

    @property
    def keep_until(self) -> float:
        """Epoch seconds until which a store should keep this entry (refresh token included)."""
        if self.refresh_token is not None and self.refresh_expires_at is not None:
            return max(self.expires_ts, self.refresh_expires_at.timestamp())
        return self.expires_ts


@dataclass(frozen=True)
class Failure:
    """A remembered refusal or hold-back for one credential key (failure memory).

    Attributes:
        kind: ``"refused"`` (the endpoint answered 400/401/403) or ``"unavailable"`` (it
            asked us, with ``Retry-After``, to come back later).
        message: the error's message (never a secret: it was redacted when first raised).
        until_ts: epoch seconds until which no token request is made for the key.
        status_code: the HTTP status that caused it, if any.
        url: the token endpoint (without query string or userinfo).
        route: a digest of the transport it was learned on (``verify``, ``cert``,
            ``proxies``): a call on another transport is not held back by it.
        hold: how long the hold was when it began, in seconds (None: unknown). A hold that
            reaches further ahead than that was made on a clock that has since stepped back,
            and no longer holds.

    Thread-safety: an immutable value.
    """

    kind: str
    message: str
    until_ts: float
    status_code: Optional[int] = None
    url: Optional[str] = None
    route: str = ""
    hold: Optional[float] = None

    def holds(self, now: float, route: str) -> bool:
        """Whether this failure holds a fetch on ``route`` back at ``now``."""
        ahead = self.until_ts - now
        if ahead <= 0 or (self.hold is not None and ahead > self.hold + 1.0):
            return False  # over, or set on a clock that has since stepped back
        return self.learned_on(route)

    def learned_on(self, route: str) -> bool:
        """Whether it was learned on ``route`` (another transport is tried at once)."""
        return not self.route or self.route == route

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict (for the file and Redis stores)."""
        return {
            "kind": self.kind,
            "message": self.message,
            "until_ts": self.until_ts,
            "status_code": self.status_code,
            "url": self.url,
            "route": self.route,
            "hold": self.hold,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Optional[Failure]:
        """The failure a dict describes, or None for anything else."""
        try:
            status = data.get("status_code")
            return cls(
                kind=str(data["kind"]),
                message=str(data["message"]),
                until_ts=float(data["until_ts"]),
                status_code=int(status) if status is not None else None,
                url=data.get("url"),
                route=str(data.get("route") or ""),
                hold=float(data["hold"]) if data.get("hold") is not None else None,
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return None
