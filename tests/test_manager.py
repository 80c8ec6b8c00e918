"""The token manager driven by a fake fetch — no HTTP, no sockets — with both clocks manual.

The loopback tests show the same behaviour end to end; these pin the policy itself.
"""

from __future__ import annotations

import threading
from typing import List, Optional, Tuple

import pytest

from auth_sessions import InvalidCredentials, MemoryTokenStore, Token, TokenEndpointError
from auth_sessions._policy import Policy
from auth_sessions._time import Deadline
from auth_sessions._transport import Obtained
from auth_sessions.auth import bearer
from auth_sessions.errors import TokenTimeout
from auth_sessions.manager import TokenManager
from auth_sessions.testing import ManualClock

from .conftest import run_threads


class FakeFetch:
    """Issues ``tok-1``, ``tok-2``... each living ``lifetime`` s on ``clock``; counts calls;
    can be held on a gate or made to fail."""

    route = "test"
    single_use = True

    def __init__(self, clock: ManualClock, lifetime: float = 100.0) -> None:
        self.clock, self.lifetime = clock, lifetime
        self.calls: List[Tuple[Optional[str], bool, float]] = []
        self.gate: Optional[threading.Event] = None
        self.arrived = threading.Event()
        self.error: Optional[Exception] = None
        self._lock = threading.Lock()

    def __call__(self, current: Optional[Token], refresh: bool, deadline: Deadline) -> Obtained:
        with self._lock:
            held = current.access_token.reveal() if current else None
            self.calls.append((held, refresh, deadline.remaining()))
            number = len(self.calls)
        self.arrived.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.error is not None:
            raise self.error
        now = self.clock()
        token = Token.create(f"tok-{number}", expires_ts=now + self.lifetime, issued_ts=now)
        return Obtained(token, False)


def _manager(policy: Optional[Policy] = None) -> Tuple[TokenManager, ManualClock, ManualClock]:
    clock, monotonic = ManualClock(1_000_000.0), ManualClock(50.0)
    manager = TokenManager(
        MemoryTokenStore(timer=clock),
        "vendor|url|id|digest",
        vendor="fakevendor",
        client_id="id",
        url="https://token.example/token",
        clock=clock,
        policy=policy or Policy(),
        monotonic=monotonic,
        header=bearer,
    )
    return manager, clock, monotonic


def test_a_cold_burst_makes_one_fetch() -> None:
    manager, clock, _ = _manager()
    fetch = FakeFetch(clock)
    headers = run_threads(16, lambda: manager.current(fetch, 10, 30).header)
    assert headers == ["Bearer tok-1"] * 16
    assert len(fetch.calls) == 1


def test_the_deadline_is_on_the_injected_monotonic_clock() -> None:
    manager, clock, monotonic = _manager()
    fetch = FakeFetch(clock)
    manager.current(fetch, 10, 7.5)
    assert fetch.calls[0][2] == 7.5  # monotonic never moved: all of the allowance is left
    monotonic.advance(1000)  # a flight from long ago on this clock is dead: a new one starts
    clock.advance(200)
    manager.current(fetch, 10, 7.5)
    assert len(fetch.calls) == 2


def test_fresh_advisory_and_mandatory_windows() -> None:
    manager, clock, _ = _manager()
    fetch = FakeFetch(clock)
    first = manager.current(fetch, 10, 30)
    clock.advance(89)
    assert manager.current(fetch, 10, 30) is first and len(fetch.calls) == 1  # fresh
    clock.advance(2)  # advisory: the old token is sent while one renewal runs behind it
    assert manager.current(fetch, 10, 30).header == "Bearer tok-1"
    assert manager.settle(10)
    assert len(fetch.calls) == 2 and manager.current(fetch, 10, 30).header == "Bearer tok-2"
    clock.advance(96)  # tok-2's mandatory window: callers wait for tok-3
    assert manager.current(fetch, 10, 30).header == "Bearer tok-3"


