"""Soak, nothing lost: 16 threads, 1-second tokens, 5 % of calls forced to 401."""

from __future__ import annotations

import os

import pytest

from auth_sessions.testing import FakeVendors
from auth_sessions.testing.soak import run_soak

SCALE = float(os.environ.get("SOAK_SCALE", "1"))  # benchmarks/soak.py runs longer ones


@pytest.mark.slow
@pytest.mark.parametrize(("vendor", "per_thread"), [("cobee", 2000), ("cair", 500)])
def test_soak_nothing_lost(fake_vendor: FakeVendors, vendor: str, per_thread: int) -> None:
    report = run_soak(
        fake_vendor,
        vendor,
        threads=16,
        per_thread=int(per_thread * SCALE),
        lifetime=1.0,
        fail_every=20,
    )
    print(report)
    assert report.problems == []
    assert report.replays >= report.forced_401s  # every forced 401 was replayed
    assert report.token_requests + report.refreshes <= report.token_budget
    assert report.token_requests >= 1
