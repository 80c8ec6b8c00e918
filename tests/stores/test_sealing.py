"""Sealed stores: entries encrypted at rest in Redis and in the token file (API.md section 10).

Every test looks at what really lands in a real redis-server (``SCAN`` + ``GET``/``DUMP``) or
in the file's bytes, and counts token requests and refused tokens at the fake.
"""

from __future__ import annotations

import base64
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import pytest

import auth_sessions
from auth_sessions import (
    ConfigurationError,
    Event,
    FileTokenStore,
    RedisTokenStore,
    generate_store_key,
    subscribe,
)
from auth_sessions.testing import FakeVendors, ManualClock

A, B = generate_store_key(), generate_store_key()

Opener = Callable[..., Any]


@pytest.fixture(params=["redis", "file"])
def opener(request: pytest.FixtureRequest, tmp_path: Path, prefix: str) -> Opener:
    """Opens a store on one shared place (a Redis prefix, or a token file) with the keys
    given: each call is another store object, as another process would have."""
    if request.param == "file":
        return lambda **kw: FileTokenStore(tmp_path / "tokens.json", **kw)
    url = request.getfixturevalue("redis_server").url
    return lambda **kw: RedisTokenStore(url, prefix=prefix, **kw)


@pytest.fixture
def rejected() -> Iterator[List[Event]]:
    seen: List[Event] = []
    unsubscribe = subscribe(lambda e: seen.append(e) if e.kind == "store_entry_rejected" else None)
    yield seen
    unsubscribe()


def _stored(store: Any) -> List[bytes]:
    """Every key name and value the store's place holds, as bytes."""
    if isinstance(store, FileTokenStore):
        return [store.path.read_bytes()]
    found: List[bytes] = []
    for name in store.client.scan_iter(match=store.prefix + "*"):
        found += [name, store.client.dump(name) or b""]
        if store.client.type(name) == b"string":
            found.append(store.client.get(name) or b"")
    return found


def test_a_sealed_store_shows_no_token_refresh_token_client_id_or_vendor(
    fake_vendor: FakeVendors, opener: Opener
) -> None:
    store = opener(encryption_keys=[A])
    session = fake_vendor.session("cair", token_store=store)
    assert session.get("/x").status_code == 200
    token = session.auth.get_token()
    refused = fake_vendor.session("cair", token_store=store, client_secret="wrong-secret-9")
    with pytest.raises(auth_sessions.InvalidCredentials):
        refused.get("/x")  # failure memory is written too
    client_id, secret = fake_vendor.credentials("cair")
    assert token.refresh_token is not None
    needles = [token.access_token.reveal(), token.refresh_token.reveal(), client_id, secret]
    needles += ["wrong-secret-9", "cair", "Cair"]
    stored = _stored(store)
    assert len(stored) >= 1
    hits = [n for n in needles for blob in stored if n.encode() in blob]
    assert hits == []
    plain = opener()  # the same place read without keys: nothing usable
    assert plain.get(session.auth.store_key) is None
    assert opener(encryption_keys=[A]).get(session.auth.store_key) == token  # and with them: all


def test_rotation_a_then_b_a_then_b_costs_no_token_request(
    clocked: Tuple[FakeVendors, ManualClock], opener: Opener
) -> None:
    fake, clock = clocked
    first = fake.session("cobee", token_store=opener(encryption_keys=[A], clock=clock))
    assert first.get("/x").status_code == 200
    both = fake.session("cobee", token_store=opener(encryption_keys=[B, A], clock=clock))
    assert both.get("/x").status_code == 200  # A's entry opens: no request
    assert fake.counts("cobee").token_requests == 1
    clock.advance(first.auth.get_token().lifetime + 1)
    assert both.get("/x").status_code == 200  # the renewal is written under B
    after = fake.session("cobee", token_store=opener(encryption_keys=[B], clock=clock))
    assert after.get("/x").status_code == 200
    assert fake.counts("cobee").token_requests == 2  # the natural renewal, nothing extra


def _flip(store: Any, key: str) -> None:
    """Flip one ciphertext byte of ``key``'s stored entry, in place."""
    if isinstance(store, FileTokenStore):
        import json

        data = json.loads(store.path.read_text())
        (name,) = [n for n in data if not n.startswith("failure|")]
        data[name]["sealed"] = _flipped(data[name]["sealed"])
        store.path.write_text(json.dumps(data))
        return
    name = store._key(key)
    store.client.set(name, _flipped(store.client.get(name).decode()), keepttl=True)


def _flipped(sealed: str) -> str:
    blob = bytearray(base64.urlsafe_b64decode(sealed[4:]))
    blob[-5] ^= 0x01
    return sealed[:4] + base64.urlsafe_b64encode(bytes(blob)).decode()


