"""API-call rate limits: 429/503 retried for idempotent methods through urllib3's Retry."""

from __future__ import annotations

from dataclasses import replace

import pytest

import auth_sessions
from auth_sessions import API_RETRIES, ConfigurationError, RetryPolicy
from auth_sessions._http import parse_delay
from auth_sessions.testing import FakeVendors
from auth_sessions.testing._vendors import SPECS

from .conftest import VENDORS

# one vendor for each delay header the vendors use (Retry-After, Orum's X-Retry-In)
BY_HEADER = {SPECS[v].retry_header: v for v in reversed(VENDORS)}

QUICK = replace(API_RETRIES, backoff_factor=0.0)


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
def test_idempotent_methods_retried(fake_vendor: FakeVendors, status: int, method: str) -> None:
    session = fake_vendor.session("cobee", retries=QUICK)
    session.get("/warm")
    fake_vendor.fail_api_calls("cobee", 2, status=status, retry_after="0")
    assert session.request(method, "/employees").status_code == 200
    assert fake_vendor.counts("cobee").api_calls == 1 + 3


@pytest.mark.parametrize("vendor", sorted(BY_HEADER.values()))
def test_the_retry_waits_as_long_as_the_vendor_asks(fake_vendor: FakeVendors, vendor: str) -> None:
    session = fake_vendor.session(vendor)  # the default policy: its first backoff is 0 s
    session.get("/warm")
    fake_vendor.fail_api_calls(vendor, 1, status=429, retry_after="1")  # in its own header
    assert session.get("/x").status_code == 200
    refused, retried = fake_vendor.api_times(vendor)[-2:]
    assert retried - refused >= 0.9


def test_post_not_retried_unless_opted_in(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("orum", retries=QUICK)
    session.get("/warm")
    fake_vendor.fail_api_calls("orum", 1, status=429, retry_after="0")
    assert session.post("/transfers", json={"a": 1}).status_code == 429
    assert fake_vendor.counts("orum").api_calls == 2
    opted = fake_vendor.session("orum", retries=replace(QUICK, methods=QUICK.methods | {"POST"}))
    fake_vendor.fail_api_calls("orum", 1, status=429, retry_after="0")
    assert opted.post("/transfers", json={"a": 1}).status_code == 200
    assert fake_vendor.counts("orum").api_calls == 4


def test_bounded_then_answer_returned(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("cobee", retries=QUICK)
    session.get("/warm")
    fake_vendor.fail_api_calls("cobee", 50, status=503)
    response = session.get("/employees")
    assert response.status_code == 503
    assert fake_vendor.counts("cobee").api_calls == 1 + 1 + QUICK.total


@pytest.mark.parametrize("off", [None, 0, RetryPolicy(total=0)])
def test_switchable_off(fake_vendor: FakeVendors, off: object) -> None:
    session = fake_vendor.session("cobee", retries=off)
    assert session.retries is None
    session.get("/warm")
    fake_vendor.fail_api_calls("cobee", 1, status=429, retry_after="0")
    assert session.get("/employees").status_code == 429
    assert fake_vendor.counts("cobee").api_calls == 2


def test_count_sets_total(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("sohar", retries=1)
    assert session.retries is not None and session.retries.total == 1
    with pytest.raises(ConfigurationError, match="retries must be"):
        fake_vendor.session("sohar", retries="lots")


def test_on_by_default_and_conservative() -> None:
    session = auth_sessions.for_vendor("cobee", client_id="a", client_secret="b")
    assert session.retries == API_RETRIES
    assert API_RETRIES.total <= 3 and API_RETRIES.max_retry_after <= 5
    assert "POST" not in API_RETRIES.methods and "PATCH" not in API_RETRIES.methods
    assert set(API_RETRIES.status_forcelist) == {429, 503}


def test_retry_after_capped_on_api_calls(fake_vendor: FakeVendors) -> None:
    policy = replace(QUICK, max_retry_after=0.0)  # a one-hour Retry-After is not obeyed
    session = fake_vendor.session("cobee", retries=policy)
    session.get("/warm")
    fake_vendor.fail_api_calls("cobee", 1, status=429, retry_after="3600")
    assert session.get("/employees").status_code == 200


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        ("1.5", 1.5),
        ("250ms", 0.25),
        ("3s", 3.0),
        (None, None),
        ("soon", None),
        ("-1", None),
    ],
)
def test_orum_retry_in(header: object, seconds: object) -> None:
    assert parse_delay(header) == seconds  # type: ignore[arg-type]
