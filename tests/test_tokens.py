"""The token value and the Secret wrapper: pure unit tests."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import datetime

import pytest

from auth_sessions import Secret, Token


def test_secret_never_formats_itself() -> None:
    secret = Secret("hunter2-very-secret")
    for text in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        "%s" % (secret,),  # noqa: UP031 - the old formatting path too
        str([secret]),
    ):
        assert "hunter2" not in text
    assert secret.reveal() == "hunter2-very-secret"
    assert secret == Secret("hunter2-very-secret") and secret != Secret("other")
    assert pickle.loads(pickle.dumps(secret)) == secret
    with pytest.raises(AttributeError):
        secret._value = "x"  # type: ignore[misc]


def test_token_is_immutable_and_redacted() -> None:
    token = Token.create("at-123456", expires_ts=1000.0, issued_ts=900.0, refresh_token="rt-654321")
    assert "at-123456" not in repr(token) and "rt-654321" not in repr(token)
    with pytest.raises(dataclasses.FrozenInstanceError):
        token.token_type = "x"  # type: ignore[misc]
    assert token.expires_at.tzinfo is not None and token.expires_at.utcoffset().total_seconds() == 0
    assert token.lifetime == 100.0


def test_usable_with_leeway() -> None:
    token = Token.create("at", expires_ts=1000.0, issued_ts=900.0)
    assert token.usable(989.0, leeway=10)
    assert not token.usable(990.0, leeway=10)
    assert token.usable(999.9) and not token.usable(1000.0)


def test_refresh_usable_and_store_lifetime() -> None:
    token = Token.create(
        "at", expires_ts=1000.0, issued_ts=900.0, refresh_token="rt", refresh_expires_ts=5000.0
    )
    assert token.refresh_usable(4999.0) and not token.refresh_usable(5000.0)
    assert token.keep_until == 5000.0
    assert not Token.create("at", expires_ts=1000.0, issued_ts=900.0).refresh_usable(0)


def test_naive_datetime_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Token(Secret("a"), "Bearer", datetime(2030, 1, 1), datetime(2029, 1, 1))
