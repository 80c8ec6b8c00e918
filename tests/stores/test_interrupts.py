"""An exception delivered at any point of a call never leaves a lock held: SIGALRM fired at
random offsets during token fetches (the library's own lock sections run on fetch threads,
which never receive signals; ``python -m benchmarks.interrupts`` measures direct
``store.lock()`` sections in the signalled thread)."""

from __future__ import annotations

import contextlib
import random
import signal
import threading
from typing import Any, Iterator, List

import pytest

from auth_sessions import MemoryTokenStore
from auth_sessions.stores.base import BaseTokenStore
from auth_sessions.testing import FakeVendors

TRIALS = 1000

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")


class Interrupted(Exception):
    """What the SIGALRM handler raises (like a Celery soft time limit)."""


@contextlib.contextmanager
def alarms() -> Iterator[Any]:
    """``fire(seconds)`` arms one SIGALRM; ``disarm()`` makes a late one harmless."""
    armed = [False]

    def handler(signum: int, frame: Any) -> None:
        if armed[0]:
            armed[0] = False
            raise Interrupted

    def fire(seconds: float) -> None:
        armed[0] = True
        signal.setitimer(signal.ITIMER_REAL, seconds)

    def disarm() -> None:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        yield fire, disarm
    finally:
        disarm()
        signal.signal(signal.SIGALRM, previous)


def free_elsewhere(store: BaseTokenStore, key: str) -> bool:
    """Whether another thread can take ``key`` (waiting for a fetch still running)."""
    got: List[bool] = []

    def probe() -> None:
        with store.lock(key, timeout=10) as held:
            got.append(held)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(10)
    return got == [True]


def test_sigalrm_during_fetches_never_leaves_a_lock_held(fake_vendor: FakeVendors) -> None:
    rng = random.Random(20261122)
    store = MemoryTokenStore()
    interrupted = 0
    with alarms() as (fire, disarm):
        for _ in range(TRIALS):
            # Our acquisition path only (get_token: manager, flight, waits, store locks). An
            # interrupt inside urllib3's pool in this thread can deadlock it on its own queue
            # lock (its finally puts the connection back): urllib3's, not ours to test here.
            session = fake_vendor.session("cobee", token_store=store)
            session.auth.forget()  # every trial fetches
            try:
                try:
                    fire(rng.uniform(1e-6, 0.004))  # a loopback fetch takes 1-3 ms
                    session.auth.get_token()
                finally:
                    disarm()
            except Interrupted:
                interrupted += 1
            # whatever the interrupt cut short, the key's lock can be had (a fetch still
            # running releases it when done: the probe waits for that, not for a timer)
            assert free_elsewhere(store, session.auth.store_key)
    assert interrupted >= TRIALS // 10  # the fuzz did land inside calls
    session = fake_vendor.session("cobee", token_store=store)
    session.auth.forget()
    assert session.get("/employees").status_code == 200  # nothing stuck
    _join_fetch_threads()
    assert len(store._locks) == 0  # and no lock entry left behind


def _join_fetch_threads() -> None:
    # (CPython's Thread.start() is not interrupt-safe itself: a thread whose start() was cut
    # short may die at birth without running anything; is_alive() is False for those.)
    for thread in threading.enumerate():
        if thread.name == "auth-sessions-fetch" and thread.is_alive():
            thread.join(10)
