"""Errors a person can act on — and that carry no secret anywhere in their chains: causes in
words, URLs without query string or userinfo, credentials and options checked up front."""

from __future__ import annotations

import base64
import socket
import threading
from typing import Any, Callable, Iterator, List, Set, Tuple
from urllib.parse import quote, quote_plus

import pytest

import auth_sessions
from auth_sessions import (
    AuthError,
    ConfigurationError,
    InvalidCredentials,
    RetryPolicy,
    TokenEndpointError,
)
from auth_sessions.testing import FakeVendors, ManualClock

from .conftest import VENDORS

NO_RETRY = RetryPolicy(total=0)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _strings(obj: Any, seen: Set[int], depth: int = 0) -> Iterator[str]:
    """Every string reachable from an exception: message, args, cause, context, attributes
    (and the attributes of what those hold: a requests exception holds its request)."""
    if id(obj) in seen or depth > 8 or obj is None:
        return
    seen.add(id(obj))
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, (bytes, bytearray)):
        yield bytes(obj).decode("latin-1")
    elif isinstance(obj, BaseException):
        yield str(obj)
        yield repr(obj)
        for part in (obj.__cause__, obj.__context__, obj.args, vars(obj)):
            yield from _strings(part, seen, depth + 1)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _strings(key, seen, depth + 1)
            yield from _strings(value, seen, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            yield from _strings(item, seen, depth + 1)
    elif hasattr(obj, "__dict__") and not callable(obj):
        yield from _strings(vars(obj), seen, depth + 1)


def _forms(client_id: str, secret: str) -> Set[str]:
    """A secret as it may show up: as is, form-encoded, and inside HTTP Basic credentials."""
    basic = [f"{client_id}:{secret}", f"{quote(client_id, safe='')}:{quote(secret, safe='')}"]
    return {secret, quote(secret, safe=""), quote_plus(secret)} | {
        base64.b64encode(pair.encode()).decode() for pair in basic
    }


def _failures(fake: FakeVendors, vendor: str) -> List[BaseException]:
    client_id, secret = fake.credentials(vendor)
    found: List[BaseException] = []

    def collect(call: Callable[[], Any]) -> None:
        try:
            call()
        except (AuthError, ValueError) as exc:
            found.append(exc)

    echo = {
        "message": f"bad secret {secret} / {quote_plus(secret)} / "
        f"{base64.b64encode(f'{client_id}:{secret}'.encode()).decode()}",
        "error": "invalid_client",
    }
    fake.inject_token_fault(vendor, "status", status=401, body=echo, count=3)
    session = fake.session(vendor, retry=NO_RETRY)
    collect(lambda: session.get("/refused"))
    collect(lambda: session.get("/held-back"))  # from failure memory: a copy
    for kind in ("invalid_json", "html", "missing_field", "huge"):
        fake.inject_token_fault(vendor, kind)
        collect(lambda: fake.session(vendor, token_store=None, retry=NO_RETRY).get("/x"))
    gate = threading.Event()
    fake.inject_token_fault(vendor, "hold", gate=gate)
    hung = fake.session(vendor, token_store=None, retry=NO_RETRY, token_timeout=(1.0, 0.2))
    collect(lambda: hung.get("/hung"))
    gate.set()
    if vendor != "oauth2":
        refused = f"http://127.0.0.1:{_closed_port()}"
        collect(lambda: auth_sessions.for_vendor(
            vendor, client_id, secret, base_url=refused, retries=None, retry=NO_RETRY
        ).get("/x"))  # fmt: skip
        for bad in (secret + "\n", " " + secret, secret + "\x00x", secret + "é€"):
            collect(lambda bad=bad: fake.session(vendor, client_secret=bad))
    return found


@pytest.mark.parametrize("vendor", VENDORS)
def test_no_secret_anywhere_in_exception_chains(fake_vendor: FakeVendors, vendor: str) -> None:
    failures = _failures(fake_vendor, vendor)
    assert len(failures) >= 7
    client_id, secret = fake_vendor.credentials(vendor)
    secrets = _forms(client_id, secret) | fake_vendor.issued_secrets()
    for exc in failures:
        text = "\n".join(_strings(exc, set()))
        assert not [s for s in secrets if s in text], (type(exc).__name__, str(exc))


def test_causes_in_words(fake_vendor: FakeVendors) -> None:
    refused = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(TokenEndpointError, match="unreachable: connection refused"):
        auth_sessions.for_vendor("sohar", "id", "secret", base_url=refused, retry=NO_RETRY).get("/")
    auth = auth_sessions.OAuth2Auth(
        "id", "secret", token_url="https://auth-sessions-test.invalid/token", retry=NO_RETRY,
        token_deadline=5,
    )  # fmt: skip
    with pytest.raises(TokenEndpointError, match="unreachable: name not resolved"):
        auth.get_token()


def test_urls_shown_without_userinfo_or_query(fake_vendor: FakeVendors) -> None:
    port = _closed_port()
    auth = auth_sessions.OAuth2Auth(
        "id", "secret", token_url=f"http://user:pa55@127.0.0.1:{port}/token?api-key=K3Y",
        retry=NO_RETRY,
    )  # fmt: skip
    with pytest.raises(TokenEndpointError) as caught:
        auth.get_token()
    text = "\n".join(_strings(caught.value, set()))
    assert f"http://127.0.0.1:{port}/token" in str(caught.value)
    assert "pa55" not in text and "K3Y" not in text and "user:" not in text


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        ("s3cret\n", "has leading or trailing whitespace"),
        (" s3cret", "has leading or trailing whitespace"),
        ("s3c\x07ret", "contains a control character"),
    ],
)
def test_credentials_checked_at_construction(
    monkeypatch: pytest.MonkeyPatch, secret: str, words: str
) -> None:
    monkeypatch.setenv("COBEE_CLIENT_ID", "id")
    monkeypatch.setenv("COBEE_CLIENT_SECRET", secret)
    with pytest.raises(ConfigurationError, match=f"COBEE_CLIENT_SECRET {words}") as caught:
        auth_sessions.for_vendor("cobee")
    assert secret.strip() not in "\n".join(_strings(caught.value, set()))
    with pytest.raises(ConfigurationError, match=f"client_secret {words}"):
        auth_sessions.CobeeAuth("id", secret)


