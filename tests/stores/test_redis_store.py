"""RedisTokenStore against a real redis-server."""

from __future__ import annotations

import copy
import logging
import multiprocessing
import pickle
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, List, Tuple

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from auth_sessions import Event, FileTokenStore, RedisTokenStore, Token, subscribe
from auth_sessions.testing import FakeVendors, ManualClock
from auth_sessions.testing.redis_server import RedisServer, _free_ports

from .._net import Pki
from ._workers import hold_lock


def _token(value: str, ttl: float = 3600.0, refresh_ttl: float = 0.0) -> Token:
    now = time.time()
    return Token.create(
        value, expires_ts=now + ttl, issued_ts=now,
        refresh_token=f"rt-{value}" if refresh_ttl else None,
        refresh_expires_ts=now + refresh_ttl if refresh_ttl else None,
    )  # fmt: skip


def test_round_trip_ttl_and_key(redis_server, prefix: str) -> None:  # type: ignore[no-untyped-def]
    store = RedisTokenStore(redis_server.url, prefix=prefix)
    key = "cobee|https://x/oauth/token|client|0123abcd"
    token = _token("secret-access-value", ttl=100, refresh_ttl=1000)
    store.put(key, token)
    got = RedisTokenStore(redis_server.url, prefix=prefix).get(key)
    assert got == token and got.refresh_token == token.refresh_token  # rotated token rides along
    names = [n.decode() for n in store.client.keys(prefix + "*")]
    assert len(names) == 1 and "client" not in names[0] and "secret" not in names[0]
    ttl = store.client.pttl(names[0])
    assert 990_000 < ttl <= 1_000_000  # the refresh token's remaining life
    assert "secret-access-value" not in repr(store)


def test_compare_and_invalidate(redis_server, prefix: str) -> None:  # type: ignore[no-untyped-def]
    store = RedisTokenStore(redis_server.url, prefix=prefix)
    old, new = _token("old"), _token("new")
    store.put("k", new)
    assert store.invalidate("k", old) is False
    assert store.get("k") == new
    assert store.invalidate("k", new) is True
    assert store.get("k") is None


def test_lock_across_processes_and_crashed_holder(redis_server, prefix: str) -> None:  # type: ignore[no-untyped-def]
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    store = RedisTokenStore(redis_server.url, prefix=prefix, lock_ttl=1.0)
    child = ctx.Process(
        target=hold_lock, args=(("redis", redis_server.url, prefix, "1.0"), "key", held, release)
    )
    child.start()
    assert held.wait(30)
    with store.lock("key", blocking=False) as acquired:
        assert acquired is False
    child.kill()  # the holder crashes without releasing
    child.join(30)
    with store.lock("key", timeout=10) as acquired:
        assert acquired is True  # the lock expired with its TTL: the fleet is not blocked


