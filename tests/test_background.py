"""Background renewal: one fetch thread per key at most, none left when idle, fork-safe,
inline where no thread can start; and a fourth store that writes only storage primitives."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any, Dict, List, Optional

import pytest

import auth_sessions
from auth_sessions import BaseTokenStore, Failure, Token
from auth_sessions.testing import FakeVendors


def _fetch_threads() -> List[threading.Thread]:
    # Live ones only: the interrupt fuzz earlier in the run can leave Threads whose start()
    # CPython abandoned mid-way (listed forever as "initial", or dying at birth on a
    # KeyError) that never run anything (see tests/stores/test_interrupts.py).
    return [t for t in threading.enumerate() if t.name == "auth-sessions-fetch" and t.is_alive()]


def _idle() -> bool:
    """Every fetch thread ends once its fetch is done (joined: no timing guess)."""
    for thread in _fetch_threads():
        thread.join(10)
    return _fetch_threads() == []


def test_one_fetch_thread_per_key_and_none_left_when_idle(clocked) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("cobee", 100)
    session = fake.session("cobee")
    session.get("/warm")
    assert _idle()  # no thread kept after the first fetch
    clock.advance(92)  # advisory window
    gate = threading.Event()
    fake.inject_token_fault("cobee", "hold", gate=gate)
    for _ in range(20):
        assert session.get("/x").status_code == 200  # served the valid token meanwhile
    assert len(_fetch_threads()) == 1  # one renewal in flight for the key, not one per call
    gate.set()
    assert session.auth.wait_for_renewal(10)
    assert _idle()
    assert fake.counts("cobee").token_requests == 2


def _child_fetch(session: Any, out: Any) -> None:
    session.auth.forget()
    out.put(session.get("/child").status_code)


def test_a_forked_child_does_not_join_the_parents_fetch(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("sohar")
    gate = threading.Event()
    fake_vendor.inject_token_fault("sohar", "hold", gate=gate)
    with pytest.raises(Exception, match="within"):
        session.get("/parent", timeout=0.2)  # the parent's fetch is now held in flight
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_child_fetch, args=(session, out))
    child.start()
    assert out.get(timeout=30) == 200  # its own fetch, not a wait on a thread it lacks
    child.join(30)
    gate.set()
    assert session.auth.wait_for_renewal(10)


def test_inline_fetch_where_no_thread_can_start(
    fake_vendor: FakeVendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = threading.Thread.start

    def refuse(self: threading.Thread) -> None:
        if self.name == "auth-sessions-fetch":  # ours only: the fake needs its threads
            raise RuntimeError("can't start new thread")  # as under uWSGI without threads
        start(self)

    session = fake_vendor.session("orum")
    monkeypatch.setattr(threading.Thread, "start", refuse)
    assert session.get("/x").status_code == 200  # fetched inline, in this thread
    assert fake_vendor.counts("orum").token_requests == 1
    assert _idle()


class DictStore(BaseTokenStore):
    """A fourth store: only storage primitives; the base brings locks, fork, clock, clear."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: Dict[str, Token] = {}
        self.failures: Dict[str, Failure] = {}

    def get(self, key: str) -> Optional[Token]:
        return self.tokens.get(key)

    def put(self, key: str, token: Token) -> None:
        self.tokens[key] = token

    def invalidate(self, key: str, token: Token) -> bool:
        if key in self.tokens and self.tokens[key].access_token == token.access_token:
            del self.tokens[key]
            return True
        return False

    def delete(self, key: str) -> None:
        self.tokens.pop(key, None)
        self.failures.pop(key, None)

    def get_failure(self, key: str) -> Optional[Failure]:
        failure = self.failures.get(key)
        return failure if failure and failure.until_ts > self.clock() else None

    def put_failure(self, key: str, failure: Failure) -> None:
        self.failures[key] = failure

    def clear_storage(self) -> None:
        self.tokens.clear()
        self.failures.clear()


def test_a_fourth_store_implements_only_its_primitives(fake_vendor: FakeVendors) -> None:
    store = DictStore()
    sessions = [fake_vendor.session("cobee", token_store=store) for _ in range(3)]
    statuses = []
    barrier = threading.Barrier(12)

    def call(session: Any) -> None:
        barrier.wait()
        statuses.append(session.get("/x").status_code)

    threads = [threading.Thread(target=call, args=(sessions[i % 3],)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 12
    assert fake_vendor.counts("cobee").token_requests == 1  # single-flight from the base
    fake_vendor.revoke_tokens("cobee")
    assert sessions[0].get("/y").status_code == 200  # 401, compare-and-invalidate, replay
    store.clear()  # reaches open sessions
    assert sessions[1].get("/z").status_code == 200
    assert fake_vendor.counts("cobee").token_requests == 3
    assert len(store._locks) == 0


class BrokenStore(DictStore):
    """A store with a bug: every write raises something no store should."""

    def put(self, key: str, token: Token) -> None:
        raise RuntimeError("a bug in a store")


def test_a_fault_below_the_manager_is_a_typed_error_not_a_thread_traceback(
    fake_vendor: FakeVendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    died: List[Any] = []
    monkeypatch.setattr(threading, "excepthook", died.append)
    session = fake_vendor.session("cobee", token_store=BrokenStore())
    for _ in range(2):
        with pytest.raises(
            auth_sessions.TokenEndpointError, match=r"fetch failed \(RuntimeError\)"
        ):
            session.get("/x")
    assert session.auth.wait_for_renewal(10)
    assert died == []  # no fetch thread ended in threading.excepthook
