"""``auth-sessions fake`` for tests in other processes: over TLS with a throwaway CA, with
mTLS, its counters at ``/_stats``; and the environment's knobs for token retries and the
token deadline (a "vendor down" test need not wait out real backoff)."""

from __future__ import annotations

import subprocess
import sys
from typing import Dict, Iterator, List, Tuple

import pytest
import requests

import auth_sessions
from auth_sessions import ConfigurationError
from auth_sessions.testing import FakeVendors

from ._net import Pki, serve_fake


@pytest.fixture
def tls_fake_cli() -> Iterator[Tuple[Dict[str, str], List[str]]]:
    yield from serve_fake("--tls")


def test_the_fake_serves_https_with_a_ca_it_names(
    tls_fake_cli: Tuple[Dict[str, str], List[str]], clean_net_env: None
) -> None:
    exports, comments = tls_fake_cli
    ca = exports["REQUESTS_CA_BUNDLE"]
    assert any(ca in line for line in comments)
    assert exports["COBEE_BASE_URL"].startswith("https://127.0.0.1:")
    result = subprocess.run(
        [sys.executable, "-m", "auth_sessions", "check"],
        env={**exports, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" ok ") == 6
    origin = exports["COBEE_BASE_URL"].split("/cobee")[0]
    stats = requests.get(origin + "/_stats", verify=ca, timeout=10).json()
    assert stats["cobee"]["token_requests"] == 1 and stats["oauth2"]["metadata_requests"] == 1


def test_the_fake_requires_client_certificates_with_client_ca(
    pki: Pki, clean_net_env: None
) -> None:
    for exports, _ in serve_fake("--tls", "--client-ca", pki.ca):
        ca, base = exports["REQUESTS_CA_BUNDLE"], exports["SOHAR_BASE_URL"]
        client_id, secret = exports["SOHAR_CLIENT_ID"], exports["SOHAR_CLIENT_SECRET"]
        with auth_sessions.for_vendor(
            "sohar", client_id=client_id, client_secret=secret, base_url=base
        ) as session:
            session.verify, session.cert = ca, pki.client
            assert session.get("/x").status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(base + "/x", verify=ca, timeout=10)  # no certificate: refused


def test_client_ca_needs_tls() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "auth_sessions", "fake", "--client-ca", "/x.pem"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--client-ca needs --tls" in result.stderr


def test_token_retries_and_deadline_from_the_environment(
    fake_vendor: FakeVendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_vendor.inject_token_fault("cobee", "status", status=503, count=10)
    monkeypatch.setenv("AUTH_SESSIONS_TOKEN_RETRIES", "0")
    monkeypatch.setenv("AUTH_SESSIONS_TOKEN_DEADLINE", "3")
    session = fake_vendor.session("cobee")
    assert session.auth.settings.token_deadline == 3.0
    with pytest.raises(auth_sessions.TokenEndpointError, match="503"):
        session.get("/x")
    assert fake_vendor.counts("cobee").token_requests == 1  # no retry at all
    explicit = fake_vendor.session(
        "cobee", retry=auth_sessions.RetryPolicy(total=1, backoff_factor=0)
    )
    with pytest.raises(auth_sessions.TokenEndpointError):
        explicit.get("/x")
    assert fake_vendor.counts("cobee").token_requests == 3  # an explicit retry= wins


@pytest.mark.parametrize(
    "name, value",
    [("AUTH_SESSIONS_TOKEN_RETRIES", "-1"), ("AUTH_SESSIONS_TOKEN_DEADLINE", "soon")],
)
def test_bad_knobs_are_named(
    fake_vendor: FakeVendors, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        fake_vendor.session("cobee")
