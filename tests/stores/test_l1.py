"""Shared stores are read at renewal, not per request: the process-local manager (L1) sits in
front of them. Counted on a real redis-server (INFO commandstats) and a real token file."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Dict

import redis

from auth_sessions import FileTokenStore, MemoryTokenStore, RedisTokenStore, manager
from auth_sessions.testing import FakeVendors


def _commands(client: redis.Redis[bytes]) -> Dict[str, int]:
    """Commands served since the last CONFIG RESETSTAT, by name (minus our own probes)."""
    stats = client.info("commandstats")
    counts = {name.split("_", 1)[1]: int(v["calls"]) for name, v in stats.items()}
    for probe in ("info", "config|resetstat", "config"):
        counts.pop(probe, None)
    return counts


def test_session_per_call_on_redis_reads_it_once(redis_server, prefix: str) -> None:  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(redis_server.url)
    with FakeVendors() as fake:
        store = RedisTokenStore(redis_server.url, prefix=prefix)
        client.config_resetstat()
        for _ in range(300):  # the legacy pattern: a new session for every call
            with fake.session("cobee", token_store=store) as session:
                assert session.get("/employees").status_code == 200
            gc.collect()  # the session (and its auth) are gone before the next one
        used = _commands(client)
        assert fake.counts("cobee").token_requests == 1
    assert sum(used.values()) <= 10, used  # v0.1: 302 GETs


def test_a_token_renewed_elsewhere_is_picked_up_on_401(redis_server, prefix: str) -> None:  # type: ignore[no-untyped-def]
    with FakeVendors() as fake:
        here = fake.session("orum", token_store=RedisTokenStore(redis_server.url, prefix=prefix))
        assert here.get("/a").status_code == 200  # token 1, in Redis and in here's L1
        # "another process": its own store object and manager, the same Redis
        there = fake.session("orum", token_store=RedisTokenStore(redis_server.url, prefix=prefix))
        fake.revoke_tokens("orum")
        there.auth.forget()
        assert there.get("/b").status_code == 200  # token 2, stored in Redis by "there"
        response = here.get("/c")  # here still sends token 1: 401, then finds token 2
        assert response.status_code == 200 and [r.status_code for r in response.history] == [401]
        assert fake.counts("orum").token_requests == 2  # picked up, not fetched again
        assert here.auth.get_token() == there.auth.get_token()


def test_file_store_is_not_read_per_request(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    with FakeVendors() as fake:
        session = fake.session("sohar", token_store=FileTokenStore(path))
        assert session.get("/a").status_code == 200
        path.unlink()  # were the file read per request, every call below would refetch
        for _ in range(20):
            assert session.get("/b").status_code == 200
        assert fake.counts("sohar").token_requests == 1


def test_unused_credential_sets_leave_nothing_behind() -> None:
    store = MemoryTokenStore(maxsize=100)
    for i in range(5000):
        with store.lock(f"key-{i}") as held:
            assert held
    assert len(store._locks) == 0  # keyed locks are dropped when unused
    with FakeVendors() as fake:
        for i in range(manager.RECENT + 500):
            fake.session("cobee", client_secret=f"secret-{i}", token_store=store)
        gc.collect()
        live = [m for m in manager.managers_of(store)]
        assert len(live) <= manager.RECENT  # weakly held beyond the recent few
