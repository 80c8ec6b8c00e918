"""Cobee: the /api/v3 prefix and 429 with Retry-After."""

from __future__ import annotations

from auth_sessions import RetryPolicy


def test_prefix_kept_for_relative_urls(fake_vendor) -> None:  # type: ignore[no-untyped-def]
    session = fake_vendor.session("cobee")
    assert session.base_url.endswith("/cobee/api/v3")
    assert session.get("/employees").status_code == 200
    assert session.get("employees/7").status_code == 200
    assert [entry[1] for entry in fake_vendor.api_log("cobee")] == ["/employees", "/employees/7"]


def test_429_with_retry_after_honoured(fake_vendor) -> None:  # type: ignore[no-untyped-def]
    fake_vendor.inject_token_fault("cobee", "status", status=429, retry_after="0")
    session = fake_vendor.session("cobee", retry=RetryPolicy(backoff_factor=0, max_retry_after=1))
    assert session.get("/employees").status_code == 200
    assert fake_vendor.counts("cobee").token_requests == 2


def test_429_error_text(fake_vendor) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from auth_sessions import TokenEndpointError

    fake_vendor.inject_token_fault("cobee", "status", status=429, retry_after="0", count=5)
    with pytest.raises(TokenEndpointError, match="429: rate_limited: injected fault"):
        fake_vendor.session(
            "cobee", retry=RetryPolicy(total=1, backoff_factor=0, max_retry_after=0)
        ).get("/x")