def test_without_background_renewal_the_advisory_call_waits() -> None:
    manager, clock, _ = _manager(Policy(background=False))
    fetch = FakeFetch(clock)
    manager.current(fetch, 10, 30)
    clock.advance(91)
    assert manager.current(fetch, 10, 30).header == "Bearer tok-2"


def test_a_refusal_is_held_for_the_cooldown_on_the_managers_clock() -> None:
    manager, clock, _ = _manager(Policy(cooldown=60))
    fetch = FakeFetch(clock)
    fetch.error = InvalidCredentials("fakevendor: refused", status_code=401)
    for _ in range(3):
        with pytest.raises(InvalidCredentials) as caught:
            manager.current(fetch, 10, 30)
    assert caught.value.retry_at == clock() + 60
    assert len(fetch.calls) == 1
    clock.advance(60)
    fetch.error = None
    assert manager.current(fetch, 10, 30).header == "Bearer tok-2"


def test_a_retry_after_delay_becomes_an_instant_on_the_managers_clock() -> None:
    manager, clock, _ = _manager()
    fetch = FakeFetch(clock)
    fetch.error = TokenEndpointError("fakevendor: 503", status_code=503, retry_after=100.0)
    with pytest.raises(TokenEndpointError) as caught:
        manager.current(fetch, 10, 30)
    assert caught.value.retry_at == clock() + 100
    clock.advance(99.9)
    with pytest.raises(TokenEndpointError):
        manager.current(fetch, 10, 30)
    assert len(fetch.calls) == 1
    clock.advance(0.1)
    fetch.error = None
    assert manager.current(fetch, 10, 30).header == "Bearer tok-2"


def test_a_caller_waits_at_most_its_budget_and_the_fetch_goes_on() -> None:
    manager, clock, _ = _manager()
    fetch = FakeFetch(clock)
    fetch.gate = threading.Event()
    with pytest.raises(TokenTimeout, match=r"within 0\.0s"):
        manager.current(fetch, 0.0, 30)
    assert fetch.arrived.wait(10)
    fetch.gate.set()
    assert manager.settle(10)
    assert manager.current(fetch, 0.0, 30).header == "Bearer tok-1"
    assert len(fetch.calls) == 1


def test_a_replay_is_never_given_a_token_near_its_end() -> None:
    """A 401 for an old token while the current one is in its advisory window: the replay
    waits for a renewal (a token with seconds left could expire on its way on a loaded
    machine); if none can be had, the current token still serves."""
    manager, clock, _ = _manager(Policy(background=False))
    fetch = FakeFetch(clock)
    old = manager.current(fetch, 10, 30).header  # tok-1
    assert manager.after_401(old, fetch, 10, 30).header == "Bearer tok-2"
    clock.advance(92)  # tok-2: advisory from 90 s, mandatory from 95 s, expires at 100 s
    assert manager.after_401(old, fetch, 10, 30).header == "Bearer tok-3"
    assert len(fetch.calls) == 3
    clock.advance(92)
    fetch.error = TokenEndpointError("fakevendor: 503", status_code=503)
    assert manager.after_401(old, fetch, 10, 30).header == "Bearer tok-3"  # still valid
    clock.advance(4)  # tok-3 past its mandatory point: no longer sent
    with pytest.raises(TokenEndpointError):
        manager.after_401(old, fetch, 10, 30)


def test_a_burst_of_401s_for_one_token_renews_once() -> None:
    manager, clock, _ = _manager()
    fetch = FakeFetch(clock)
    sent = manager.current(fetch, 10, 30).header
    fresh = run_threads(8, lambda: manager.after_401(sent, fetch, 10, 30).header)
    assert fresh == ["Bearer tok-2"] * 8
    assert len(fetch.calls) == 2
    assert fetch.calls[1][0] == "tok-1"  # the refused token was handed over as the current one
