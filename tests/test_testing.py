"""The fake vendors themselves: spec validation, controls, clean shutdown, the pytest plugin."""

from __future__ import annotations

import contextlib
import threading

import pytest
import requests

from auth_sessions import TokenEndpointError, TokenResponseError
from auth_sessions.testing import FakeVendors

pytest_plugins = ["pytester"]


def post(fake: FakeVendors, vendor: str, **kwargs):  # type: ignore[no-untyped-def]
    return requests.post(fake.token_url(vendor), timeout=5, **kwargs)


def test_token_endpoints_validate_exactly(fake_vendor: FakeVendors) -> None:
    cid, secret = fake_vendor.credentials("cobee")
    assert (
        post(fake_vendor, "cobee", json={"clientId": cid, "clientSecret": secret}).status_code
        == 200
    )
    missing = post(fake_vendor, "cobee", json={"clientId": cid})
    assert missing.status_code == 400 and missing.json()["code"] == "validation_error"
    assert (
        post(
            fake_vendor, "cobee", json={"clientId": cid, "clientSecret": secret, "x": 1}
        ).status_code
        == 400
    )
    assert (
        post(fake_vendor, "cobee", data={"clientId": cid, "clientSecret": secret}).status_code
        == 400
    )
    assert (
        post(
            fake_vendor,
            "cobee",
            json={"clientId": cid, "clientSecret": secret},
            headers={"Authorization": "Bearer x"},
        ).status_code
        == 400
    )
    assert requests.get(fake_vendor.token_url("cobee"), timeout=5).status_code == 405
    mid, msecret = fake_vendor.credentials("manis")
    headers = {"x-merchant-id": mid, "x-secret": msecret}
    assert post(fake_vendor, "manis", headers=headers).status_code == 200
    assert post(fake_vendor, "manis", headers=headers, data=b"{}").status_code == 400
    problem = post(fake_vendor, "manis", headers={"x-merchant-id": mid})
    assert problem.status_code == 400 and problem.json()["title"] == "Bad Request"
    orum = post(fake_vendor, "orum", json={"client_secret": "x"})
    assert orum.json() == {
        "error_code": "missing_client_id",
        "message": "client_id is required",
        "details": None,
    }
    assert fake_vendor.counts("cobee").token_rejected == 4


def test_api_needs_live_bearer(fake_vendor: FakeVendors) -> None:
    url = fake_vendor.base_url("sohar") + "/x"
    assert requests.get(url, timeout=5).status_code == 401
    assert (
        requests.get(url, headers={"Authorization": "Bearer made-up"}, timeout=5).status_code == 401
    )
    assert fake_vendor.counts("sohar").unauthorized == 2


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("empty", TokenResponseError),
        ("not_object", TokenResponseError),
        ("drop_mid", TokenEndpointError),
    ],
)
def test_remaining_faults(fake_vendor: FakeVendors, kind: str, error: type) -> None:
    from auth_sessions import RetryPolicy

    fake_vendor.inject_token_fault("sohar", kind)
    with pytest.raises(error):
        fake_vendor.session("sohar", retry=RetryPolicy(total=0)).get("/x")
    assert fake_vendor.counts("sohar").token_requests == 1


def test_unknown_fault_and_vendor_refused(fake_vendor: FakeVendors) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        fake_vendor.inject_token_fault("sohar", "gremlins")
    with pytest.raises(ValueError, match="unknown fake vendor"):
        fake_vendor.counts("acme")


def test_reset_counts(fake_vendor: FakeVendors) -> None:
    fake_vendor.session("sohar").get("/x")
    fake_vendor.reset_counts()
    assert fake_vendor.counts("sohar").api_calls == 0


def test_stop_leaves_no_threads() -> None:
    before = set(threading.enumerate())
    fake = FakeVendors().start()
    session = fake.session("cobee")
    for _ in range(3):
        session.get("/x")  # keep-alive connection left open on purpose
    gate, arrived = threading.Event(), threading.Event()
    fake.inject_token_fault("sohar", "hold", gate=gate, arrived=arrived)  # never opened

    def wait_for_token() -> None:
        # the server goes away mid-request, as intended
        with contextlib.suppress(requests.RequestException):
            requests.post(fake.token_url("sohar"), timeout=60)

    waiter = threading.Thread(target=wait_for_token)
    waiter.start()
    assert arrived.wait(30)  # the held request is being served
    fake.stop()
    waiter.join()
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(RuntimeError, match="not running"):
        fake.url  # noqa: B018
    session.close()


def test_plugin_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_user_code(fake_vendor):
            session = fake_vendor.session("cobee")
            assert session.get("/employees").status_code == 200
            fake_vendor.fail_api_calls("cobee", 1)
            assert session.get("/employees").status_code == 200
            assert fake_vendor.counts("cobee").token_requests == 2
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
