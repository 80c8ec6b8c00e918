"""The renewal decision as a pure function of a snapshot and a time: no clock, no locks."""

from __future__ import annotations

import dataclasses

import pytest

from auth_sessions import Token
from auth_sessions._policy import Policy, Window, snapshot, window
from auth_sessions.auth import bearer

T0 = 1_000_000.0


def _token(lifetime: float) -> Token:
    return Token.create("tok-value", expires_ts=T0 + lifetime, issued_ts=T0)


def test_default_leeway_is_ten_percent_up_to_a_minute() -> None:
    short = snapshot(_token(100), Policy(), bearer)  # 10 s advisory, 5 s mandatory
    assert (short.renew_at, short.must_renew_at) == (T0 + 90, T0 + 95)
    long = snapshot(_token(3600), Policy(), bearer)  # capped at 60 s
    assert (long.renew_at, long.must_renew_at) == (T0 + 3540, T0 + 3570)


def test_a_leeway_is_capped_at_half_the_lifetime() -> None:
    snap = snapshot(_token(100), Policy(leeway=500), bearer)
    assert (snap.renew_at, snap.must_renew_at) == (T0 + 50, T0 + 75)
    exact = snapshot(_token(100), Policy(leeway=0), bearer)
    assert exact.renew_at == exact.must_renew_at == T0 + 100


@pytest.mark.parametrize(
    ("at", "expected"),
    [(0, Window.FRESH), (89.999, Window.FRESH), (90, Window.ADVISORY), (94.9, Window.ADVISORY),
     (95, Window.MANDATORY), (100, Window.MANDATORY), (10_000, Window.MANDATORY)],
)  # fmt: skip
def test_windows(at: float, expected: Window) -> None:
    assert window(snapshot(_token(100), Policy(), bearer), T0 + at) is expected


def test_no_snapshot_is_absent() -> None:
    assert window(None, T0) is Window.ABSENT


def test_a_snapshot_is_frozen_and_carries_its_header() -> None:
    snap = snapshot(_token(100), Policy(), bearer)
    assert snap.header == "Bearer tok-value"
    assert "tok-value" not in repr(snap)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.renew_at = 0  # type: ignore[misc]


def test_a_failed_early_renewal_closes_the_advisory_window() -> None:
    snap = snapshot(_token(100), Policy(), bearer).held_until_mandatory()
    assert window(snap, T0 + 92) is Window.FRESH  # no renewal again before the mandatory point
    assert window(snap, T0 + 95) is Window.MANDATORY
