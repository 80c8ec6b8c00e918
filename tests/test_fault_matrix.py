"""Every vendor x every token-endpoint fault: recovery within bounded retries, or the
contract's typed error — counted in token requests, never timed."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple, Type, Union

import pytest

import auth_sessions
from auth_sessions import (
    AuthError,
    RetryPolicy,
    TokenEndpointError,
    TokenResponseError,
    TokenTimeout,
)
from auth_sessions._parse import WireFormat
from auth_sessions.testing import FakeVendors
from auth_sessions.testing._vendors import iso_ms

from .conftest import VENDORS

RETRY = RetryPolicy(total=2, backoff_factor=0.0, max_retry_after=0.0)
FAST_TIMEOUT = (2.0, 0.3)
Outcome = Union[str, Type[AuthError]]  # "ok" or the error class
Setup = Callable[[FakeVendors, str], None]


def _expiry(wire: WireFormat, seconds_from_now: float) -> Any:
    when = time.time() + seconds_from_now
    return {"seconds": seconds_from_now, "iso8601": iso_ms(when), "epoch": int(when)}[
        wire.expiry_format
    ]


def valid_body(vendor: str) -> Dict[str, Any]:
    wire = auth_sessions.vendor_class(vendor).wire
    body: Dict[str, Any] = {
        wire.token_field: f"{vendor}-at-matrix",
        wire.expiry_field: _expiry(wire, 3600),
    }
    if wire.type_field:
        body[wire.type_field] = "Bearer"
    if wire.refresh_field and wire.refresh_expiry_field:
        body[wire.refresh_field] = f"{vendor}-rt-matrix"
        body[wire.refresh_expiry_field] = _expiry(wire, 86400)
    return body


def with_token(value: Any) -> Setup:
    def setup(fake: FakeVendors, vendor: str) -> None:
        body = valid_body(vendor)
        body[auth_sessions.vendor_class(vendor).wire.token_field] = value
        fake.inject_token_fault(vendor, "body", body=body)

    return setup


def without_token(fake: FakeVendors, vendor: str) -> None:
    body = valid_body(vendor)
    del body[auth_sessions.vendor_class(vendor).wire.token_field]
    fake.inject_token_fault(vendor, "body", body=body)


def with_expiry(by_format: Dict[str, Any]) -> Setup:
    def setup(fake: FakeVendors, vendor: str) -> None:
        wire = auth_sessions.vendor_class(vendor).wire
        body = valid_body(vendor)
        body[wire.expiry_field] = by_format[wire.expiry_format]
        fake.inject_token_fault(vendor, "body", body=body)

    return setup


def fault(kind: str, count: int = 1, **kwargs: Any) -> Setup:
    return lambda fake, vendor: fake.inject_token_fault(vendor, kind, count=count, **kwargs)


PAST = time.time() - 3600
# name: (setup, outcome, token requests made)
FAULTS: Dict[str, Tuple[Setup, Outcome, int]] = {
    "500 once": (fault("status", status=500), "ok", 2),
    "502 once": (fault("status", status=502), "ok", 2),
    "503 once": (fault("status", status=503), "ok", 2),
    # Retry-After above the cap (0 here): not slept through; fail fast, held back (API.md 3.7)
    "503 with Retry-After": (fault("status", status=503, retry_after="1"), TokenEndpointError, 1),
    "429 with Retry-After": (fault("status", status=429, retry_after="1"), TokenEndpointError, 1),
    "503 every time": (fault("status", count=9, status=503), TokenEndpointError, 3),
    "504 every time": (fault("status", count=9, status=504), TokenEndpointError, 3),
    "connection dropped": (fault("drop"), "ok", 2),
    "connection dropped every time": (fault("drop", count=9), TokenEndpointError, 3),
    "dropped mid-response": (fault("drop_mid"), TokenEndpointError, 1),
    "read timeout": (fault("delay", count=9, delay=1.0), TokenEndpointError, 3),
    # accepts, never answers (until the fake stops): each attempt times out, typed, bounded
    "hung endpoint": (fault("hold", count=9, gate=threading.Event()), TokenTimeout, 3),
    "slow headers within timeout": (fault("delay", delay=0.05), "ok", 1),
    "200 with HTML": (fault("html"), TokenResponseError, 1),
    "empty body": (fault("empty"), TokenResponseError, 1),
    "invalid JSON": (fault("invalid_json"), TokenResponseError, 1),
    "JSON array": (fault("not_object"), TokenResponseError, 1),
    "JSON string": (fault("body", body="token"), TokenResponseError, 1),
    "JSON null": (fault("body", body=None), TokenResponseError, 1),
    "body over 1 MiB": (fault("huge"), TokenResponseError, 1),
    "token missing": (without_token, TokenResponseError, 1),
    "token null": (with_token(None), TokenResponseError, 1),
    "token a number": (with_token(12345), TokenResponseError, 1),
    "token a list": (with_token(["a"]), TokenResponseError, 1),
    "token empty": (with_token(""), TokenResponseError, 1),
    "expiry zero": (
        with_expiry({"seconds": 0, "iso8601": iso_ms(PAST), "epoch": 0}),
        TokenResponseError,
        1,
    ),
    "expiry negative / past": (
        with_expiry({"seconds": -5, "iso8601": iso_ms(PAST), "epoch": int(PAST)}),
        TokenResponseError,
        1,
    ),
    "expiry a string / unparseable": (
        with_expiry({"seconds": "3600", "iso8601": "tomorrow", "epoch": "soon"}),
        TokenResponseError,
        1,
    ),
    "expiry absurdly large": (
        with_expiry({"seconds": 1e15, "iso8601": "9999-12-31T23:59:59Z", "epoch": 10**17}),
        TokenResponseError,
        1,
    ),
    "expiry in milliseconds": (
        with_expiry(
            {
                "seconds": 3_600_000,
                "iso8601": int(time.time() * 1000),
                "epoch": int(time.time() * 1000) + 3_600_000,
            }
        ),
        "ok",
        1,
    ),
    "expiry a boolean": (
        with_expiry({"seconds": True, "iso8601": True, "epoch": True}),
        TokenResponseError,
        1,
    ),
}

# Where a vendor's published format makes a case mean something else.
EXCEPTIONS: Dict[Tuple[str, str], Tuple[Outcome, int]] = {
    # seconds-based vendors: 3,600,000 s is a legal (if long) 41-day lifetime
    # Cair writes ISO-8601: an integer expiry is a type error
    ("cair", "expiry in milliseconds"): (TokenResponseError, 1),
    # the generic vendor follows oauthlib in accepting a numeric string for expires_in
    ("oauth2", "expiry a string / unparseable"): ("ok", 1),
}


@pytest.mark.parametrize("case", list(FAULTS))
@pytest.mark.parametrize("vendor", VENDORS)
def test_fault(fake_vendor: FakeVendors, vendor: str, case: str) -> None:
    setup, outcome, requests_made = FAULTS[case]
    outcome, requests_made = EXCEPTIONS.get((vendor, case), (outcome, requests_made))
    setup(fake_vendor, vendor)
    auth = fake_vendor.auth(vendor, retry=RETRY, token_timeout=FAST_TIMEOUT)
    error: Optional[BaseException] = None
    try:
        token = auth.get_token()
    except Exception as exc:  # classified below: typed or not
        error = exc
    if outcome == "ok":
        assert error is None, f"{case}: expected recovery, got {error!r}"
        assert token.usable(time.time())
    else:
        assert isinstance(error, outcome), f"{case}: expected {outcome.__name__}, got {error!r}"  # type: ignore[union-attr]
        assert str(error).startswith(f"{vendor}: token endpoint ")
        if outcome is TokenTimeout:
            assert "timed out" in str(error)  # the cause, in words
    assert fake_vendor.counts(vendor).token_requests == requests_made