def test_a_tampered_entry_is_a_miss_never_sent(
    fake_vendor: FakeVendors, opener: Opener, rejected: List[Event]
) -> None:
    session = fake_vendor.session("orum", token_store=opener(encryption_keys=[A]))
    assert session.get("/x").status_code == 200
    _flip(opener(encryption_keys=[A]), session.auth.store_key)
    again = fake_vendor.session("orum", token_store=opener(encryption_keys=[A]))
    assert again.get("/x").status_code == 200
    counts = fake_vendor.counts("orum")
    assert (counts.token_requests, counts.unauthorized) == (2, 0)  # 1 new token, 0 garbled
    assert rejected and "did not open" in rejected[0].message
    rejected.clear()
    assert opener(encryption_keys=[A]).get(session.auth.store_key) is not None  # replaced
    assert rejected == []


def test_plaintext_from_before_sealing_is_a_miss_and_an_event(
    fake_vendor: FakeVendors, opener: Opener, rejected: List[Event]
) -> None:
    plain = fake_vendor.session("sohar", token_store=opener())
    assert plain.get("/x").status_code == 200
    sealed = fake_vendor.session("sohar", token_store=opener(encryption_keys=[A]))
    assert sealed.get("/x").status_code == 200
    assert fake_vendor.counts("sohar").token_requests == 2
    assert rejected and {e.kind for e in rejected} == {"store_entry_rejected"}
    assert opener(encryption_keys=[A]).get(sealed.auth.store_key) == sealed.auth.get_token()


def test_an_entry_moved_under_another_name_does_not_open(
    redis_server: Any, prefix: str, rejected: List[Event]
) -> None:
    store = RedisTokenStore(redis_server.url, prefix=prefix, encryption_keys=[A])
    token = auth_sessions.Token.create("tok-moved", expires_ts=4e9, issued_ts=1e9)
    store.put("one", token)
    store.client.set(store._key("two"), store.client.get(store._key("one")))
    assert store.get("two") is None and store.get("one") == token
    assert len(rejected) == 1


def test_keys_come_from_the_environment(
    opener: Opener, monkeypatch: pytest.MonkeyPatch, rejected: List[Event]
) -> None:
    monkeypatch.setenv("AUTH_SESSIONS_STORE_KEYS", f" {B} , {A} ")
    token = auth_sessions.Token.create("tok-env", expires_ts=4e9, issued_ts=1e9)
    env_store = opener()
    assert "sealed" in repr(env_store) and A not in repr(env_store) and B not in repr(env_store)
    env_store.put("k", token)
    assert opener(encryption_keys=[B]).get("k") == token  # sealed with the first
    assert opener(encryption_keys=[A]).get("k") is None
    monkeypatch.delenv("AUTH_SESSIONS_STORE_KEYS")
    assert opener().get("k") is None  # no keys here: a sealed entry is a miss, named
    assert "no AUTH_SESSIONS_STORE_KEYS" in rejected[-1].message


@pytest.mark.parametrize(
    "keys, words",
    [
        ([], "at least one key"),
        ("single-string", "at least one key"),
        (["c2hvcnQ="], "key 1 of encryption_keys= is not 32 bytes"),
        ([A, "!!not base64!!"], "key 2 of encryption_keys="),
        ([A.encode()], "give it as a str"),
    ],
)
def test_bad_keys_are_named_by_position_never_by_value(
    tmp_path: Path, keys: Any, words: str
) -> None:
    with pytest.raises(ConfigurationError, match="FileTokenStore") as caught:
        FileTokenStore(tmp_path / "t.json", encryption_keys=keys)
    assert words in str(caught.value)
    assert A not in str(caught.value) and "!!not" not in str(caught.value)


def test_a_missing_cryptography_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['cryptography'] = None\n"
        "from auth_sessions import FileTokenStore, ConfigurationError\n"
        f"try: FileTokenStore({str(tmp_path / 't.json')!r}, encryption_keys=[{A!r}])\n"
        "except ConfigurationError as e: print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'auth-sessions[encrypt]'" in out.stdout, out.stderr


def test_a_sealed_store_pickles_with_its_keys(opener: Opener) -> None:
    store = opener(encryption_keys=[B, A])
    token = auth_sessions.Token.create("tok-pickled", expires_ts=4e9, issued_ts=1e9)
    store.put("k", token)
    loaded = pickle.loads(pickle.dumps(store))
    assert loaded.get("k") == token and "sealed" in repr(loaded)


def test_generate_store_key_and_the_cli_print_fresh_32_byte_keys() -> None:
    keys = {generate_store_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(base64.urlsafe_b64decode(k)) == 32 for k in keys)
    out = subprocess.run(
        [sys.executable, "-m", "auth_sessions", "store-key"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    printed = out.stdout.strip()
    assert out.returncode == 0 and len(base64.urlsafe_b64decode(printed)) == 32
    # the printed key is accepted as it is:
    assert auth_sessions.stores._seal.codec_for([printed], "test").sealed
