"""URL joining, origins and the https rule."""

from __future__ import annotations

import pytest

from auth_sessions._urls import is_loopback, join_url, origin, origin_prefix

BASE = "https://partners-api.cobee.io/api/v3"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/employees", BASE + "/employees"),
        ("employees", BASE + "/employees"),
        ("employees?x=1", BASE + "/employees?x=1"),
        ("", BASE),
        ("?page=2", BASE + "?page=2"),
        ("https://other.example.com/x", "https://other.example.com/x"),
        ("HTTP://x.example.com", "HTTP://x.example.com"),
    ],
)
def test_join_keeps_prefix(url: str, expected: str) -> None:
    assert join_url(BASE, url) == expected
    assert join_url(BASE + "/", url) == expected


def test_origin_normalises() -> None:
    assert origin("HTTPS://API.Example.com/x") == ("https", "api.example.com", 443)
    assert origin("https://api.example.com:443/x") == origin("https://api.example.com/y")
    assert origin("http://127.0.0.1:8080") == ("http", "127.0.0.1", 8080)
    assert origin_prefix("https://h.example.com:443/api") == "https://h.example.com/"
    assert origin_prefix("http://[::1]:81/") == "http://[::1]:81/"


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "a.localhost"]
)
def test_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["example.com", "10.0.0.1", "192.168.1.1", "localhost.example.com", "::2"]
)
def test_not_loopback(host: str) -> None:
    assert not is_loopback(host)
