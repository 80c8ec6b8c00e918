"""DPoP (RFC 9449) on the generic oauth2 vendor: proofs signed with PyJWT, checked by the fake
with joserfc (signature, typ, htm, htu, iat, jti replay, ath, the token's cnf.jkt, nonces).
Challenges, refusals and token requests are counted at the fake."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List

import pytest

pytest.importorskip("jwt", reason="the [jwt] extra (PyJWT) is not installed")
pytest.importorskip("joserfc", reason="the fake verifies proofs with joserfc")

import auth_sessions
from auth_sessions import Event, FileTokenStore, generate_store_key, subscribe
from auth_sessions.testing import FakeVendors

from .._net import Pki


def test_every_request_carries_a_fresh_proof_for_its_bound_token(
    fake_vendor: FakeVendors,
) -> None:
    session = fake_vendor.session("oauth2", dpop=True)
    statuses = [session.get(f"/things/{i}?q={i}").status_code for i in range(20)]
    statuses.append(session.post("/things", json={"a": 1}).status_code)
    counts = fake_vendor.counts("oauth2")
    assert statuses == [200] * 21
    assert (counts.token_requests, counts.dpop_rejected, counts.unauthorized) == (1, 0, 0)
    headers = [h for _, _, h, _ in fake_vendor.api_log("oauth2")]
    assert all(h is not None and h.startswith("DPoP ") for h in headers)
    assert session.auth.get_token().token_type == "DPoP"


def test_a_token_endpoint_nonce_is_one_retry_never_a_cooldown(fake_vendor: FakeVendors) -> None:
    fake_vendor.require_dpop_nonce("oauth2", token="token-nonce-1")
    session = fake_vendor.session("oauth2", dpop=True, client_auth="client_secret_jwt")
    assert session.get("/things").status_code == 200
    counts = fake_vendor.counts("oauth2")
    assert (counts.dpop_nonce_challenges, counts.token_requests) == (1, 2)
    assert counts.token_rejected == 0  # the retry's client assertion was a fresh one
    fake_vendor.revoke_tokens("oauth2")
    assert session.get("/things").status_code == 200  # the kept nonce: no new challenge
    assert fake_vendor.counts("oauth2").dpop_nonce_challenges == 1


def test_a_resource_server_nonce_is_replayed_once_and_kept_per_origin(
    fake_vendor: FakeVendors,
) -> None:
    fake_vendor.require_dpop_nonce("oauth2", api="api-nonce-1")
    session = fake_vendor.session("oauth2", dpop=True)
    assert session.get("/things").status_code == 200  # challenged, replayed with the nonce
    assert session.get("/things").status_code == 200  # the kept nonce: no challenge
    fake_vendor.require_dpop_nonce("oauth2", api="api-nonce-2")  # the server rotates it
    assert session.get("/things").status_code == 200
    counts = fake_vendor.counts("oauth2")
    assert (counts.dpop_nonce_challenges, counts.token_requests, counts.dpop_rejected) == (2, 1, 0)


def test_a_revoked_dpop_token_is_renewed_and_replayed_with_a_new_proof(
    fake_vendor: FakeVendors,
) -> None:
    session = fake_vendor.session("oauth2", dpop=True)
    assert session.get("/things").status_code == 200
    fake_vendor.revoke_tokens("oauth2")
    assert session.get("/things").status_code == 200
    counts = fake_vendor.counts("oauth2")
    assert (counts.token_requests, counts.dpop_rejected) == (2, 0)


def test_the_key_travels_with_its_token_through_a_shared_store(
    fake_vendor: FakeVendors, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    first = fake_vendor.session("oauth2", dpop=True, token_store=FileTokenStore(path))
    assert first.get("/things").status_code == 200
    other = fake_vendor.session("oauth2", dpop=True, token_store=FileTokenStore(path))
    assert other.get("/things").status_code == 200  # another process: the stored token...
    counts = fake_vendor.counts("oauth2")
    assert (counts.token_requests, counts.dpop_rejected) == (1, 0)  # ...proven with its key


def test_a_sealed_store_seals_the_dpop_key(fake_vendor: FakeVendors, tmp_path: Path) -> None:
    plain, sealed = tmp_path / "plain.json", tmp_path / "sealed.json"
    fake_vendor.session("oauth2", dpop=True, token_store=FileTokenStore(plain)).get("/x")
    store = FileTokenStore(sealed, encryption_keys=[generate_store_key()])
    fake_vendor.session("oauth2", dpop=True, token_store=store, scope="s").get("/x")
    assert b"PRIVATE KEY" in plain.read_bytes()  # in clear without keys, like the token
    assert b"PRIVATE KEY" not in sealed.read_bytes()


def test_a_redirect_on_the_same_host_gets_a_fresh_proof(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("oauth2", dpop=True)
    target = fake_vendor.base_url("oauth2") + "/things/moved"
    response = session.get("/redirect", params={"to": target})
    assert (response.status_code, len(response.history)) == (200, 1)
    counts = fake_vendor.counts("oauth2")
    assert (counts.dpop_rejected, counts.token_requests) == (0, 1)


def test_dpop_joins_the_credential_key(fake_vendor: FakeVendors) -> None:
    keys = {
        fake_vendor.session("oauth2", dpop=True).auth.store_key,
        fake_vendor.session("oauth2").auth.store_key,
    }
    assert len(keys) == 2


def test_dpop_keys_and_proofs_never_reach_repr_logs_or_events(
    fake_vendor: FakeVendors, caplog: pytest.LogCaptureFixture
) -> None:
    events: List[Event] = []
    unsubscribe = subscribe(events.append)
    fake_vendor.require_dpop_nonce("oauth2", token="t-1", api="a-1")
    try:
        with caplog.at_level(logging.DEBUG):
            session = fake_vendor.session("oauth2", dpop=True)
            assert session.get("/things").status_code == 200
            token = session.auth.get_token()
    finally:
        unsubscribe()
    seen = [repr(session), repr(session.auth), repr(token), repr(session.auth._manager.snap)]
    seen += [r.getMessage() for r in caplog.records] + [e.message for e in events]
    assert not [t for t in seen if "PRIVATE KEY" in t or "eyJ" in t]
    assert token.proof_key is not None and "***" in repr(token.proof_key)


def test_dpop_must_be_a_bool(fake_vendor: FakeVendors) -> None:
    with pytest.raises(auth_sessions.ConfigurationError, match="dpop= is True or False"):
        fake_vendor.session("oauth2", dpop="yes")


def test_discovery_private_key_jwt_and_dpop_together_over_tls(
    pki: Pki, clean_net_env: None
) -> None:
    """The whole enterprise path on a real TLS server with a throwaway CA: metadata, a
    signed client assertion, DPoP-bound tokens, nonces at both ends."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from auth_sessions import _discovery

    _discovery.forget_all()
    key = ec.generate_private_key(ec.SECP256R1())
    with FakeVendors(tls=pki.server) as fake:
        fake.register_client_key("oauth2", key.public_key())
        fake.require_dpop_nonce("oauth2", token="tn", api="an")
        options = {"token_url": None, "issuer": fake.issuer("oauth2"), "client_secret": None}
        session = fake.session("oauth2", private_key=key, dpop=True, **options)
        session.verify = pki.ca
        assert [session.get("/things").status_code for _ in range(5)] == [200] * 5
        counts, issuer = fake.counts("oauth2"), fake.issuer("oauth2")
        (claims,) = fake.assertions("oauth2")[-1:]
    assert issuer.startswith("https://") and claims["aud"] == issuer
    assert (counts.metadata_requests, counts.token_rejected, counts.dpop_rejected) == (1, 0, 0)
    assert counts.dpop_nonce_challenges == 2  # one at the token endpoint, one at the API
