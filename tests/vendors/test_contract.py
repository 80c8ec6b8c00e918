"""The contract every vendor honours, run for each one against its fake."""

from __future__ import annotations

import logging

import pytest

import auth_sessions
from auth_sessions import InvalidCredentials, TokenAuth, TokenEndpointError, TokenResponseError
from auth_sessions.testing import FakeVendors

from ..conftest import NO_WAIT, PUBLISHED, VENDORS

ERROR_TEXT = {
    "sohar": "invalid_request_error",
    "cair": "invalid client credentials",
    "orum": "unauthorized: invalid client credentials",
    "cobee": "Unauthorized",
    "manis": "invalid client credentials",
    "oauth2": "invalid_client: invalid client credentials",
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_happy_path(fake_vendor: FakeVendors, vendor: str) -> None:
    session = fake_vendor.session(vendor)
    assert isinstance(session.auth, TokenAuth)
    assert session.vendor == vendor
    response = session.get("/resource")
    assert response.status_code == 200
    assert response.json()["path"] == "/resource"
    header = fake_vendor.api_log(vendor)[0][2]
    assert header is not None and header.startswith("Bearer ")
    token = session.auth.get_token()
    assert 3590 < token.lifetime <= 3600.5
    counts = fake_vendor.counts(vendor)
    assert (counts.token_requests, counts.token_rejected) == (1, 0)


@pytest.mark.parametrize("vendor", VENDORS)
def test_wrong_secret_names_vendor_text(fake_vendor: FakeVendors, vendor: str) -> None:
    session = fake_vendor.session(vendor, client_secret="definitely-wrong-secret")
    with pytest.raises(InvalidCredentials) as info:
        session.get("/resource")
    message = str(info.value)
    assert message.startswith(
        f"{vendor}: token endpoint {fake_vendor.token_url(vendor)} answered 401"
    )
    assert ERROR_TEXT[vendor] in message
    assert "definitely-wrong-secret" not in message
    assert fake_vendor.counts(vendor).token_requests == 1


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("status", [400, 401, 403])
def test_refusals_never_retried(fake_vendor: FakeVendors, vendor: str, status: int) -> None:
    fake_vendor.inject_token_fault(vendor, "status", status=status)
    with pytest.raises(InvalidCredentials):
        fake_vendor.session(vendor).get("/x")
    assert fake_vendor.counts(vendor).token_requests == 1


@pytest.mark.parametrize("vendor", VENDORS)
def test_transient_errors_retried(fake_vendor: FakeVendors, vendor: str) -> None:
    fake_vendor.inject_token_fault(vendor, "status", status=502)
    fake_vendor.inject_token_fault(vendor, "drop")
    assert fake_vendor.session(vendor, retry=NO_WAIT).get("/x").status_code == 200
    assert fake_vendor.counts(vendor).token_requests == 3


@pytest.mark.parametrize("vendor", VENDORS)
def test_unexpected_error_shape_survives(fake_vendor: FakeVendors, vendor: str) -> None:
    fake_vendor.inject_token_fault(vendor, "status", status=500, count=5)
    with pytest.raises(TokenEndpointError, match="answered 500: "):
        fake_vendor.session(vendor, retry=NO_WAIT).get("/x")


@pytest.mark.parametrize("vendor", VENDORS)
def test_non_json_success_is_token_response_error(fake_vendor: FakeVendors, vendor: str) -> None:
    fake_vendor.inject_token_fault(vendor, "html")
    with pytest.raises(TokenResponseError, match=r"not JSON \(text/html"):
        fake_vendor.session(vendor).get("/x")


@pytest.mark.parametrize("vendor", VENDORS)
def test_no_secret_in_any_log_record(
    fake_vendor: FakeVendors, vendor: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):  # every logger, dependencies included
        session = fake_vendor.session(vendor)
        session.get("/a")
        fake_vendor.fail_api_calls(vendor, 1)
        session.post("/b", json={"x": 1})
        with pytest.raises(InvalidCredentials) as info:
            fake_vendor.session(vendor, client_secret="wrong-but-secret").get("/c")
    text = "\n".join(r.getMessage() for r in caplog.records)
    text += repr(session) + repr(session.auth) + repr(session.auth.get_token()) + str(info.value)
    assert text.count("token fetched") >= 1
    for secret in fake_vendor.issued_secrets() | {"wrong-but-secret"}:
        assert secret not in text


@pytest.mark.parametrize("vendor", PUBLISHED)
def test_published_base_urls(vendor: str) -> None:
    cls = auth_sessions.vendor_class(vendor)
    for environment, url in cls.environments.items():
        if url:
            auth = cls("id", "secret", environment=environment)
            assert auth.base_url == url
            assert auth.token_url == url + cls.wire.token_path
