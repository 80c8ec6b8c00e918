"""Misconfigured networks name their own fix: each cause in one line naming the hop, failing
on the first attempt when no retry can fix it, and only the vendor refusing credentials. On
real parts: a forward proxy that answers 407, a dead proxy port, a TLS server whose CA the
client does not trust, a gateway's HTML 400, a missing certificate file."""

from __future__ import annotations

import socket
import threading
from typing import Any, List

import pytest

from auth_sessions import ConfigurationError, InvalidCredentials, RetryPolicy, TokenEndpointError
from auth_sessions.testing import FakeVendors

from ._net import Pki, forward_proxy

pytestmark = pytest.mark.usefixtures("clean_net_env")


@pytest.fixture
def thread_deaths(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    died: List[Any] = []
    monkeypatch.setattr(threading, "excepthook", died.append)
    return died


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_proxy_refusing_the_tunnel_is_named_and_not_retried(
    tls_fake: FakeVendors, pki: Pki
) -> None:
    with forward_proxy(credentials="alice:pr0xy-pw") as proxy:
        port = proxy.server_address[1]
        session = tls_fake.session("cobee")
        session.verify, session.proxies = pki.ca, {"https": proxy.url}
        with pytest.raises(TokenEndpointError) as caught:
            session.get("/employees")
        assert str(caught.value).endswith(
            f"unreachable: proxy 127.0.0.1:{port} refused the tunnel (407: check the proxy "
            "credentials)"
        )
        assert len(proxy.seen) == 1  # one attempt: a retry cannot fix credentials
        session.proxies = {"https": proxy.url.replace("://", "://alice:pr0xy-pw@")}
        session.auth.forget()
        assert session.get("/employees").status_code == 200  # fixed: it goes through


def test_a_plain_http_proxy_answering_407_names_the_proxy(fake_vendor: FakeVendors) -> None:
    with forward_proxy(credentials="alice:pr0xy-pw") as proxy:
        port = proxy.server_address[1]
        session = fake_vendor.session("sohar")
        session.proxies = {"http": proxy.url}
        with pytest.raises(TokenEndpointError, match=f"proxy 127.0.0.1:{port} answered 407"):
            session.get("/claims")
        assert len(proxy.seen) == 1
        assert fake_vendor.counts("sohar").token_requests == 0


def test_a_dead_proxy_is_named(fake_vendor: FakeVendors) -> None:
    port = _closed_port()
    session = fake_vendor.session("sohar", retry=RetryPolicy(total=0))
    session.proxies = {"http": f"http://bob:s3cret-pw@127.0.0.1:{port}"}
    with pytest.raises(TokenEndpointError) as caught:
        session.get("/claims")
    assert f"unreachable: proxy 127.0.0.1:{port} unreachable" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value) and "bob" not in str(caught.value)


def test_tls_verification_names_the_host_and_the_bundle_and_is_not_retried(
    tls_fake: FakeVendors, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = tls_fake.url.split("://", 1)[1]
    with forward_proxy() as proxy:  # the proxy counts the attempts (one CONNECT each)
        session = tls_fake.session("cobee")
        session.proxies = {"https": proxy.url}
        with pytest.raises(TokenEndpointError) as caught:
            session.get("/employees")
        assert f"TLS verification failed for {host} (CA bundle: requests' default" in str(
            caught.value
        )
        assert len(proxy.seen) == 1  # no retry: the same bundle would fail again
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.client[0])  # a bundle without our CA
        with pytest.raises(TokenEndpointError) as caught:
            session.get("/employees")
        assert f"(CA bundle: {pki.client[0]}, the environment's REQUESTS_CA_BUNDLE)" in str(
            caught.value
        )


def test_a_missing_certificate_file_is_named_before_anything_is_sent(
    tls_fake: FakeVendors, pki: Pki, thread_deaths: List[Any]
) -> None:
    session = tls_fake.session("cobee")
    session.verify, session.cert = pki.ca, ("/etc/ssl/clinet.pem", pki.client[1])  # a typo
    with pytest.raises(
        ConfigurationError, match=r"certificate file /etc/ssl/clinet\.pem is missing"
    ):
        session.get("/employees")
    assert session.auth.wait_for_renewal(10)
    assert tls_fake.counts("cobee").token_requests == 0
    assert thread_deaths == []


def test_a_gateway_page_is_not_a_refusal_and_starts_no_cooldown(
    fake_vendor: FakeVendors,
) -> None:
    title = "400 No required SSL certificate was sent"
    fake_vendor.inject_token_fault("orum", "html", status=400, title=title)
    session = fake_vendor.session("orum")
    with pytest.raises(TokenEndpointError) as caught:
        session.get("/transfers")
    assert not isinstance(caught.value, InvalidCredentials)
    assert f"answered 400 with a page that is not the vendor's: {title!r}" in str(caught.value)
    assert caught.value.status_code == 400 and caught.value.retry_at is None
    assert session.get("/transfers").status_code == 200  # tried again at once: no cooldown
    assert fake_vendor.counts("orum").token_requests == 2


def test_a_cooldown_holds_only_the_transport_it_was_learned_on(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("sohar", client_secret="wrong-secret-123")
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            session.get("/claims")
    assert fake_vendor.counts("sohar").token_requests == 1  # held back: the cooldown
    with forward_proxy() as proxy:
        session.proxies = {"http": proxy.url}  # another route: tried again at once
        with pytest.raises(InvalidCredentials):
            session.get("/claims")
        assert fake_vendor.counts("sohar").token_requests == 2
        with pytest.raises(InvalidCredentials):
            session.get("/claims")  # and now held back on this route too
        assert fake_vendor.counts("sohar").token_requests == 2
