"""Manis: header credentials, epoch expiry in seconds or milliseconds, required base URL."""

from __future__ import annotations

import time

import pytest

import auth_sessions
from auth_sessions import ConfigurationError, InvalidCredentials


@pytest.mark.parametrize("unit", ["ms", "s"])
def test_epoch_expiry_units(fake_vendor, unit: str) -> None:  # type: ignore[no-untyped-def]
    fake_vendor.set_expiry_unit("manis", unit)
    token = fake_vendor.auth("manis").get_token()
    assert abs(token.expires_ts - (time.time() + 3600)) < 5


def test_base_url_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MANIS_BASE_URL", raising=False)
    with pytest.raises(
        ConfigurationError,
        match="no production base URL is published for manis; pass base_url= or set MANIS_BASE_URL",
    ):
        auth_sessions.for_vendor("manis", client_id="merchant", client_secret="s")


def test_problem_json_error_shape(fake_vendor) -> None:  # type: ignore[no-untyped-def]
    fake_vendor.inject_token_fault("manis", "status", status=400)
    with pytest.raises(InvalidCredentials, match="400: Bad Request: 400: injected fault"):
        fake_vendor.session("manis").get("/x")