def test_header_vendors_refuse_what_a_header_cannot_carry() -> None:
    with pytest.raises(ConfigurationError, match="client_secret has characters an HTTP header"):
        auth_sessions.ManisAuth("merchant", "sécrèt€", base_url="https://manis.example")
    auth_sessions.CobeeAuth("id", "sécrèt€")  # a JSON body carries anything


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout", "10"),
        ("timeout", float("inf")),
        ("timeout", -1),
        ("retries", 5.5),
        ("retries", "3"),
        ("leeway", "60"),
        ("leeway", -1),
        ("token_timeout", 0),
        ("retry", 5),
        ("token_deadline", float("nan")),
        ("cooldown", "60"),
        ("background", "yes"),
        ("headers", ["Orum-Version"]),
        ("token_store", "redis://localhost"),
        ("clock", 12.0),
        ("token_session", "session"),
        ("environment", 3),
        ("base_url", 3),
    ],
)
def test_every_option_checked_at_construction(option: str, value: Any) -> None:
    name = option.replace("_", r"[_ ]")
    with pytest.raises(ConfigurationError, match=f"cobee: .*{name}"):
        auth_sessions.for_vendor("cobee", "id", "secret", **{option: value})


def test_invalid_credentials_repeat_is_the_same_error(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("manis", client_secret="wrong-secret-123")
    errors = []
    for _ in range(2):
        with pytest.raises(InvalidCredentials) as caught:
            session.get("/x")
        errors.append(caught.value)
    assert errors[0].status_code == errors[1].status_code == 401
    assert str(errors[1]).split(" [")[0] == str(errors[0]).split(" [")[0]


def test_clearing_a_store_reaches_open_sessions(fake_vendor: FakeVendors) -> None:
    auth_sessions.default_store.clear()
    session = fake_vendor.session("sohar", token_store=None)
    session.get("/a")
    auth_sessions.default_store.clear()
    session.get("/b")
    assert fake_vendor.counts("sohar").token_requests == 2


@pytest.mark.parametrize(
    "cls",
    [auth_sessions.AuthError, ConfigurationError, InvalidCredentials, TokenEndpointError,
     auth_sessions.TokenResponseError, auth_sessions.TokenTimeout],
)  # fmt: skip
def test_errors_pickle_and_copy_with_every_attribute(cls: Any) -> None:
    import pickle

    error = cls("v: it failed", vendor="v", url="https://t.example/token", status_code=503,
                retry_at=1.8e9, retry_after=42.0)  # fmt: skip
    for clone in (pickle.loads(pickle.dumps(error)), error.copy()):
        assert type(clone) is cls and str(clone) == "v: it failed"
        assert (clone.vendor, clone.url, clone.status_code, clone.retry_at, clone.retry_after) == (
            "v", "https://t.example/token", 503, 1.8e9, 42.0)  # fmt: skip


def test_a_token_a_header_cannot_carry_never_goes_out(fake_vendor: FakeVendors) -> None:
    body = {"access_token": "zq9\r\nX-Injected: yes", "token_type": "Bearer", "expires_in": 60}
    fake_vendor.inject_token_fault("sohar", "body", body=body)
    session = fake_vendor.session("sohar")
    with pytest.raises(auth_sessions.TokenResponseError, match="cannot carry") as caught:
        session.get("/claims")
    assert "zq9" not in str(caught.value)
    assert fake_vendor.counts("sohar").api_calls == 0  # nothing was sent with it
    assert session.get("/claims").status_code == 200  # and nothing of it was kept


def test_no_repr_shows_the_userinfo_of_a_base_url() -> None:
    session = auth_sessions.for_vendor(
        "cobee", "id", "secret", base_url="https://user:pa55word@partners.example/api/v3"
    )
    for shown in (repr(session), repr(session.auth)):
        assert "pa55word" not in shown and "partners.example/api/v3" in shown


def test_a_clock_stepping_back_does_not_stretch_a_cooldown(
    clocked: Tuple[FakeVendors, ManualClock],
) -> None:
    """A 60 s cooldown learned before the wall clock stepped back an hour holds for 60 s on
    the monotonic clock: not 3,660 s, and not cut short by the step either."""
    fake, clock = clocked
    steady = ManualClock(start=1000.0)  # the monotonic clock, moved only when told
    session = fake.session("orum", client_secret="wrong-secret-123", monotonic=steady)
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            session.get("/x")
    assert fake.counts("orum").token_requests == 1  # the second call was held back
    clock.advance(-3600.0)  # an NTP step, a VM resumed from an old snapshot...
    steady.advance(59.0)
    with pytest.raises(InvalidCredentials) as held:
        session.get("/x")
    assert fake.counts("orum").token_requests == 1  # still held: 59 of its 60 s have passed
    assert "in 1s" in str(held.value)  # what is left, on the monotonic clock
    steady.advance(2.0)
    with pytest.raises(InvalidCredentials):
        session.get("/x")
    assert fake.counts("orum").token_requests == 2  # tried again after 60 s, not an hour
