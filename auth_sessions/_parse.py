"""Reading token responses: pure functions, no I/O, no clock of their own."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Tuple

from .tokens import Token

__all__ = [
    "MAX_LIFETIME",
    "BadField",
    "WireFormat",
    "check_lifetime",
    "header_safe",
    "parse_epoch",
    "parse_iso8601",
    "parse_token",
]

MAX_LIFETIME = 10 * 365 * 24 * 3600.0
"""A token said to live longer than ten years is taken as a vendor bug, not trusted."""


class BadField(ValueError):
    """A token response field is missing or mistyped (the message names the field)."""


_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))$"
)


def parse_iso8601(value: str) -> float:
    """Epoch seconds of an ISO-8601 timestamp that carries a zone (``Z`` or an offset).

    Accepts ``2025-03-24T18:38:47Z``, ``...47.781Z`` (any number of fraction digits) and
    ``...47+02:00``; Python 3.9's ``fromisoformat`` takes none of the first two.
    """
    match = _ISO.match(value.strip())
    if not match:
        raise BadField(f"not an ISO-8601 timestamp with a zone: {value[:40]!r}")
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=timezone.utc,
        )
    except ValueError as exc:
        raise BadField(f"not a valid date: {value[:40]!r}") from exc
    seconds = moment.timestamp()
    if frac:
        seconds += int(frac) / 10 ** len(frac)
    if not zulu:
        offset = (int(oh) * 60 + int(om)) * 60
        if int(oh) > 23 or int(om) > 59:
            raise BadField(f"bad UTC offset in {value[:40]!r}")
        seconds -= offset if sign == "+" else -offset
    return seconds


def parse_epoch(value: float) -> float:
    """Epoch seconds from an integer timestamp in seconds, or milliseconds above 1e12."""
    return value / 1000.0 if value > 1e12 else float(value)


def _number(data: Mapping[str, Any], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadField(f"field {name!r} is missing or not a number")
    try:
        number = float(value)  # an integer past the float range overflows here
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise BadField(f"field {name!r} is not a finite number")
    return number


def header_safe(value: str) -> bool:
    """Whether ``value`` can travel in an HTTP header as it is: latin-1, no control
    characters (so no CR/LF folding, no NUL)."""
    return all(32 <= ord(c) < 256 and ord(c) != 127 for c in value)


def _string(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadField(f"field {name!r} is missing, empty or not a string")
    return value


@dataclass(frozen=True)
class WireFormat:
    """What a vendor's token endpoint looks like on the wire.

    A vendor module fills one of these in instead of writing control flow.
    Thread-safety: an immutable value.

    Attributes:
        token_path: appended to the base URL to make the token URL.
        send: ``"json"`` (a JSON body) or ``"headers"`` (credentials as headers, no body).
        id_field / secret_field: the JSON keys or header names carrying the credentials.
        token_field / type_field: response fields of the token and its type (None: Bearer).
        expiry_field: the response field saying when the token expires.
        expiry_format: ``"seconds"`` (lifetime), ``"iso8601"`` or ``"epoch"`` (s or ms).
        refresh_path / refresh_request_field: the refresh grant, if the vendor has one: its
            path, and the JSON key that carries the refresh token in its body.
        refresh_field / refresh_expiry_field: response fields of the refresh token.
        single_use_refresh: each refresh token works once (the answer carries the next one):
            a shared store then lets one process present it, and never twice across a
            failover.
        retry_after_headers: the vendor's own delay headers, read when a 429/503 carries no
            ``Retry-After`` (seconds, or a number with an ``ms``/``s`` suffix).
    """

    token_path: str = "/oauth/token"
    send: str = "json"
    id_field: str = "client_id"
    secret_field: str = "client_secret"
    token_field: str = "access_token"
    type_field: Optional[str] = "token_type"
    expiry_field: str = "expires_in"
    expiry_format: str = "seconds"
    refresh_path: Optional[str] = None
    refresh_request_field: Optional[str] = None
    refresh_field: Optional[str] = None
    refresh_expiry_field: Optional[str] = None
    single_use_refresh: bool = False
    retry_after_headers: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.send not in ("json", "headers"):
            raise ValueError(f"WireFormat.send must be 'json' or 'headers', not {self.send!r}")
        if self.expiry_format not in ("seconds", "iso8601", "epoch"):
            raise ValueError(f"unknown WireFormat.expiry_format {self.expiry_format!r}")
        if self.refresh_path is not None and self.refresh_request_field is None:
            raise ValueError("WireFormat.refresh_path needs refresh_request_field")

    def expiry(
        self, data: Mapping[str, Any], field: str, now: float, server_now: Optional[float] = None
    ) -> float:
        """Expiry on our clock (epoch seconds) read from ``data[field]``.

        An absolute expiry is read against ``server_now`` (the response's ``Date``) when
        given, so a server whose clock is off still yields the lifetime it meant.
        """
        if self.expiry_format == "seconds":
            return now + _number(data, field)
        if self.expiry_format == "epoch":
            stamp = parse_epoch(_number(data, field))
        else:
            stamp = parse_iso8601(_string(data, field))
        return stamp if server_now is None else now + (stamp - server_now)


def parse_token(
    data: Any, wire: WireFormat, now: float, server_now: Optional[float] = None
) -> Token:
    """Build a :class:`Token` from a decoded token response, or raise :class:`BadField`.

    ``server_now`` is the server's clock (its ``Date`` header), when known.
    """
    if not isinstance(data, dict):
        raise BadField(f"the body is a JSON {type(data).__name__}, not an object")
    access = _string(data, wire.token_field)
    if not header_safe(access):  # the token itself is never quoted
        raise BadField(f"field {wire.token_field!r} has characters an HTTP header cannot carry")
    token_type = "Bearer"
    if wire.type_field is not None and data.get(wire.type_field) is not None:
        token_type = _string(data, wire.type_field)
    expires = wire.expiry(data, wire.expiry_field, now, server_now)
    check_lifetime(expires, now, wire.expiry_field, absolute=wire.expiry_format != "seconds")
    refresh: Optional[str] = None
    refresh_expires: Optional[float] = None
    if wire.refresh_field is not None:
        refresh = _string(data, wire.refresh_field)
        if (
            wire.refresh_expiry_field is not None
            and data.get(wire.refresh_expiry_field) is not None
        ):
            refresh_expires = wire.expiry(data, wire.refresh_expiry_field, now, server_now)
            if abs(refresh_expires - now) > MAX_LIFETIME:
                raise BadField(f"field {wire.refresh_expiry_field!r} is absurdly far from now")
    return Token.create(
        access,
        token_type=token_type,
        expires_ts=expires,
        issued_ts=now,
        refresh_token=refresh,
        refresh_expires_ts=refresh_expires,
    )


def check_lifetime(expires: float, now: float, field: str, *, absolute: bool = False) -> None:
    """Refuse an expiry that is already past or absurdly far away."""
    if expires <= now:
        hint = (
            " (the server's clock and ours may differ, and it sent no Date header to compare)"
            if absolute
            else ""
        )
        raise BadField(f"field {field!r} says the token has already expired{hint}")
    if expires - now > MAX_LIFETIME:
        raise BadField(f"field {field!r} gives a lifetime over ten years")
