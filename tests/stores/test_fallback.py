"""The outage fallback any shared store gets (the Redis store uses it): a stand-in serves,
one event per outage and per recovery, and the single-use refresh rule."""

from __future__ import annotations

from typing import List

from auth_sessions import Event, subscribe
from auth_sessions.stores._fallback import Fallback
from auth_sessions.testing import ManualClock


class Storage:
    """A shared storage that can be switched off."""

    def __init__(self) -> None:
        self.down = False
        self.value = "shared"

    def read(self) -> str:
        if self.down:
            raise OSError("unreachable")
        return self.value


def test_the_stand_in_serves_and_each_outage_is_one_event() -> None:
    storage, clock = Storage(), ManualClock(1000.0)
    fallback = Fallback("Shared", (OSError,), retry_interval=0.0, clock=clock)
    seen: List[Event] = []
    unsubscribe = subscribe(seen.append)
    try:
        assert fallback.read(storage.read, lambda: "local") == "shared"
        storage.down = True
        assert [fallback.read(storage.read, lambda: "local") for _ in range(3)] == ["local"] * 3
        fallback.write(storage.read)  # a failed write is an outage, never an error
        storage.down = False
        assert fallback.read(storage.read, lambda: "local") == "shared"
    finally:
        unsubscribe()
    assert [e.kind for e in seen] == ["store_outage", "store_recovered"]
    assert seen[0].message.startswith("Shared unreachable (OSError)")


def test_a_refresh_token_is_presented_in_an_outage_only_if_fetched_since() -> None:
    storage, clock = Storage(), ManualClock(1000.0)
    fallback = Fallback("Shared", (OSError,), retry_interval=60.0, clock=clock)
    fallback.fetched("old")
    assert fallback.may_refresh("old") and fallback.may_refresh("never")  # no outage
    storage.down = True
    clock.advance(1)
    fallback.read(storage.read, lambda: "local")
    assert not fallback.available()  # retried only after retry_interval
    assert not fallback.may_refresh("old") and not fallback.may_refresh("never")
    fallback.fetched("new")
    assert fallback.may_refresh("new")


def test_the_record_of_fetches_lasts_one_outage() -> None:
    """Only fetches made during an outage are recorded (older ones prove nothing), and the
    record is dropped when the outage ends: 10,000 credential sets leave nothing behind."""
    storage, clock = Storage(), ManualClock(1000.0)
    fallback = Fallback("Shared", (OSError,), retry_interval=0.0, clock=clock)
    for i in range(10_000):
        fallback.fetched(f"key-{i}")
    assert len(fallback._fetched_at) == 0
    storage.down = True
    fallback.read(storage.read, lambda: "local")
    fallback.fetched("during")
    assert fallback.may_refresh("during") and len(fallback._fetched_at) == 1
    storage.down = False
    fallback.read(storage.read, lambda: "local")
    assert not fallback.outage and len(fallback._fetched_at) == 0
