"""Retry-After (and each vendor's own delay header) measured where it happens: at the fake,
which records when each token request arrives."""

from __future__ import annotations

import threading
from typing import Any, List

import pytest

from auth_sessions import RetryPolicy, TokenEndpointError
from auth_sessions.testing import FakeVendors

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
