"""Cair: ISO expiries and the rotating refresh token."""

from __future__ import annotations

import threading

import pytest

import auth_sessions
from auth_sessions import ConfigurationError
from auth_sessions.testing import FakeVendors, ManualClock

from ..conftest import run_threads


def test_refresh_used_near_expiry_and_rotated(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("cair", 600, refresh_seconds=86400)
    session = fake.session("cair")
    session.get("/a")
    first = session.auth.get_token()
    clock.advance(599)
    assert session.get("/b").status_code == 200
    second = session.auth.get_token()
    assert second.refresh_token != first.refresh_token  # stored the rotated one
    clock.advance(599)
    assert session.get("/c").status_code == 200
    counts = fake.counts("cair")
    assert (counts.token_requests, counts.refreshes, counts.refresh_reuse) == (1, 2, 0)


def test_sixteen_threads_at_expiry_never_reuse_a_refresh_token(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("cair", 600)
    fake.session("cair").get("/warm")
    for _ in range(3):
        clock.advance(600)
        statuses = run_threads(16, lambda: fake.session("cair").get("/x").status_code)
        assert statuses == [200] * 16
    counts = fake.counts("cair")
    assert counts.refreshes == 3
    assert counts.refresh_reuse == 0
    assert counts.token_requests == 1


def test_refused_refresh_falls_back_to_token(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    session = fake.session("cair")
    session.get("/a")
    fake.revoke_refresh_tokens("cair")
    clock.advance(3600)
    assert session.get("/b").status_code == 200
    counts = fake.counts("cair")
    assert (counts.refreshes, counts.token_requests) == (1, 2)


def test_expired_refresh_token_goes_straight_to_token(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("cair", 600, refresh_seconds=900)
    session = fake.session("cair")
    session.get("/a")
    clock.advance(1000)
    assert session.get("/b").status_code == 200
    counts = fake.counts("cair")
    assert (counts.refreshes, counts.token_requests) == (0, 2)


def test_401_tries_refresh_first(fake_vendor) -> None:  # type: ignore[no-untyped-def]
    session = fake_vendor.session("cair")
    session.get("/a")
    fake_vendor.fail_api_calls("cair", 1)
    response = session.get("/b")
    assert response.status_code == 200 and len(response.history) == 1
    counts = fake_vendor.counts("cair")
    assert (counts.refreshes, counts.token_requests) == (1, 1)


def test_no_sandbox_host() -> None:
    with pytest.raises(
        ConfigurationError,
        match="no sandbox base URL is published for cair; pass base_url= or set CAIR_BASE_URL "
        r"\(chosen by environment=\)",
    ):
        auth_sessions.for_vendor("cair", client_id="a", client_secret="b", environment="sandbox")
    session = auth_sessions.for_vendor(
        "cair",
        client_id="a",
        client_secret="b",
        environment="sandbox",
        base_url="https://sandbox.example.com",
    )
    assert session.base_url == "https://sandbox.example.com"


@pytest.mark.parametrize(
    "expires", ["2030-01-01T00:00:00Z", "2030-01-01T00:00:00.123Z", "2030-01-01T02:00:00+02:00"]
)
def test_iso_expiry_variants(fake_vendor, expires: str) -> None:  # type: ignore[no-untyped-def]
    body = {
        "accessToken": "cair-at-x",
        "refreshToken": "cair-rt-y",
        "expiresAt": expires,
        "refreshTokenExpiresAt": expires,
    }
    fake_vendor.inject_token_fault("cair", "body", body=body)
    token = fake_vendor.auth("cair").get_token()
    assert token.expires_at.isoformat().startswith("2030-01-01T00:00:00")


def test_a_refresh_whose_outcome_is_unknown_is_never_presented_again() -> None:
    # The server takes the refresh token while the client has already given up on the
    # answer (a read timeout): presenting it again would be a reuse, which a vendor that
    # detects reuse punishes by revoking the family. Client credentials instead.
    clock, gate = ManualClock(), threading.Event()
    with FakeVendors(clock=clock) as fake:
        fake.set_lifetime("cair", 600, refresh_seconds=86400)
        session = fake.session("cair", token_timeout=(5.0, 0.3))
        session.get("/a")
        clock.advance(599)
        fake.inject_token_fault("cair", "hold", gate=gate)  # the refresh, answered late
        assert session.get("/b").status_code == 200
        gate.set()  # the held refresh now goes through (spending the token) ...
    counts = fake.counts("cair")  # ... and the fake has finished every request
    assert (counts.refreshes, counts.token_requests, counts.refresh_reuse) == (1, 2, 0)
