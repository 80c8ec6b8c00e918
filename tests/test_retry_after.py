"""Retry-After (and each vendor's own delay header) measured where it happens: at the fake,
which records when each token request arrives."""

from __future__ import annotations

import threading
from typing import Any, List, Tuple

import pytest

from auth_sessions import RetryPolicy, TokenEndpointError
from auth_sessions.testing import FakeVendors, ManualClock

from .conftest import VENDORS


@pytest.mark.parametrize("vendor", VENDORS)
def test_one_second_retry_after_is_waited_for(fake_vendor: FakeVendors, vendor: str) -> None:
    # each vendor's own header: Retry-After, or Orum's X-Retry-In
    fake_vendor.inject_token_fault(vendor, "status", status=429, retry_after="1")
    assert fake_vendor.session(vendor).get("/x").status_code == 200
    first, second = fake_vendor.token_times(vendor)
    assert second - first >= 0.9


def test_a_retry_after_above_the_cap_is_not_slept_through(fake_vendor: FakeVendors) -> None:
    fake_vendor.inject_token_fault("orum", "status", status=503, retry_after="600", count=5)
    session = fake_vendor.session("orum", retry=RetryPolicy(max_retry_after=0.5, max_hold=45))
    caught: List[Any] = []
    worker = threading.Thread(target=lambda: caught.append(_error(session)))
    worker.start()
    worker.join(20)  # a bound for the test, far below the 600 s asked: not a timing target
    assert not worker.is_alive()
    (error,) = caught
    assert isinstance(error, TokenEndpointError) and error.status_code == 503
    assert error.retry_at is not None and 40 < error.retry_at - _now() <= 45  # max_hold
    assert len(fake_vendor.token_times("orum")) == 1


def _error(session: Any) -> Any:
    try:
        session.get("/x")
    except TokenEndpointError as exc:
        return exc
    return None


def _now() -> float:
    import time

    return time.time()


def test_a_manual_clock_far_from_wall_time_holds_a_retry_after_exactly(
    clocked: Tuple[FakeVendors, ManualClock],
) -> None:
    # The transport reports the server's wait as a delay; the manager puts it on its own
    # clock. (Computed from wall time and compared with a clock 100,000 s ahead, the hold
    # would be over before it began: a second token request at once.)
    fake, clock = clocked
    clock.advance(100_000)
    fake.inject_token_fault("orum", "status", status=503, retry_after="100", count=1)
    session = fake.session("orum", retry=RetryPolicy(max_retry_after=0.5))
    for _ in range(2):
        with pytest.raises(TokenEndpointError) as caught:
            session.get("/x")
        assert caught.value.retry_at == pytest.approx(clock() + 100, abs=1)
    assert fake.counts("orum").token_requests == 1  # the second call was held back
    clock.advance(99)
    with pytest.raises(TokenEndpointError):
        session.get("/x")
    assert fake.counts("orum").token_requests == 1  # held to the second
    clock.advance(2)
    assert session.get("/x").status_code == 200
    assert fake.counts("orum").token_requests == 2


def test_a_retry_after_date_is_read_against_the_servers_own_date(
    fake_vendor: FakeVendors,
) -> None:
    """A server whose clock runs an hour ahead asks for 20 s as an HTTP date: 20 s from its
    own ``Date``, not 3,620 s from ours (capped at 300)."""
    import email.utils

    fake_vendor.set_server_clock(3600.0)
    when = email.utils.formatdate(_now() + 3600.0 + 20.0, usegmt=True)
    fake_vendor.inject_token_fault("cobee", "status", status=503, retry_after=when)
    session = fake_vendor.session("cobee", retry=RetryPolicy(max_retry_after=0.5))
    error = _error(session)
    assert isinstance(error, TokenEndpointError) and error.retry_at is not None
    assert 10 < error.retry_at - _now() <= 25  # the server's 20 s, give or take its Date
