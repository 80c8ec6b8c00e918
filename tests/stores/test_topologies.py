"""Every Redis topology on real servers: one node, a Sentinel set, a Redis Cluster.

Fleets are spawned processes; token requests, refresh-token reuse and expired tokens are
counted at the fake. Failovers are real: ``CLUSTER FAILOVER`` on a replica, ``SENTINEL
FAILOVER`` on a sentinel.
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
import redis

import auth_sessions
from auth_sessions import ConfigurationError, Event, RedisTokenStore, subscribe
from auth_sessions.stores._common import hashed
from auth_sessions.testing import FakeVendors, ManualClock
from auth_sessions.testing.redis_server import RedisClusterServers, RedisServer, SentinelSet

from ._workers import loop

LIFETIME = 2.0  # seconds a token lives in the failover runs


def _until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for a server-side condition (a count, a role), bounded."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)  # polling another process's state


# ---------------------------------------------------------------------------- Cluster


def test_one_credential_set_lives_in_one_cluster_slot(
    redis_cluster: RedisClusterServers, prefix: str
) -> None:
    store = RedisTokenStore(redis_cluster.client(), prefix=prefix)
    with FakeVendors() as fake:
        session = fake.session("cair", token_store=store)
        assert session.get("/x").status_code == 200
        with store.lock(session.auth.store_key) as held:  # the lease is a key too
            assert held
            names = list(store.client.scan_iter(match=prefix + "*"))
        wrong = fake.session("cair", token_store=store, client_secret="wrong-secret")
        with pytest.raises(auth_sessions.InvalidCredentials):
            wrong.get("/x")
    names += list(store.client.scan_iter(match=prefix + "*"))
    tag = "{" + hashed(session.auth.store_key) + "}"
    mine = {n for n in names if tag.encode() in n}
    assert {n.split(b":")[1] for n in mine} >= {b"token", b"lock"}
    assert len({store.client.keyslot(n) for n in mine}) == 1
    assert store.client.mget(sorted(mine))  # a multi-key command on them: one slot


def test_a_cluster_down_is_an_outage_the_fallback_serves(
    own_cluster: RedisClusterServers, prefix: str, capfd: pytest.CaptureFixture[str]
) -> None:
    store = RedisTokenStore(own_cluster.client(), prefix=prefix, retry_interval=60)
    events: List[Event] = []
    unsubscribe = subscribe(events.append)
    try:
        with FakeVendors() as fake:
            session = fake.session("cobee", token_store=store)
            assert session.get("/x").status_code == 200
            own_cluster.stop()  # every node: redis-py raises RedisClusterException
            fake.revoke_tokens("cobee")
            statuses = [session.get("/x").status_code for _ in range(5)]
            counts = fake.counts("cobee")
    finally:
        unsubscribe()
    assert statuses == [200] * 5
    assert counts.token_requests == 2  # the first, and one after the revocation
    outages = [e for e in events if e.kind == "store_outage"]
    assert len(outages) == 1 and "Redis" in outages[0].message
    assert "Traceback" not in capfd.readouterr().err


def _fleet_loop(
    fake: FakeVendors,
    vendor: str,
    spec: Tuple[Any, ...],
    during: Callable[[], None],
    processes: int = 4,
    threads: int = 4,
    renewals: str = "token_requests",
) -> Dict[Any, int]:
    """``processes`` x ``threads`` callers loop; ``during()`` runs once they all have a
    token, then the loop goes on until two more ``renewals`` were counted after it."""
    kwargs = fake.session_kwargs(vendor)
    kwargs.pop("token_store")
    ctx = multiprocessing.get_context("spawn")
    start, stop, running, out = ctx.Event(), ctx.Event(), ctx.Semaphore(0), ctx.Queue()
    procs = [
        ctx.Process(target=loop, args=(spec, vendor, kwargs, threads, start, stop, running, out))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    outcomes: Dict[Any, int] = {}
    try:
        start.set()
        assert all(running.acquire(timeout=60) for _ in range(processes * threads))
        during()
        issued = getattr(fake.counts(vendor), renewals)
        _until(
            lambda: getattr(fake.counts(vendor), renewals) >= issued + 2,
            f"no {renewals} after the failover",
        )
    finally:
        stop.set()
        for _ in procs:
            for outcome, n in out.get(timeout=120).items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n
        for p in procs:
            p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    return outcomes


@pytest.mark.slow  # a failover during a fleet's loop: the current-releases pass
def test_a_cluster_failover_mid_run_fails_no_request(
    own_cluster: RedisClusterServers, prefix: str
) -> None:
    spec = ("cluster", own_cluster.nodes, prefix)
    with FakeVendors(token_lifetime=LIFETIME) as fake:
        key = fake.session("cobee").auth.store_key
        client = own_cluster.client()
        primary = client.get_node_from_key("{" + hashed(key) + "}")
        replica = client.get_redis_connection(primary).info("replication")["slave0"]
        promoted = redis.Redis(replica["ip"], replica["port"])

        def failover() -> None:
            promoted.execute_command("CLUSTER", "FAILOVER")
            _until(lambda: promoted.execute_command("ROLE")[0] == b"master", "no promotion")

        outcomes = _fleet_loop(fake, "cobee", spec, failover)
        counts = fake.counts("cobee")
    assert set(outcomes) == {200}, outcomes
    assert counts.expired_presented == 0
    assert primary.port != replica["port"]


# ---------------------------------------------------------------------------- Sentinel


@pytest.mark.slow  # a failover during a fleet's loop: the current-releases pass
def test_a_sentinel_failover_mid_run_fails_no_request(
    sentinel_set: SentinelSet, prefix: str
) -> None:
    spec = ("sentinel", sentinel_set.sentinels, sentinel_set.service, prefix)
    with FakeVendors(token_lifetime=LIFETIME) as fake:
        before = sentinel_set.master_address()
        outcomes = _fleet_loop(fake, "cobee", spec, sentinel_set.failover)
        counts = fake.counts("cobee")
    assert sentinel_set.master_address() != before
    assert set(outcomes) == {200}, outcomes
    assert counts.expired_presented == 0


@pytest.mark.slow  # a failover during a fleet's loop: the current-releases pass
def test_a_single_use_refresh_token_is_never_presented_twice_across_a_failover(
    sentinel_set: SentinelSet, prefix: str
) -> None:
    spec = ("sentinel", sentinel_set.sentinels, sentinel_set.service, prefix)
    with FakeVendors(token_lifetime=LIFETIME) as fake:
        seen: List[int] = []

        def failover() -> None:
            seen.append(fake.counts("cair").refreshes)
            sentinel_set.failover()

        outcomes = _fleet_loop(fake, "cair", spec, failover, renewals="refreshes")
        counts = fake.counts("cair")
    assert set(outcomes) == {200}, outcomes
    assert counts.refresh_reuse == 0
    assert counts.refreshes > seen[0]  # good refreshes after the failover too
    assert counts.expired_presented == 0


def _refreshed_over_an_older_entry(
    server: RedisServer, prefix: str, fake: FakeVendors, clock: ManualClock
) -> Tuple[RedisTokenStore, Any, float]:
    """A Cair session on a Redis store gets a token, refreshes it when it expires (its
    refresh token R1 is spent), then the write is lost: the older entry, with R1, is back.
    Returns the store, the session and the token lifetime."""
    store = RedisTokenStore(server.url, prefix=prefix, clock=clock)
    session = fake.session("cair", token_store=store)
    assert session.get("/x").status_code == 200
    name = store._key(session.auth.store_key)
    older = store.client.get(name)
    lifetime = session.auth.get_token().lifetime
    clock.advance(lifetime + 1)
    assert session.get("/x").status_code == 200  # refreshed: generation 2, R1 spent
    store.client.set(name, older)
    return store, session, lifetime


def test_an_older_entry_brought_back_never_gets_its_refresh_token_presented_again(
    redis_server: RedisServer, prefix: str, clocked: Tuple[FakeVendors, ManualClock]
) -> None:
    """What a failover (or a restored snapshot) does: the store serves an entry whose
    refresh token was already spent. The spent-mark keeps it from being presented."""
    fake, clock = clocked
    _refreshed_over_an_older_entry(redis_server, prefix, fake, clock)  # the write is lost
    another = RedisTokenStore(redis_server.url, prefix=prefix, clock=clock)  # another process
    assert fake.session("cair", token_store=another).get("/x").status_code == 200
    counts = fake.counts("cair")
    assert (counts.refreshes, counts.refresh_reuse, counts.token_requests) == (1, 0, 2)


def test_a_spent_mark_that_reaches_no_replica_means_client_credentials(
    own_redis: RedisServer, tmp_path: Path, prefix: str
) -> None:
    """A primary that has a replica but cannot get the mark to it (the replica is paused,
    as a partitioned one would be) does not present the refresh token."""
    with RedisServer(str(tmp_path), args=["--replicaof", "127.0.0.1", str(own_redis.port)]) as rep:
        primary = redis.Redis(port=own_redis.port)

        def acknowledged() -> bool:  # a write, then WAIT on the same connection
            return bool(primary.pipeline(False).set("probe", 1).wait(1, 100).execute()[1] == 1)

        _until(acknowledged, "the replica never acknowledged a write")
        store = RedisTokenStore(own_redis.url, prefix=prefix)
        with FakeVendors() as fake:  # tokens that live: no renewal spends the mark first
            session = fake.session("cair", token_store=store)
            assert session.get("/x").status_code == 200
            token = session.auth.get_token()
            assert store.may_refresh(session.auth.store_key, token) is True  # acknowledged
            other = fake.session("cair", token_store=RedisTokenStore(own_redis.url, prefix=prefix))
            assert store.may_refresh(other.auth.store_key, token) is False  # spent already
            rep.process.send_signal(19)  # SIGSTOP: the replica stops acknowledging
            try:
                fresh = auth_sessions.Token.create(
                    "tok-x", expires_ts=4e9, issued_ts=1e9, refresh_token="never-acked"
                )
                assert store.may_refresh(session.auth.store_key, fresh) is False
            finally:
                rep.process.send_signal(18)  # SIGCONT


# ---------------------------------------------------------------------------- pickling


def _round_trip(store: RedisTokenStore) -> RedisTokenStore:
    token = auth_sessions.Token.create("tok-pickle", expires_ts=4e9, issued_ts=1e9)
    store.put("k", token)
    loaded: RedisTokenStore = pickle.loads(pickle.dumps(store))
    assert loaded.get("k") == token  # the same deployment, not localhost:6379
    return loaded


def test_stores_on_client_objects_pickle_onto_the_same_topology(
    redis_server: RedisServer,
    redis_cluster: RedisClusterServers,
    sentinel_set: SentinelSet,
    prefix: str,
) -> None:
    node = _round_trip(RedisTokenStore(redis.Redis("127.0.0.1", redis_server.port), prefix=prefix))
    assert node.client.connection_pool.connection_kwargs["port"] == redis_server.port
    cluster = _round_trip(RedisTokenStore(redis_cluster.client(), prefix=prefix))
    assert isinstance(cluster.client, redis.cluster.RedisCluster)
    sentinel = _round_trip(RedisTokenStore(sentinel_set.master(), prefix=prefix))
    assert sentinel.client.connection_pool.service_name == sentinel_set.service


def test_unix_socket_stores_by_url_and_by_client(tmp_path: Path, prefix: str) -> None:
    sock = str(tmp_path / "redis.sock")
    with RedisServer(str(tmp_path), args=["--unixsocket", sock, "--unixsocketperm", "700"]):
        by_url = RedisTokenStore(f"unix://{sock}", prefix=prefix)
        _round_trip(by_url)
        by_client = _round_trip(RedisTokenStore(redis.Redis(unix_socket_path=sock), prefix=prefix))
        assert by_client.get("k") is not None


class _Wrapped:
    """A client object the store can use but cannot describe (a user's own wrapper)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_an_unknown_client_refuses_to_pickle_naming_the_url_form(
    redis_server: RedisServer, prefix: str
) -> None:
    store = RedisTokenStore(_Wrapped(redis.Redis.from_url(redis_server.url)), prefix=prefix)
    token = auth_sessions.Token.create("tok-wrapped", expires_ts=4e9, issued_ts=1e9)
    store.put("k", token)
    assert store.get("k") == token
    with pytest.raises(ConfigurationError, match="redis://, rediss:// or unix:// URL"):
        pickle.dumps(store)


def test_a_prefix_that_opens_a_hash_tag_without_closing_it_is_refused(
    redis_server: RedisServer,
) -> None:
    for bad in ("app{", "app{}", "{:"):
        with pytest.raises(ConfigurationError, match="hash tag"):
            RedisTokenStore(redis_server.url, prefix=bad)
    RedisTokenStore(redis_server.url, prefix="{tenant}:")  # a whole tag places every key


def test_a_store_restored_from_an_older_snapshot_never_costs_a_refresh_token(
    redis_server: RedisServer, prefix: str, clocked: Tuple[FakeVendors, ManualClock]
) -> None:
    """A restart from an older snapshot loses the newer entry *and* the spent-mark. This
    process holds the newer token (generation 2): it builds on that, not on the store's."""
    fake, clock = clocked
    store, session, lifetime = _refreshed_over_an_older_entry(redis_server, prefix, fake, clock)
    for spent in store.client.scan_iter(match=prefix + "spent:*"):
        store.client.delete(spent)  # the restart lost the spent-mark too
    clock.advance(lifetime + 1)
    assert session.get("/x").status_code == 200
    counts = fake.counts("cair")
    assert (counts.refresh_reuse, counts.refreshes, counts.token_requests) == (0, 2, 1)
