"""MemoryTokenStore: expiry, bounds, compare-and-invalidate, single-flight sections."""

from __future__ import annotations

import threading

from auth_sessions import Failure, MemoryTokenStore, Token, TokenStore
from auth_sessions.testing import ManualClock


def _token(value: str, expires: float, refresh_expires: float | None = None) -> Token:
    return Token.create(
        value,
        expires_ts=expires,
        issued_ts=expires - 100,
        refresh_token="rt" if refresh_expires else None,
        refresh_expires_ts=refresh_expires,
    )


def test_keeps_the_token_store_contract() -> None:
    """Each protocol method does what TokenStore says (not just exists)."""
    clock = ManualClock(1000.0)
    store: TokenStore = MemoryTokenStore(timer=clock)
    first, second = _token("a", 1100.0), _token("b", 1100.0)
    assert store.load("k") == (None, None)
    store.put("k", first)
    assert store.get("k") == first
    assert store.invalidate("k", second) is False  # not the current one: kept
    assert store.invalidate("k", first) is True
    assert store.get("k") is None
    failure = Failure("refused", "k: 401", until_ts=1060.0, status_code=401)
    store.put("k", second)
    store.put_failure("k", failure)
    assert store.load("k") == (second, failure)
    clock.advance(61)
    assert store.get_failure("k") is None  # failure memory ends at until_ts
    store.delete("k")
    assert store.get("k") is None
    assert store.may_refresh("k", second) is True


def test_entries_leave_with_their_expiry() -> None:
    clock = ManualClock(1000.0)
    store = MemoryTokenStore(timer=clock)
    store.put("k", _token("a", 1100.0))
    store.put("r", _token("b", 1100.0, refresh_expires=2000.0))
    assert store.get("k") is not None
    clock.advance(100)
    assert store.get("k") is None
    assert store.get("r") is not None  # kept for its refresh token
    clock.advance(900)
    assert store.get("r") is None


def test_bounded_size() -> None:
    store = MemoryTokenStore(maxsize=3, timer=lambda: 0.0)
    for i in range(10):
        store.put(f"k{i}", _token(f"t{i}", 100.0))
    assert sum(store.get(f"k{i}") is not None for i in range(10)) == 3
    assert store.get("k9") is not None


def test_invalidate_only_if_current() -> None:
    store = MemoryTokenStore(timer=lambda: 0.0)
    old, new = _token("old", 100.0), _token("new", 100.0)
    store.put("k", new)
    assert store.invalidate("k", old) is False
    assert store.get("k") is new
    assert store.invalidate("k", new) is True
    assert store.get("k") is None
    assert store.invalidate("k", new) is False


def test_lock_is_per_key_and_non_blocking_mode() -> None:
    store = MemoryTokenStore()
    inside = threading.Event()
    release = threading.Event()
    seen: list = []

    def holder() -> None:
        with store.lock("a") as got:
            seen.append(got)
            inside.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    assert inside.wait(5)
    with store.lock("a", blocking=False) as got_a:
        seen.append(got_a)
    with store.lock("b", blocking=False) as got_b:
        seen.append(got_b)
    with store.lock("a", timeout=0.01) as got_timeout:
        seen.append(got_timeout)
    release.set()
    t.join()
    assert seen == [True, False, True, False]
    assert "entries=" in repr(store)
