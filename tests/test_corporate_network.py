"""Token calls travel like the caller's API calls: private CA, client certificate, proxies,
trust_env, a user's own token session — on real TLS servers and a real forward proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest
import requests
from requests.adapters import HTTPAdapter

from auth_sessions import RetryPolicy, TokenEndpointError, vendor_class
from auth_sessions.testing import FakeVendors

from ._net import Pki, forward_proxy

pytestmark = pytest.mark.usefixtures("clean_net_env")


def test_private_ca_in_session_verify_reaches_token_calls(tls_fake: FakeVendors, pki: Pki) -> None:
    session = tls_fake.session("cobee")
    session.verify = pki.ca  # set after construction: read at the time of the call
    assert session.get("/employees").status_code == 200
    assert tls_fake.counts("cobee").token_requests == 1


def test_the_calling_session_carries_the_token_call(tls_fake: FakeVendors, pki: Pki) -> None:
    built = tls_fake.session("cobee", retry=RetryPolicy(total=0))  # knows no private CA
    caller = tls_fake.session("cobee")
    caller.auth, caller.verify = built.auth, pki.ca  # one auth, shared by another session
    assert caller.get("/employees").status_code == 200  # its token call trusted the CA too
    assert tls_fake.counts("cobee").token_requests == 1


def test_without_the_private_ca_the_cause_is_named(tls_fake: FakeVendors) -> None:
    session = tls_fake.session("cobee", retry=RetryPolicy(total=0))
    with pytest.raises(TokenEndpointError, match="TLS verification failed"):
        session.get("/employees")
    assert tls_fake.counts("cobee").token_requests == 0  # refused before any HTTP


def test_client_certificate_presented_on_token_calls(pki: Pki) -> None:
    with FakeVendors(tls=pki.server, client_ca=pki.ca) as fake:
        session = fake.session("orum")
        session.verify, session.cert = pki.ca, pki.client
        assert session.get("/transfers").status_code == 200
        assert fake.counts("orum").token_requests == 1
        bare = fake.session("orum", retry=RetryPolicy(total=0), token_store=None)
        bare.verify = pki.ca  # no client certificate: the server refuses the handshake
        with pytest.raises(TokenEndpointError):
            bare.get("/transfers")
        assert fake.counts("orum").token_requests == 1


def test_session_proxies_carry_the_token_call(fake_vendor: FakeVendors) -> None:
    with forward_proxy() as proxy:
        session = fake_vendor.session("sohar")
        session.proxies = {"http": proxy.url}
        assert session.get("/claims").status_code == 200
        posts = [target for method, target in proxy.seen if method == "POST"]
        assert posts == [fake_vendor.token_url("sohar")]  # the token call went through it
        assert fake_vendor.counts("sohar").token_requests == 1


def test_https_token_call_tunnels_through_the_proxy(tls_fake: FakeVendors, pki: Pki) -> None:
    with forward_proxy() as proxy:
        session = tls_fake.session("cobee")
        session.proxies, session.verify = {"https": proxy.url}, pki.ca
        assert session.get("/employees").status_code == 200
        host = tls_fake.url.split("://", 1)[1]
        # one tunnel for the token call, one for the API call
        assert proxy.seen == [("CONNECT", host), ("CONNECT", host)]


def test_trust_env_false_keeps_the_secret_from_the_env_proxy(
    fake_vendor: FakeVendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    with forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        session = fake_vendor.session("cobee")
        session.trust_env = False
        assert session.get("/employees").status_code == 200
        assert proxy.seen == []  # neither the token POST nor the API call
        session.trust_env = True  # and the environment's proxy is used when trusted
        session.auth.forget()
        assert session.get("/employees").status_code == 200
        assert [m for m, _ in proxy.seen] == ["POST", "GET"]


def _standalone(fake: FakeVendors, vendor: str) -> Any:
    client_id, secret = fake.credentials(vendor)
    return vendor_class(vendor)(
        client_id, secret, base_url=fake.base_url(vendor), token_store=fake.store
    )


def test_standalone_auth_follows_the_environment(
    fake_vendor: FakeVendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    with forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        auth = _standalone(fake_vendor, "sohar")
        url = fake_vendor.base_url("sohar") + "/claims"
        assert requests.get(url, auth=auth, timeout=10).status_code == 200
        assert [m for m, _ in proxy.seen] == ["POST", "GET"]  # token call, then the API call
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        auth.forget()
        assert requests.get(url, auth=auth, timeout=10).status_code == 200
        assert len(proxy.seen) == 2  # NO_PROXY honoured for both


def test_standalone_auth_honours_requests_ca_bundle(
    tls_fake: FakeVendors, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.ca)
    auth = _standalone(tls_fake, "orum")
    url = tls_fake.base_url("orum") + "/transfers"
    assert requests.get(url, auth=auth, timeout=10).status_code == 200
    assert tls_fake.counts("orum").token_requests == 1


class _CountingAdapter(HTTPAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.sent: List[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(request.url or "")
        return super().send(request, *args, **kwargs)


def test_a_users_token_session_is_used_as_is(fake_vendor: FakeVendors) -> None:
    adapter = _CountingAdapter()
    token_session = requests.Session()
    token_session.mount("http://", adapter)
    session = fake_vendor.session("cobee", token_session=token_session)
    assert session.get("/employees").status_code == 200
    assert adapter.sent == [fake_vendor.token_url("cobee")]  # token calls only, not the API


def test_token_endpoint_keeps_its_own_retry_policy(fake_vendor: FakeVendors) -> None:
    # API retries are off, token retries on: a 503 at the token endpoint is retried
    session = fake_vendor.session("cobee", retries=0, retry=RetryPolicy(total=1, backoff_factor=0))
    fake_vendor.inject_token_fault("cobee", "status", status=503, count=5)
    with pytest.raises(TokenEndpointError, match="503"):
        session.get("/employees")
    assert fake_vendor.counts("cobee").token_requests == 2  # its own policy: 1 retry
    assert fake_vendor.counts("cobee").api_calls == 0


def test_pki_files_exist(pki: Pki) -> None:
    assert all(Path(p).is_file() for p in (pki.ca, *pki.server, *pki.client))


def test_a_calls_own_verify_reaches_its_token_call(tls_fake: FakeVendors, pki: Pki) -> None:
    session = tls_fake.session("cobee", retry=RetryPolicy(total=0))  # the session trusts no CA
    assert session.get("/employees", verify=pki.ca).status_code == 200
    assert tls_fake.counts("cobee").token_requests == 1


def test_a_calls_own_proxies_carry_its_token_call(fake_vendor: FakeVendors) -> None:
    with forward_proxy() as proxy:
        session = fake_vendor.session("sohar")
        assert session.get("/claims", proxies={"http": proxy.url}).status_code == 200
        assert proxy.seen == [
            ("POST", fake_vendor.token_url("sohar")),
            ("GET", fake_vendor.base_url("sohar") + "/claims"),
        ]


def test_a_calls_own_cert_reaches_its_token_call(pki: Pki) -> None:
    with FakeVendors(tls=pki.server, client_ca=pki.ca) as fake:
        session = fake.session("orum", retry=RetryPolicy(total=0))
        assert session.get("/transfers", verify=pki.ca, cert=pki.client).status_code == 200
        assert fake.counts("orum").token_requests == 1


def test_the_environment_bundle_wins_for_the_api_call_and_its_token_call(
    tls_fake: FakeVendors, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests: with trust_env, REQUESTS_CA_BUNDLE replaces a session.verify path for the API
    # call; the token call must verify against that same bundle, not the session's.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.ca)
    session = tls_fake.session("cobee", retry=RetryPolicy(total=0))
    session.verify = pki.client[0]  # not a CA that signed the server: would fail alone
    assert session.get("/employees").status_code == 200
    assert tls_fake.counts("cobee").token_requests == 1
    session.trust_env = False  # and without the environment, the session's verify rules both
    session.auth.forget()
    with pytest.raises(TokenEndpointError, match="TLS verification failed"):
        session.get("/employees")