def test_redis_killed_mid_run(own_redis, prefix: str, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    with FakeVendors() as fake:
        store = RedisTokenStore(
            own_redis.url, prefix=prefix, retry_interval=0.0, socket_timeout=0.5
        )
        session = fake.session("cair", token_store=store)
        assert session.get("/before").status_code == 200
        own_redis.stop()
        with caplog.at_level(logging.WARNING, logger="auth_sessions"):
            statuses = []
            for _ in range(5):
                fake.revoke_tokens("cair")  # every call needs the store: 401, renew, replay
                statuses.append(session.get("/during").status_code)
                statuses.append(
                    fake.session("cair", token_store=store).get("/new-session").status_code
                )
        assert statuses == [200] * 10
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "Redis unreachable" in warnings[0].getMessage()


def test_file_and_redis_stores_reopen_from_path_and_url(tmp_path: Path, redis_server) -> None:  # type: ignore[no-untyped-def]
    for store in (
        FileTokenStore(tmp_path / "t.json"),
        RedisTokenStore(redis_server.url, prefix="copies:"),
    ):
        loaded = pickle.loads(pickle.dumps(store))
        assert type(loaded) is type(store) and repr(loaded) == repr(store)
        assert copy.deepcopy(store) is store  # copies of a session share the store


def test_rotating_refresh_token_stays_single_use_during_an_outage(own_redis, prefix: str) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    with FakeVendors(clock=clock) as fake:
        fake.set_lifetime("cair", 600, refresh_seconds=86400)
        store = RedisTokenStore(own_redis.url, prefix=prefix, clock=clock, retry_interval=3600)
        session = fake.session("cair", token_store=store)
        assert session.get("/a").status_code == 200  # token 1, shared through Redis
        own_redis.stop()  # outage: another process may rotate token 1's refresh token now
        clock.advance(600)
        assert session.get("/b").status_code == 200
        counts = fake.counts("cair")
        assert (counts.token_requests, counts.refreshes) == (2, 0)  # client credentials
        clock.advance(600)
        assert session.get("/c").status_code == 200  # token 2 was ours, since the outage
        counts = fake.counts("cair")
        assert (counts.token_requests, counts.refreshes, counts.refresh_reuse) == (2, 1, 0)


def test_clear_deletes_only_its_own_keys(redis_server) -> None:  # type: ignore[no-untyped-def]
    store = RedisTokenStore(redis_server.url, prefix="app")
    neighbours = ("application:users:42", "apple:inventory", "app-config")
    for name in neighbours:
        store.client.set(name, "theirs")
    store.put("k", _token("mine"))
    with store.lock("k") as acquired:  # a lock held elsewhere is not ours to drop either
        assert acquired
        store.clear()
        assert len(store.client.keys("applock:*")) == 1
    assert store.get("k") is None
    assert [store.client.get(name) for name in neighbours] == [b"theirs"] * len(neighbours)
    store.client.delete(*neighbours)


def test_a_lease_lasts_the_fetch_budget_not_minutes(redis_server, prefix: str) -> None:  # type: ignore[no-untyped-def]
    store = RedisTokenStore(redis_server.url, prefix=prefix)
    with store.lock("k", timeout=0.5) as acquired:
        assert acquired
        (name,) = store.client.keys(prefix + "lock:*")
        assert 0 < store.client.pttl(name) <= 2_500  # the 0.5 s budget plus the 2 s margin
    assert store.client.exists(name) == 0
    with store.lock("k", timeout=30.0) as acquired:  # a long budget: one term at a time
        assert acquired
        (name,) = store.client.keys(prefix + "lock:*")
        assert 0 < store.client.pttl(name) <= 5_000


def test_a_lease_is_renewed_while_held_and_dies_with_its_holder(own_redis, prefix: str) -> None:  # type: ignore[no-untyped-def]
    """A holder with a 62 s budget keeps its lease by renewing it (seen as Redis's own
    keyspace events); killed, it leaves a lease of at most one 5 s term, so the fleet waits
    seconds, not its whole budget."""
    watcher = redis.Redis(port=own_redis.port)
    watcher.config_set("notify-keyspace-events", "Kg")  # generic commands: PEXPIRE, DEL
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(
        target=hold_lock, args=(("redis", own_redis.url, prefix), "k", held, release)
    )
    child.start()
    try:
        assert held.wait(30)
        (name,) = watcher.keys(prefix + "lock:*")
        assert 0 < watcher.pttl(name) <= 5_000  # one term, though the budget is 62 s
        events = watcher.pubsub()
        events.subscribe(f"__keyspace@0__:{name.decode()}")
        seen, ends = [], time.monotonic() + 20
        while b"expire" not in seen and time.monotonic() < ends:
            message = events.get_message(timeout=max(0.0, ends - time.monotonic()))
            if message is not None and message["type"] == "message":
                seen.append(message["data"])
        events.close()
        assert b"expire" in seen, seen  # renewed (PEXPIRE) while its holder holds it
    finally:
        child.kill()  # the holder dies without releasing
        child.join(30)
    assert watcher.pttl(name) <= 5_000  # gone within a term
    store = RedisTokenStore(own_redis.url, prefix=prefix)
    with store.lock("k", timeout=15.0) as acquired:
        assert acquired


_EXIT_WHILE_HOLDING = """
import sys, threading
from auth_sessions import RedisTokenStore
store = RedisTokenStore(sys.argv[1], prefix=sys.argv[2])
held = threading.Event()
def renew():  # a background renewal, caught holding the lease when the worker exits
    with store.lock("k", timeout=25.0):
        held.set()
        threading.Event().wait()
threading.Thread(target=renew, daemon=True).start()
assert held.wait(20)
print("held", flush=True)
"""


def test_a_worker_that_exits_normally_leaves_no_lease(redis_server, prefix: str) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_WHILE_HOLDING, redis_server.url, prefix],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "held", done.stderr
    store = RedisTokenStore(redis_server.url, prefix=prefix)
    assert store.client.keys(prefix + "lock:*") == []  # released at exit: the fleet renews


def test_a_lease_taken_while_redis_stalls_is_fenced_off(tmp_path: Path, prefix: str) -> None:
    # DEBUG SLEEP stalls the whole server: the lease's SET waits in the socket, the client's
    # 0.5 s timeout fires, and Redis runs the SET when it wakes. Unfenced, that lease is
    # owned by nobody for its whole TTL; the holder's compare-and-delete, sent after the
    # timeout, runs right behind it.
    try:
        server = RedisServer(str(tmp_path), args=["--enable-debug-command", "local"])
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    with server:
        client = redis.Redis.from_url(server.url, socket_timeout=0.3, retry=Retry(NoBackoff(), 0))
        store = RedisTokenStore(client, prefix=prefix, retry_interval=0)
        store.client.ping()  # a pooled connection, as in a running worker
        observer = redis.Redis.from_url(server.url, socket_timeout=30)
        stalling = threading.Thread(target=observer.execute_command, args=("DEBUG", "SLEEP", "2"))
        stalling.start()
        probe = redis.Redis.from_url(server.url, socket_timeout=0.2, retry=Retry(NoBackoff(), 0))
        for _ in range(200):  # until the server stops answering: it is asleep
            try:
                probe.ping()
            except redis.exceptions.TimeoutError:
                break
        else:
            pytest.fail("DEBUG SLEEP never took hold")
        with store.lock("k", timeout=25.0) as acquired:
            assert acquired  # the in-process lock serves while Redis stalls
        stalling.join(30)
        watcher = redis.Redis.from_url(server.url, socket_timeout=30)
        watcher.ping()  # Redis is awake: the queued SET has run (and maybe its fence)
        with store.lock("other", timeout=5.0) as acquired:  # this process talks to Redis again
            assert acquired
        assert watcher.keys(prefix + "lock:*") == []  # no lease owned by nobody is left


