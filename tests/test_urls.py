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


def test_an_internationalised_base_url_gets_its_token() -> None:
    """requests sends ``bücher.example`` as ``xn--bcher-kva.example``: the origin check
    compares the ASCII forms, so the token goes to the vendor's own host (and only there)."""
    import time

    import requests

    from auth_sessions import MemoryTokenStore, Token, for_vendor

    store = MemoryTokenStore()
    base = "https://bücher.example/api"
    session = for_vendor(
        "cobee", client_id="id", client_secret="secret-1", base_url=base, token_store=store
    )
    token = Token.create("tok-idn", expires_ts=time.time() + 3600, issued_ts=time.time())
    store.put(session.auth.store_key, token)
    prepared = session.prepare_request(requests.Request("GET", "https://bücher.example/api/x"))
    assert prepared.url is not None and prepared.url.startswith("https://xn--bcher-kva.example/")
    session.auth(prepared)
    assert prepared.headers["Authorization"] == "Bearer tok-idn"
    elsewhere = requests.Request("GET", "https://xn--bcher-kva.example.evil/x").prepare()
    assert "Authorization" not in session.auth(elsewhere).headers
    assert origin("https://Bücher.Example:443/") == ("https", "xn--bcher-kva.example", 443)
