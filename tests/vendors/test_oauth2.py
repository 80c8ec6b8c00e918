"""The generic RFC 6749 client-credentials vendor, through oauthlib."""

from __future__ import annotations

import logging

import pytest

import auth_sessions
from auth_sessions import ConfigurationError


@pytest.mark.parametrize("client_auth", ["body", "basic"])
def test_client_auth_modes(fake_vendor, client_auth: str) -> None:  # type: ignore[no-untyped-def]
    session = fake_vendor.session("oauth2", client_auth=client_auth, scope="read write")
    assert session.get("/things").status_code == 200
    assert fake_vendor.counts("oauth2").token_rejected == 0


def test_no_debug_record_leaks(fake_vendor, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.DEBUG):
        fake_vendor.session("oauth2").get("/things")
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    for secret in fake_vendor.issued_secrets():
        assert secret not in text


def test_options_checked() -> None:
    with pytest.raises(ConfigurationError, match="token_url= is required"):
        auth_sessions.for_vendor("oauth2", client_id="a", client_secret="b")
    with pytest.raises(ConfigurationError, match="client_auth must be"):
        auth_sessions.for_vendor(
            "oauth2",
            client_id="a",
            client_secret="b",
            token_url="https://x.example.com/t",
            client_auth="jwt",
        )
    with pytest.raises(ConfigurationError, match="plain http"):
        auth_sessions.for_vendor(
            "oauth2", client_id="a", client_secret="b", token_url="http://x.example.com/t"
        )


def test_default_base_is_token_origin() -> None:
    session = auth_sessions.for_vendor(
        "oauth2", client_id="a", client_secret="b", token_url="https://idp.example.com/oauth/token"
    )
    assert session.base_url == "https://idp.example.com"


def test_missing_expires_in_assumes_an_hour(fake_vendor) -> None:  # type: ignore[no-untyped-def]
    fake_vendor.inject_token_fault(
        "oauth2", "body", body={"access_token": "oauth2-at-1", "token_type": "Bearer"}
    )
    assert fake_vendor.auth("oauth2").get_token().lifetime == pytest.approx(3600, abs=1)