def _events_of(kind: str) -> Tuple[List[Event], Callable[[], None]]:
    seen: List[Event] = []
    return seen, subscribe(lambda e: seen.append(e) if e.kind == kind else None)


def test_a_user_without_scripting_is_served_and_told_what_to_grant(
    own_redis: RedisServer, prefix: str
) -> None:
    admin = redis.Redis(port=own_redis.port)
    admin.execute_command("ACL", "SETUSER", "limited", "on", ">pw-limited", "~*", "&*", "+@all",
                          "-@scripting")  # fmt: skip
    seen, unsubscribe = _events_of("store_outage")
    try:
        url = f"redis://limited:pw-limited@127.0.0.1:{own_redis.port}/0"
        with FakeVendors() as fake:
            session = fake.session("cobee", token_store=RedisTokenStore(url, prefix=prefix))
            statuses = [session.get("/x").status_code for _ in range(3)]
    finally:
        unsubscribe()
    assert statuses == [200] * 3  # a cache that cannot release its lease fails no request
    assert len(seen) == 1 and "+@scripting" in seen[0].message


def test_an_evicting_policy_and_a_client_without_timeouts_are_named(
    own_redis: RedisServer, prefix: str
) -> None:
    redis.Redis(port=own_redis.port).config_set("maxmemory-policy", "allkeys-lru")
    seen, unsubscribe = _events_of("store_misconfigured")
    try:
        store = RedisTokenStore(redis.Redis(port=own_redis.port), prefix=prefix)  # no timeouts
        store.get("k")
        store.get("k")
    finally:
        unsubscribe()
    words = [e.message for e in seen]
    assert len(words) == 2, words  # each said once
    assert "socket_timeout" in words[0] and "allkeys-lru" in words[1]


def test_a_black_holed_redis_behind_a_client_object_costs_a_call_its_bound(prefix: str) -> None:
    """A redis-py client without socket_timeout, on a port that accepts connections and
    never answers: each token call still ends 200 within the store's bound (1 s a store
    call), served by the fallback, and the outage is one event naming the bound."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # the kernel completes handshakes; nobody ever reads or answers
    seen, unsubscribe = _events_of("store_outage")
    outcome: List[object] = []
    try:
        client = redis.Redis(port=hole.getsockname()[1])  # redis-py's defaults: no timeouts
        store = RedisTokenStore(client, prefix=prefix, retry_interval=60.0)
        with FakeVendors() as fake:
            session = fake.session("cobee", token_store=store)

            def calls() -> None:
                outcome.extend(session.get("/x", timeout=2).status_code for _ in range(3))

            caller = threading.Thread(target=calls, daemon=True)
            caller.start()
            caller.join(30)  # ~2 s here; generous for a loaded machine; unbounded: never
            counted = fake.counts("cobee").token_requests
    finally:
        unsubscribe()
        hole.close()
    assert not caller.is_alive(), "a store call waited on the black hole past its bound"
    assert outcome == [200, 200, 200] and counted == 1
    assert len(seen) == 1 and "no answer from the store within" in seen[0].message


def test_a_pickled_store_on_a_tls_client_reopens_on_tls(
    pki: Pki, tmp_path: Path, prefix: str
) -> None:
    """A store built on a TLS client with a password, pickled (to a pool worker), talks TLS
    to the same port with the same CA: never plain TCP with the password in clear. Counted
    at the server: every connection of the store's arrived at the TLS port."""
    tls_port = _free_ports(1)[0]
    tls = ["--tls-port", str(tls_port), "--tls-cert-file", pki.server[0],
           "--tls-key-file", pki.server[1], "--tls-ca-cert-file", pki.ca,
           "--tls-auth-clients", "no"]  # fmt: skip
    with RedisServer(str(tmp_path), args=tls) as server:
        redis.Redis(port=server.port).config_set("requirepass", "tls-only-pw")
        admin = redis.Redis(port=server.port, password="tls-only-pw")
        client = redis.Redis(host="127.0.0.1", port=tls_port, ssl=True, ssl_ca_certs=pki.ca,
                             password="tls-only-pw", socket_timeout=1.0,
                             client_name="store-under-test")  # fmt: skip
        clone = pickle.loads(pickle.dumps(RedisTokenStore(client, prefix=prefix)))
        clone.put("k", _token("over-tls"))
        got = clone.get("k")
        ports = [int(c["laddr"].rsplit(":", 1)[1]) for c in admin.client_list()
                 if c["name"] == "store-under-test"]  # fmt: skip
    assert got is not None and got.access_token.reveal() == "over-tls"
    assert ports and set(ports) == {tls_port}  # the clone's connections: TLS only
