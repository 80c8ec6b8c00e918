"""Getting a token never stalls a caller: bounded waits shared by every waiter, failure memory,
Retry-After honoured by failing fast, skew-proof absolute expiries (API.md section 8)."""

from __future__ import annotations

import threading
import time
from typing import Any, List

import pytest
import requests

import auth_sessions
from auth_sessions import (
    Event,
    InvalidCredentials,
    RetryPolicy,
    TokenEndpointError,
    TokenResponseError,
    TokenTimeout,
    subscribe,
)
from auth_sessions.testing import FakeVendors, ManualClock

from .conftest import run_threads


def _outcomes(count: int, call: Any) -> List[Any]:
    """Run ``call`` in ``count`` threads at once; each result or the error's class."""

    def one() -> Any:
        try:
            return call()
        except Exception as exc:
            return exc

    return run_threads(count, one)


def test_hung_endpoint_waiters_share_one_fetch_and_give_up_on_time(
    fake_vendor: FakeVendors,
) -> None:
    gate = threading.Event()
    fake_vendor.inject_token_fault("cobee", "hold", gate=gate)  # accepts, never answers
    session = fake_vendor.session("cobee")
    outcomes = _outcomes(8, lambda: session.get("/employees", timeout=0.3))
    assert all(isinstance(o, TokenTimeout) for o in outcomes), outcomes
    assert all(isinstance(o, requests.exceptions.Timeout) for o in outcomes)  # legacy except
    assert "within 0.3s" in str(outcomes[0])
    later = _outcomes(4, lambda: session.get("/employees", timeout=(0.1, 0.1)))
    assert all(isinstance(o, TokenTimeout) for o in later)  # joined the same fetch
    assert fake_vendor.counts("cobee").token_requests == 1  # no serial re-fetching
    gate.set()  # the endpoint answers at last: the fetch nobody cancelled lands
    assert session.auth.wait_for_renewal(10)
    assert session.get("/employees", timeout=0.3).status_code == 200
    assert fake_vendor.counts("cobee").token_requests == 1


def test_a_call_without_timeout_waits_at_most_the_token_deadline(
    fake_vendor: FakeVendors,
) -> None:
    gate = threading.Event()
    fake_vendor.inject_token_fault("sohar", "hold", gate=gate)
    session = fake_vendor.session("sohar", timeout=None, token_deadline=0.3)
    # the caller's wait and the fetch's own deadline are both 0.3 s: whichever ends first
    # (on a loaded machine the fetch's attempt can time out just before) raises a timeout
    with pytest.raises(TokenTimeout, match=r"within 0\.3s|timed out|within the deadline"):
        session.get("/claims")
    gate.set()


def test_waiters_share_a_failure_at_once(fake_vendor: FakeVendors) -> None:
    gate = threading.Event()
    fake_vendor.inject_token_fault("orum", "hold", gate=gate)  # the one attempt times out
    session = fake_vendor.session("orum", retry=RetryPolicy(total=0), token_timeout=(2.0, 0.3))
    outcomes = _outcomes(6, session.auth.get_token)  # each would wait up to 30 s for a token
    gate.set()
    assert all(isinstance(o, TokenTimeout) and "timed out" in str(o) for o in outcomes), outcomes
    assert len({id(o) for o in outcomes}) == 6  # each raised its own copy
    assert fake_vendor.counts("orum").token_requests == 1  # one fetch, its outcome shared


def test_refusal_is_remembered_and_a_new_secret_is_not_held_back(
    fake_vendor: FakeVendors,
) -> None:
    wrong = fake_vendor.session("orum", client_secret="wrong-secret-123")
    outcomes = _outcomes(8, lambda: [_outcomes(1, lambda: wrong.get("/x"))[0] for _ in range(25)])
    flat = [o for batch in outcomes for o in batch]
    assert len(flat) == 200 and all(isinstance(o, InvalidCredentials) for o in flat)
    assert fake_vendor.counts("orum").token_requests <= 2  # v0.1: 200
    assert "not tried again before" in str(flat[-1]) and "forget()" in str(flat[-1])
    right = fake_vendor.session("orum")  # a new secret is a new key
    assert right.get("/x").status_code == 200


