"""Transport safety: https with verification on, no token to other origins or over a
downgrade, no secret in URLs or store keys."""

from __future__ import annotations

import shutil
import subprocess
from typing import Iterator, Tuple

import pytest
import requests

from auth_sessions import RetryPolicy, TokenEndpointError
from auth_sessions.testing import FakeVendors

from .conftest import VENDORS


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(keyfile), "-out", str(certfile), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return str(certfile), str(keyfile)


@pytest.fixture
def tls_fake(cert: Tuple[str, str]) -> Iterator[FakeVendors]:
    with FakeVendors(tls=cert) as fake:
        yield fake


def test_https_verified_with_the_callers_ca_bundle(
    tls_fake: FakeVendors, cert: Tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_fake.url.startswith("https://")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert[0])
    session = tls_fake.session("cobee")
    assert session.get("/employees").status_code == 200
    assert tls_fake.counts("cobee").token_requests == 1


def test_tls_verification_never_turned_off(
    tls_fake: FakeVendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    session = tls_fake.session("cobee", retry=RetryPolicy(total=0))
    with pytest.raises(TokenEndpointError, match="unreachable"):
        session.get("/employees")  # self-signed certificate: refused
    assert tls_fake.counts("cobee").token_requests == 0  # the handshake failed first


def test_redirect_from_https_to_http_carries_no_token(
    tls_fake: FakeVendors, cert: Tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert[0])
    session = tls_fake.session("sohar")
    session.get("/warm")
    with FakeVendors() as plain:
        target = requests.utils.quote(plain.base_url("sohar") + "/landing", safe="")
        response = session.get(f"/redirect?to={target}")
        assert response.status_code == 401
        assert plain.api_log("sohar") == [("GET", "/landing", None, plain.api_log("sohar")[0][3])]


def test_downgraded_scheme_gets_no_token(
    tls_fake: FakeVendors, cert: Tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert[0])
    auth = tls_fake.auth("orum")
    auth.get_token()
    same_host_http = tls_fake.url.replace("https://", "http://") + "/orum/x"
    prepared = auth(requests.Request("GET", same_host_http).prepare())
    assert "Authorization" not in prepared.headers
    secure = auth(requests.Request("GET", tls_fake.base_url("orum") + "/x").prepare())
    assert secure.headers["Authorization"].startswith("Bearer ")


@pytest.mark.parametrize("vendor", VENDORS)
def test_no_secret_in_urls_or_store_keys(fake_vendor: FakeVendors, vendor: str) -> None:
    session = fake_vendor.session(vendor)
    session.get("/a")
    fake_vendor.fail_api_calls(vendor, 1)
    session.get("/b")
    secrets = fake_vendor.issued_secrets()
    urls = fake_vendor.token_log(vendor) + [entry[1] for entry in fake_vendor.api_log(vendor)]
    assert urls and all("?" not in url for url in fake_vendor.token_log(vendor))
    assert not [s for s in secrets for url in urls if s in url]
    assert not [s for s in secrets if s in session.auth.store_key]
