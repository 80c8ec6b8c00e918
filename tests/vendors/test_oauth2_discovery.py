"""Discovery on the generic oauth2 vendor (API.md section 9): ``issuer=`` finds the token
endpoint in the server's metadata (RFC 8414, then OIDC discovery). Metadata requests, token
requests and accepted assertions are counted at the fake."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any, Iterator

import pytest

import auth_sessions
from auth_sessions import ConfigurationError, TokenEndpointError, _discovery
from auth_sessions.testing import FakeVendors

from .._net import Pki
from ..conftest import NO_WAIT


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    _discovery.forget_all()  # each test's fake is a new issuer anyway; no carry-over
    yield
    _discovery.forget_all()


def _session(fake: FakeVendors, **options: Any) -> auth_sessions.VendorSession:
    return fake.session("oauth2", token_url=None, issuer=fake.issuer("oauth2"), **options)


def test_the_issuer_is_enough_and_its_metadata_is_fetched_once(fake_vendor: FakeVendors) -> None:
    assert _session(fake_vendor).get("/things").status_code == 200
    assert _session(fake_vendor, scope="other").get("/things").status_code == 200  # new key
    counts = fake_vendor.counts("oauth2")
    assert counts.metadata_requests == 1  # RFC 8414's address answered; never asked again
    assert (counts.token_requests, counts.token_rejected) == (2, 0)


def test_oidc_discovery_when_rfc_8414_is_not_published(fake_vendor: FakeVendors) -> None:
    fake_vendor.set_metadata("oauth2", at=("oidc",))
    assert _session(fake_vendor).get("/things").status_code == 200
    assert fake_vendor.counts("oauth2").metadata_requests == 2  # a 404, then OIDC's


def test_an_issuer_that_does_not_match_exactly_sends_no_token_request(
    fake_vendor: FakeVendors,
) -> None:
    fake_vendor.set_metadata("oauth2", issuer=fake_vendor.issuer("oauth2") + "/")
    for _ in range(3):
        with pytest.raises(ConfigurationError, match="must match exactly"):
            _session(fake_vendor).get("/things")
    counts = fake_vendor.counts("oauth2")
    assert (counts.token_requests, counts.metadata_requests) == (0, 1)  # remembered


def test_no_metadata_anywhere_is_named(fake_vendor: FakeVendors) -> None:
    fake_vendor.set_metadata("oauth2", at=())
    with pytest.raises(ConfigurationError, match=r"no metadata for .* nor "):
        _session(fake_vendor).get("/things")
    assert fake_vendor.counts("oauth2").token_requests == 0


def test_an_unreachable_issuer_is_a_token_endpoint_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens
    session = auth_sessions.for_vendor(
        "oauth2",
        client_id="svc",
        client_secret="s3cret-value",
        issuer=f"http://127.0.0.1:{port}/x",
        retry=NO_WAIT,
    )
    with pytest.raises(TokenEndpointError, match=r"metadata .* unreachable: connection refused"):
        session.get("/things", timeout=5)


@pytest.mark.parametrize(
    "listed, used",
    [
        (["client_secret_basic", "client_secret_post"], "basic"),
        (["client_secret_post"], "post"),
    ],
)
def test_the_best_listed_method_is_chosen(fake_vendor: FakeVendors, listed: Any, used: str) -> None:
    fake_vendor.set_metadata("oauth2", token_endpoint_auth_methods_supported=listed)
    assert _session(fake_vendor).get("/things").status_code == 200  # the fake enforces the list
    assert fake_vendor.counts("oauth2").token_rejected == 0


def test_a_method_the_server_does_not_list_is_named(fake_vendor: FakeVendors) -> None:
    fake_vendor.set_metadata("oauth2", token_endpoint_auth_methods_supported=["private_key_jwt"])
    with pytest.raises(ConfigurationError, match="lists client authentication private_key_jwt"):
        _session(fake_vendor, client_auth="client_secret_post").get("/things")
    assert fake_vendor.counts("oauth2").token_requests == 0


def test_private_key_jwt_with_discovery_has_the_issuer_as_audience(
    fake_vendor: FakeVendors,
) -> None:
    pytest.importorskip("jwt")
    pytest.importorskip("joserfc")
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    fake_vendor.register_client_key("oauth2", key.public_key())
    session = _session(fake_vendor, client_secret=None, private_key=key)
    assert session.get("/things").status_code == 200
    (claims,) = fake_vendor.assertions("oauth2")
    assert claims["aud"] == fake_vendor.issuer("oauth2")  # exactly: no trailing slash


def test_a_signing_algorithm_the_server_does_not_list_is_named(fake_vendor: FakeVendors) -> None:
    pytest.importorskip("jwt")
    from cryptography.hazmat.primitives.asymmetric import ed25519

    fake_vendor.set_metadata("oauth2", token_endpoint_auth_signing_alg_values_supported=["ES256"])
    key = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(ConfigurationError, match="not EdDSA"):
        _session(fake_vendor, client_secret=None, private_key=key).get("/things")


def test_tls_client_auth_uses_the_mtls_alias(pki: Pki, clean_net_env: None) -> None:
    with FakeVendors(tls=pki.server, client_ca=pki.ca) as fake:
        alias = fake.token_url("oauth2") + "?mtls=1"  # the same fake endpoint, told apart
        fake.set_metadata("oauth2", mtls_endpoint_aliases={"token_endpoint": alias})
        session = _session(fake, client_secret=None, client_auth="tls_client_auth")
        session.verify, session.cert = pki.ca, pki.client  # metadata too goes this way
        assert session.get("/things").status_code == 200
        assert fake.token_log("oauth2")[-1].endswith("?mtls=1")


def test_the_environment_configures_discovery_and_the_cli_check(fake_vendor: FakeVendors) -> None:
    client_id, secret = fake_vendor.credentials("oauth2")
    env = {
        "OAUTH2_CLIENT_ID": client_id,
        "OAUTH2_CLIENT_SECRET": secret,
        "OAUTH2_ISSUER": fake_vendor.issuer("oauth2"),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "auth_sessions", "check", "oauth2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake_vendor.counts("oauth2").metadata_requests == 1
