"""Client authentication by name on the generic oauth2 vendor (API.md section 9): JWT client
assertions signed with PyJWT and verified by the fake with joserfc (another JOSE library),
and TLS client certificates over a real mTLS server with a throwaway CA."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, List

import pytest

pytest.importorskip("jwt", reason="the [jwt] extra (PyJWT) is not installed")
pytest.importorskip("joserfc", reason="the fake verifies assertions with joserfc")

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import auth_sessions
from auth_sessions import ConfigurationError, Event, subscribe
from auth_sessions.testing import FakeVendors

from .._net import Pki

KEYS: List[Callable[[], Any]] = [
    lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    lambda: ec.generate_private_key(ec.SECP256R1()),
    lambda: ed25519.Ed25519PrivateKey.generate(),
]


def _pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize("make", KEYS, ids=["RS256", "ES256", "EdDSA"])
@pytest.mark.parametrize("form", ["object", "pem", "path"])
def test_private_key_jwt_with_a_fresh_assertion_per_token_request(
    fake_vendor: FakeVendors, tmp_path: Path, make: Callable[[], Any], form: str
) -> None:
    key = make()
    fake_vendor.register_client_key("oauth2", key.public_key())
    given: Any = {"object": key, "pem": _pem(key)}.get(form)
    if form == "path":
        (tmp_path / "key.pem").write_text(_pem(key))
        given = str(tmp_path / "key.pem")
    session = fake_vendor.session("oauth2", client_secret=None, private_key=given, key_id="k1")
    assert session.get("/things").status_code == 200
    fake_vendor.revoke_tokens("oauth2")
    assert session.get("/things").status_code == 200  # a second assertion: a new jti
    counts = fake_vendor.counts("oauth2")
    assert (counts.token_requests, counts.token_rejected) == (2, 0)


def test_client_secret_jwt(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("oauth2", client_auth="client_secret_jwt")
    assert session.get("/things").status_code == 200
    fake_vendor.revoke_tokens("oauth2")
    assert session.get("/things").status_code == 200
    assert fake_vendor.counts("oauth2").token_rejected == 0


@pytest.mark.parametrize(
    "method", ["client_secret_basic", "client_secret_post", "basic", "body", None]
)
def test_secret_methods_by_rfc_name_and_alias(fake_vendor: FakeVendors, method: Any) -> None:
    session = fake_vendor.session("oauth2", client_auth=method)
    assert session.get("/things").status_code == 200
    assert fake_vendor.counts("oauth2").token_rejected == 0


def test_a_key_the_server_does_not_know_is_refused(fake_vendor: FakeVendors) -> None:
    fake_vendor.register_client_key("oauth2", KEYS[1]().public_key())
    session = fake_vendor.session("oauth2", client_secret=None, private_key=KEYS[1]())
    with pytest.raises(auth_sessions.InvalidCredentials, match="signature does not verify"):
        session.get("/things")


def test_the_method_and_the_key_join_the_credential_key(fake_vendor: FakeVendors) -> None:
    one, two = KEYS[1](), KEYS[1]()
    keys = {
        fake_vendor.session("oauth2", client_secret=None, private_key=one).auth.store_key,
        fake_vendor.session("oauth2", client_secret=None, private_key=two).auth.store_key,
        fake_vendor.session("oauth2", client_auth="client_secret_jwt").auth.store_key,
        fake_vendor.session("oauth2", client_auth="client_secret_basic").auth.store_key,
        fake_vendor.session("oauth2").auth.store_key,
    }
    assert len(keys) == 5
    again = fake_vendor.session("oauth2", client_secret=None, private_key=_pem(one))
    assert again.auth.store_key in keys  # the same key, given another way: the same tokens


def test_tls_client_auth_sends_the_certificate_and_no_secret(pki: Pki, clean_net_env: None) -> None:
    with FakeVendors(tls=pki.server, client_ca=pki.ca) as fake:
        session = fake.session("oauth2", client_secret=None, client_auth="tls_client_auth")
        session.verify, session.cert = pki.ca, pki.client
        assert session.get("/things").status_code == 200
        bare = fake.session("oauth2", client_secret=None, client_auth="self_signed_tls_client_auth")
        bare.verify = pki.ca
        with pytest.raises(ConfigurationError, match=r"session\.cert"):
            bare.get("/things")
        counts = fake.counts("oauth2")
    assert (counts.token_requests, counts.token_rejected) == (1, 0)  # none sent without one


def test_options_and_environment(
    fake_vendor: FakeVendors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = KEYS[1]()
    fake_vendor.register_client_key("oauth2", key.public_key())
    (tmp_path / "key.pem").write_text(_pem(key))
    client_id, _ = fake_vendor.credentials("oauth2")
    monkeypatch.setenv("OAUTH2_CLIENT_ID", client_id)
    monkeypatch.setenv("OAUTH2_TOKEN_URL", fake_vendor.token_url("oauth2"))
    monkeypatch.setenv("OAUTH2_BASE_URL", fake_vendor.base_url("oauth2"))
    monkeypatch.setenv("OAUTH2_PRIVATE_KEY", str(tmp_path / "key.pem"))
    monkeypatch.delenv("OAUTH2_CLIENT_SECRET", raising=False)
    session = auth_sessions.for_vendor("oauth2")  # everything from the environment
    assert session.get("/things").status_code == 200


@pytest.mark.parametrize(
    "options, words",
    [
        ({"client_auth": "private_key_jwt"}, "needs private_key="),
        ({"client_auth": "jwt"}, "is not one of"),
        (
            {"private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n"},
            "not an unencrypted PEM private key",
        ),
        ({"private_key": "/nonexistent/key.pem"}, "cannot read private_key file"),
        ({"client_auth": "client_secret_post", "private_key": "x"}, "used only by"),
        ({"client_auth": "client_secret_jwt", "signing_alg": "RS256"}, "signs with HS256"),
    ],
)
def test_bad_options_are_named(fake_vendor: FakeVendors, options: Any, words: str) -> None:
    with pytest.raises(ConfigurationError, match="oauth2") as caught:
        fake_vendor.session("oauth2", **options)
    assert words in str(caught.value) and "not-a-key" not in str(caught.value)


def test_no_secret_at_all_is_still_an_error_for_secret_methods(fake_vendor: FakeVendors) -> None:
    with pytest.raises(ConfigurationError, match="no client secret"):
        fake_vendor.session("oauth2", client_secret=None)


def test_keys_and_assertions_never_reach_repr_logs_or_events(
    fake_vendor: FakeVendors, caplog: pytest.LogCaptureFixture
) -> None:
    key = KEYS[0]()
    fake_vendor.register_client_key("oauth2", key.public_key())
    events: List[Event] = []
    unsubscribe = subscribe(events.append)
    pem = _pem(key)
    try:
        with caplog.at_level(logging.DEBUG):  # every logger, every level
            session = fake_vendor.session("oauth2", client_secret=None, private_key=pem)
            assert session.get("/things").status_code == 200
            wrong = fake_vendor.session("oauth2", client_secret=None, private_key=KEYS[0]())
            with pytest.raises(auth_sessions.InvalidCredentials) as caught:
                wrong.get("/things")
    finally:
        unsubscribe()
    body = "".join(pem.splitlines()[1:-1])[:40]
    seen = [repr(session), repr(session.auth), repr(session.auth.endpoint), str(caught.value)]
    seen += [r.getMessage() for r in caplog.records] + [e.message for e in events]
    assert not [text for text in seen if body in text or "client_assertion=" in text]
    assert not [text for text in seen if "eyJ" in text]  # no JWT (header.claims.signature)


def test_a_missing_pyjwt_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['jwt'] = None\n"
        "import auth_sessions\n"
        "try: auth_sessions.for_vendor('oauth2', client_id='svc', private_key='k.pem',\n"
        "      token_url='https://idp.example/token')\n"
        "except auth_sessions.ConfigurationError as e: print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'auth-sessions[jwt]'" in out.stdout, out.stderr
