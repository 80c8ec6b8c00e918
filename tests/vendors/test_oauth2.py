"""The generic RFC 6749 client-credentials vendor, through oauthlib."""

from __future__ import annotations

import logging

import pytest

import auth_sessions
from auth_sessions import ConfigurationError, TokenResponseError
from auth_sessions.testing import FakeVendors


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
    with pytest.raises(ConfigurationError, match="client_auth='jwt' is not one of"):
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


def test_each_scope_gets_its_own_token(fake_vendor: FakeVendors) -> None:
    fake_vendor.grant_scope("oauth2", lambda asked: asked)  # grants what is asked
    reader = fake_vendor.session("oauth2", scope="read")
    admin = fake_vendor.session("oauth2", scope="admin write")
    assert reader.get("/a").json()["scope"] == "read"
    assert admin.get("/a").json()["scope"] == "admin write"  # not the reader's token
    assert reader.get("/b").json()["scope"] == "read"
    assert fake_vendor.counts("oauth2").token_requests == 2
    assert reader.auth.store_key != admin.auth.store_key


def test_scope_order_does_not_split_the_key(fake_vendor: FakeVendors) -> None:
    one = fake_vendor.session("oauth2", scope="read write")
    two = fake_vendor.session("oauth2", scope="write read")
    assert one.get("/a").status_code == two.get("/a").status_code == 200
    assert fake_vendor.counts("oauth2").token_requests == 1


def test_client_auth_method_is_part_of_the_key(fake_vendor: FakeVendors) -> None:
    body = fake_vendor.session("oauth2", client_auth="body")
    basic = fake_vendor.session("oauth2", client_auth="basic")
    assert body.auth.store_key != basic.auth.store_key


@pytest.mark.parametrize(
    ("asked", "rule", "granted"),
    [
        ("read write", lambda asked: "read", "read"),  # narrowed (Authlib)
        ("read", lambda asked: asked + " profile email", "read profile email"),  # widened
    ],
)
def test_a_different_granted_scope_is_accepted_and_kept(
    fake_vendor: FakeVendors, caplog: pytest.LogCaptureFixture, asked: str, rule, granted: str
) -> None:  # type: ignore[no-untyped-def]
    fake_vendor.grant_scope("oauth2", rule)
    session = fake_vendor.session("oauth2", scope=asked)
    with caplog.at_level(logging.INFO, logger="auth_sessions"):
        assert session.get("/a").json()["scope"] == granted
    assert session.auth.get_token().scope == granted
    assert any("granted scope" in r.getMessage() for r in caplog.records)


def test_oauthlib_refusal_keeps_its_own_words(fake_vendor: FakeVendors) -> None:
    body = {"error": "invalid_scope", "error_description": "scope nonsense is unknown"}
    fake_vendor.inject_token_fault("oauth2", "body", body=body)
    session = fake_vendor.session("oauth2", scope="nonsense")
    with pytest.raises(TokenResponseError, match=r"invalid_scope.*scope nonsense is unknown"):
        session.get("/a")
