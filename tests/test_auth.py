"""TokenAuth behaviour (API.md section 3) against the fake vendors, counted server-side."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
import requests

import auth_sessions
from auth_sessions import (
    ConfigurationError,
    InvalidCredentials,
    TokenEndpointError,
    TokenResponseError,
)
from auth_sessions.testing import FakeVendors

from .conftest import NO_WAIT, run_threads, run_while_held


def test_fifty_sessions_share_one_token(fake_vendor: FakeVendors) -> None:
    for _ in range(50):
        with fake_vendor.session("cobee") as session:
            assert session.get("/employees").status_code == 200
    assert fake_vendor.counts("cobee").token_requests == 1
    assert fake_vendor.counts("cobee").api_calls == 50


def test_default_store_is_shared_across_sessions(fake_vendor: FakeVendors) -> None:
    auth_sessions.default_store.clear()
    for _ in range(5):
        session = fake_vendor.session("sohar", token_store=None)
        assert session.auth.token_store is auth_sessions.default_store
        assert session.get("/x").status_code == 200
    assert fake_vendor.counts("sohar").token_requests == 1


def test_cold_store_32_threads_one_token_request(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("sohar")

    def call() -> int:
        return int(fake_vendor.session("sohar").get("/patients").status_code)

    assert run_while_held(fake_vendor, "sohar", 32, call) == [200] * 32
    assert fake_vendor.counts("sohar").token_requests == 1
    sent = {entry[2] for entry in fake_vendor.api_log("sohar")}
    assert sent == {"Bearer " + session.auth.get_token().access_token.reveal()}  # all the same


def test_expired_token_is_never_sent(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("cobee", 100)
    session = fake.session("cobee")
    assert session.get("/a").status_code == 200
    clock.advance(101)
    assert session.get("/b").status_code == 200
    counts = fake.counts("cobee")
    assert counts.expired_presented == 0
    assert counts.unauthorized == 0
    assert counts.token_requests == 2


def test_default_leeway_scales_with_lifetime(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("orum", 30)  # default leeway: min(60, 10 %) = 3 s
    session = fake.session("orum")
    session.get("/a")
    clock.advance(26)  # 4 s left: still outside the leeway, no renewal
    session.get("/b")
    assert fake.counts("orum").token_requests == 1
    clock.advance(2)  # 2 s left: inside it
    session.get("/c")
    assert session.auth.wait_for_renewal(10)
    assert fake.counts("orum").token_requests == 2


def test_explicit_leeway(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("sohar", 1000)
    session = fake.session("sohar", leeway=300)
    session.get("/a")
    clock.advance(701)
    session.get("/b")  # in the advisory window: renewed in the background
    assert session.auth.wait_for_renewal(10)
    assert fake.counts("sohar").token_requests == 2


def test_advisory_failure_keeps_valid_token_with_one_warning(clocked, caplog) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("cobee", 100)  # advisory at 10 s left, mandatory at 5 s left
    session = fake.session("cobee", retry=NO_WAIT)
    session.get("/a")
    clock.advance(92)
    fake.inject_token_fault("cobee", "status", status=500, count=3)
    with caplog.at_level(logging.WARNING, logger="auth_sessions"):
        for _ in range(5):
            assert session.get("/b").status_code == 200
        assert session.auth.wait_for_renewal(10)  # the early renewal runs in the background
        for _ in range(5):
            assert session.get("/b").status_code == 200  # held: no second early attempt
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert fake.counts("cobee").token_requests == 1 + 3  # one early attempt, with its retries
    clock.advance(4)  # now in the mandatory window: a real renewal
    assert session.get("/c").status_code == 200
    assert fake.counts("cobee").token_requests == 5
    assert fake.counts("cobee").expired_presented == 0


def test_advisory_window_nobody_waits(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("sohar", 100)
    session = fake.session("sohar")
    session.get("/warm")
    old = session.auth.get_token()
    clock.advance(92)
    gate = threading.Event()
    fake.inject_token_fault("sohar", "hold", gate=gate)  # the renewal hangs until we say
    tokens = run_threads(16, lambda: fake.session("sohar").auth.get_token())
    # the renewal runs in the background: all 16 were served the valid old token at once
    assert [t.access_token for t in tokens] == [old.access_token] * 16
    assert not session.auth.wait_for_renewal(0.05)  # it is still held at the fake
    gate.set()
    assert session.auth.wait_for_renewal(10)
    assert fake.counts("sohar").token_requests == 2  # one renewal for all 16
    assert session.auth.get_token().access_token != old.access_token


@pytest.mark.parametrize("kind", ["bytes", "json", "file", "form"])
def test_401_reauth_replays_identical_body(fake_vendor: FakeVendors, kind: str) -> None:
    session = fake_vendor.session("cobee")
    session.get("/warm")
    fake_vendor.fail_api_calls("cobee", 1)
    payload = b'{"employee": 42, "name": "A"}'
    kwargs = {
        "bytes": {"data": payload},
        "json": {"json": {"employee": 42}},
        "file": {"data": io.BytesIO(payload)},
        "form": {"data": {"a": "1", "b": "2"}},
    }[kind]
    # a replay that sends less body than it announces waits for the timeout: keep it short
    response = session.post("/employees", timeout=5, **kwargs)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    log = fake_vendor.api_log("cobee")
    assert len(log) == 3  # warm-up, the 401, the replay
    assert log[1][3] == log[2][3]  # same body digest
    assert response.json()["body_length"] > 0
    assert log[1][2] != log[2][2]  # a different token on the replay
    assert fake_vendor.counts("cobee").token_requests == 2


def test_401_burst_from_32_threads_one_renewal(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("orum")
    session.get("/warm")
    fake_vendor.revoke_tokens("orum")
    statuses = run_threads(32, lambda: fake_vendor.session("orum").get("/transfers").status_code)
    assert statuses == [200] * 32
    assert fake_vendor.counts("orum").token_requests == 2


def test_api_always_401_two_calls_then_returned(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("sohar")
    fake_vendor.fail_api_calls("sohar", 100)
    response = session.get("/always-401")
    assert response.status_code == 401
    assert fake_vendor.counts("sohar").api_calls == 2
    assert len(response.history) == 1


def test_generator_body_is_not_replayed(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("sohar")
    session.get("/warm")
    fake_vendor.fail_api_calls("sohar", 1)
    response = session.post("/upload", data=(chunk for chunk in [b"a", b"b"]))
    assert response.status_code == 401
    assert fake_vendor.counts("sohar").api_calls == 2  # warm-up + the one 401


def test_token_not_sent_to_another_origin(fake_vendor: FakeVendors) -> None:
    with FakeVendors() as other:
        session = fake_vendor.session("cobee")
        session.get("/warm")
        other_url = other.url.replace("127.0.0.1", "localhost") + "/cobee/api/v3/x"
        assert session.get(other_url).status_code == 401
        assert other.api_log("cobee")[0][2] is None
        # a redirect from the vendor to another host
        target = requests.utils.quote(other_url, safe="")
        response = session.get(f"/redirect?to={target}")
        assert response.status_code == 401
        assert [entry[2] for entry in other.api_log("cobee")] == [None, None]
        assert fake_vendor.counts("cobee").token_requests == 1


def test_token_scoped_when_auth_used_without_factory(fake_vendor: FakeVendors) -> None:
    auth = fake_vendor.auth("sohar")
    assert (
        requests.get(fake_vendor.base_url("sohar") + "/x", auth=auth, timeout=5).status_code == 200
    )
    with FakeVendors() as other:
        requests.get(other.base_url("sohar") + "/x", auth=auth, timeout=5)
        assert other.api_log("sohar")[0][2] is None


@pytest.mark.parametrize(
    "url", ["http://api.example.com", "http://10.0.0.1/api", "ftp://x.example.com", "example.com"]
)
def test_insecure_base_url_refused_before_io(url: str) -> None:
    with pytest.raises(ConfigurationError, match="base URL"):
        auth_sessions.CobeeAuth("id", "secret", base_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9", "https://x.example.com"]
)
def test_loopback_http_and_https_allowed(url: str) -> None:
    assert auth_sessions.SoharAuth("id", "secret", base_url=url).base_url == url


def test_invalid_credentials_message(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("orum", client_secret="wrong-secret-value")
    with pytest.raises(InvalidCredentials) as info:
        session.get("/x")
    message = str(info.value)
    assert "orum" in message and fake_vendor.token_url("orum") in message and "401" in message
    assert "invalid client credentials" in message
    assert "wrong-secret-value" not in message + repr(info.value)
    assert info.value.status_code == 401
    assert isinstance(info.value, requests.RequestException)
    assert fake_vendor.counts("orum").token_requests == 1  # never retried


def test_token_endpoint_error_after_retries(fake_vendor: FakeVendors) -> None:
    fake_vendor.inject_token_fault("cobee", "status", status=503, count=10)
    with pytest.raises(TokenEndpointError) as info:
        fake_vendor.session("cobee", retry=NO_WAIT).get("/x")
    assert info.value.status_code == 503
    assert "503" in str(info.value) and "cobee" in str(info.value)
    assert fake_vendor.counts("cobee").token_requests == 3  # first try + 2 retries


def test_token_endpoint_recovers_within_retries(fake_vendor: FakeVendors) -> None:
    fake_vendor.inject_token_fault("sohar", "status", status=429, retry_after="0", count=2)
    assert fake_vendor.session("sohar", retry=NO_WAIT).get("/x").status_code == 200
    assert fake_vendor.counts("sohar").token_requests == 3


def test_network_error_is_token_endpoint_error() -> None:
    with FakeVendors() as fake:
        kwargs = fake.session_kwargs("sohar", retry=NO_WAIT)
    # the server is gone: connection refused
    with pytest.raises(TokenEndpointError) as info:
        auth_sessions.for_vendor("sohar", **kwargs).get("/x")
    assert info.value.status_code is None


def test_token_response_error(fake_vendor: FakeVendors) -> None:
    fake_vendor.inject_token_fault("manis", "invalid_json")
    with pytest.raises(TokenResponseError, match="not JSON"):
        fake_vendor.session("manis").get("/x")
    fake_vendor.inject_token_fault("manis", "missing_field")
    with pytest.raises(TokenResponseError, match="'token'"):
        fake_vendor.session("manis").get("/x")
    fake_vendor.inject_token_fault("manis", "huge")
    with pytest.raises(TokenResponseError, match="over 1048576 bytes"):
        fake_vendor.session("manis").get("/x")


def test_unknown_vendor_lists_known() -> None:
    with pytest.raises(ConfigurationError) as info:
        auth_sessions.for_vendor("nope", client_id="a", client_secret="b")
    assert "known vendors: cair, cobee, manis, oauth2, orum, sohar" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_credentials_from_env(fake_vendor: FakeVendors, monkeypatch: pytest.MonkeyPatch) -> None:
    client_id, secret = fake_vendor.credentials("cobee")
    monkeypatch.setenv("COBEE_CLIENT_ID", client_id)
    monkeypatch.setenv("COBEE_CLIENT_SECRET", secret)
    monkeypatch.setenv("COBEE_BASE_URL", fake_vendor.base_url("cobee"))
    session = auth_sessions.for_vendor("COBEE", token_store=fake_vendor.store)
    assert session.base_url == fake_vendor.base_url("cobee")
    assert session.get("/employees").status_code == 200
    monkeypatch.setenv("COBEE_ENVIRONMENT", "sandbox")
    monkeypatch.delenv("COBEE_BASE_URL")
    assert auth_sessions.for_vendor("cobee").base_url == "https://pre-partners-api.cobee.io/api/v3"
    # explicit arguments win
    assert auth_sessions.for_vendor("cobee", client_id="other").auth.client_id == "other"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SOHAR_CLIENT_ID", "sohar: no client id: pass client_id= or set SOHAR_CLIENT_ID"),
        (
            "SOHAR_CLIENT_SECRET",
            "sohar: no client secret: pass client_secret= or set SOHAR_CLIENT_SECRET",
        ),
    ],
)
def test_missing_env_var_message(
    monkeypatch: pytest.MonkeyPatch, missing: str, message: str
) -> None:
    monkeypatch.setenv("SOHAR_CLIENT_ID", "id")
    monkeypatch.setenv("SOHAR_CLIENT_SECRET", "s3cr3t-value")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigurationError) as info:
        auth_sessions.for_vendor("sohar")
    assert str(info.value) == message


def test_unknown_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        ConfigurationError,
        match="unknown environment 'staging'; choose one of: production, sandbox "
        r"\(chosen by environment=\)",
    ):
        auth_sessions.for_vendor("orum", client_id="a", client_secret="b", environment="staging")


def test_logging_names_events_without_secrets(
    fake_vendor: FakeVendors, caplog: pytest.LogCaptureFixture
) -> None:
    session = fake_vendor.session("cair")
    with caplog.at_level(logging.DEBUG):
        session.get("/warm")
        fake_vendor.fail_api_calls("cair", 1)
        session.get("/again")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "cair: token fetched for client cair-client" in text
    assert "invalidated after a 401" in text
    assert "replaying GET /cair/again" in text
    for secret in fake_vendor.issued_secrets():
        assert secret not in text
    assert json.dumps(repr(session)).find("secret") == -1