def test_forget_clears_the_failure_memory(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("cobee", client_secret="wrong-secret-123")
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            session.get("/x")
    assert fake_vendor.counts("cobee").token_requests == 1
    session.auth.forget()
    with pytest.raises(InvalidCredentials):
        session.get("/x")
    assert fake_vendor.counts("cobee").token_requests == 2  # tried again at once


def test_cooldown_ends(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    session = fake.session("sohar", client_secret="wrong-secret-123", cooldown=60)
    with pytest.raises(InvalidCredentials):
        session.get("/x")
    clock.advance(59)
    with pytest.raises(InvalidCredentials, match="in 1s"):
        session.get("/x")
    assert fake.counts("sohar").token_requests == 1
    clock.advance(2)
    with pytest.raises(InvalidCredentials):
        session.get("/x")
    assert fake.counts("sohar").token_requests == 2


def test_retry_after_beyond_the_cap_fails_fast_and_holds_the_key(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.inject_token_fault("cobee", "status", status=429, retry_after="30", count=50)
    session = fake.session("cobee")
    outcomes = _outcomes(8, lambda: [_outcomes(1, lambda: session.get("/x"))[0] for _ in range(5)])
    flat = [o for batch in outcomes for o in batch]
    assert all(isinstance(o, TokenEndpointError) and o.status_code == 429 for o in flat)
    assert fake.counts("cobee").token_requests == 1  # v0.1: 5 per call, 50 in all
    clock.advance(29)
    with pytest.raises(TokenEndpointError):
        session.get("/x")
    assert fake.counts("cobee").token_requests == 1
    clock.advance(2)
    with pytest.raises(TokenEndpointError):
        session.get("/x")  # the hold is over: asked again (and refused again)
    assert fake.counts("cobee").token_requests == 2  # <= 3 in 30 s


@pytest.mark.parametrize("vendor", ["cair", "manis"])  # the two with absolute expiries
@pytest.mark.parametrize("skew", [-7200.0, -60.0, 3 * 3600.0])
def test_absolute_expiry_read_against_the_servers_date(vendor: str, skew: float) -> None:
    clock = ManualClock()
    with FakeVendors(clock=clock) as fake:
        fake.set_lifetime(vendor, 30)
        fake.set_server_clock(skew)
        session = fake.session(vendor)
        for _ in range(5):
            assert session.get("/x").status_code == 200
        token = session.auth.get_token()
        assert 28 <= token.expires_ts - clock() <= 31  # its stated lifetime, here
        assert fake.counts(vendor).token_requests == 1


@pytest.mark.parametrize("vendor", ["cair", "manis"])
def test_without_a_date_a_past_expiry_says_the_clocks_may_differ(vendor: str) -> None:
    with FakeVendors() as fake:
        fake.set_lifetime(vendor, 30)
        fake.set_server_clock(-60.0, send_date=False)
        with pytest.raises(TokenResponseError, match=r"clocks? .*may differ"):
            fake.session(vendor).get("/x")


def test_a_trickling_token_body_is_bounded_by_the_token_deadline(
    fake_vendor: FakeVendors,
) -> None:
    """Headers at once, then a byte every 0.3 s: each read beats the socket timeout, and the
    whole answer would take a minute. The token deadline (2 s) cuts it; the next call, to a
    healthy endpoint, gets its token."""
    fake_vendor.inject_token_fault("cobee", "trickle", interval=0.3)
    session = fake_vendor.session("cobee", token_deadline=2.0)
    started = time.monotonic()
    with pytest.raises(auth_sessions.TokenTimeout, match="did not arrive within"):
        session.get("/x", timeout=30)
    assert time.monotonic() - started < 15  # generous: 2 s deadline on a loaded machine
    assert session.get("/x", timeout=30).status_code == 200
    assert fake_vendor.counts("cobee").token_requests == 2


def test_a_relative_lifetime_counts_from_when_the_token_was_asked_for(
    fake_vendor: FakeVendors,
) -> None:
    """A token endpoint that takes 3 s to answer ``expires_in: 3600`` gave a token that
    expires 3600 s after it was asked for, not after the answer arrived."""
    fake_vendor.inject_token_fault("cobee", "delay", delay=3.0)
    session = fake_vendor.session("cobee")
    before = time.time()
    assert session.get("/x", timeout=30).status_code == 200
    token = session.auth.get_token()
    assert token.expires_ts - before < 3600 + 1.5  # counted from the answer: >= 3603


@pytest.mark.parametrize("years", [-56, 74], ids=["Date in 1970", "Date in 2100"])
def test_an_absurd_date_beside_a_relative_expiry_is_ignored_and_named(years: int) -> None:
    seen: List[Event] = []
    unsubscribe = subscribe(lambda e: seen.append(e) if e.kind == "server_date_ignored" else None)
    try:
        with FakeVendors() as fake:
            fake.set_server_clock(years * 365 * 86400.0)
            session = fake.session("cobee")  # expires_in: relative
            assert session.get("/x").status_code == 200
            assert session.get("/x").status_code == 200
            lifetime = session.auth.get_token().expires_ts - time.time()
            assert fake.counts("cobee").token_requests == 1
    finally:
        unsubscribe()
    assert 3500 < lifetime <= 3600  # Cobee's hour, on our clock
    assert len(seen) == 1 and "days from our clock" in seen[0].message
