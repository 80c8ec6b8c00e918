"""Shared fixtures. ``fake_vendor`` itself comes from the package's pytest plugin."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Tuple, TypeVar

import pytest

from auth_sessions import RetryPolicy, vendor_class, vendor_names
from auth_sessions.testing import FakeVendors, ManualClock
from auth_sessions.testing._vendors import SPECS
from auth_sessions.testing.redis_server import RedisClusterServers, RedisServer, SentinelSet

from ._net import NET_ENV, Pki, make_pki

# Every registered vendor the fake can play: a new vendor joins by its module and its fake.
VENDORS = tuple(name for name in vendor_names() if name in SPECS)
PUBLISHED = tuple(v for v in VENDORS if vendor_class(v).environments)  # not the generic one

# Fault tests need no real waiting: retries happen at once.
NO_WAIT = RetryPolicy(total=2, backoff_factor=0.0, max_retry_after=0.0)


@pytest.fixture
def clocked() -> Iterator[Tuple[FakeVendors, ManualClock]]:
    """A fake whose clock (shared with the sessions it builds) moves only when told."""
    clock = ManualClock()
    with FakeVendors(clock=clock) as fake:
        yield fake, clock


def run_threads(count: int, target, *args) -> list:  # type: ignore[no-untyped-def]
    """Start ``count`` threads behind one barrier; return their results (re-raise errors)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target(*args)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def run_while_held(fake: FakeVendors, vendor: str, count: int, target, *args) -> list:  # type: ignore[no-untyped-def]
    """:func:`run_threads`, with ``vendor``'s first token request held at the fake until it
    has arrived: every thread starts while a fetch is in flight and unanswered."""
    gate, arrived = threading.Event(), threading.Event()
    fake.inject_token_fault(vendor, "hold", gate=gate, arrived=arrived)
    seen: list = []
    opener = threading.Thread(target=lambda: (seen.append(arrived.wait(30)), gate.set()))
    opener.start()
    try:
        return run_threads(count, target, *args)
    finally:
        gate.set()
        opener.join()
        assert seen == [True], "the held token request never arrived"


# A real redis-server on a free loopback port, no persistence; stopped afterwards. Without
# redis-server the Redis tests skip with the reason, except under CI=true, where a missing
# server is a failure (.ci/run installs it).


T = TypeVar("T")


def _start(folder: Path, kind: Callable[..., T] = RedisServer, **options: Any) -> T:
    try:
        return kind(str(folder), **options)
    except FileNotFoundError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc}; CI must install it")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with _start(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A real Redis Cluster: 3 primaries with a replica each, on loopback."""
    with _start(tmp_path_factory.mktemp("cluster"), RedisClusterServers) as cluster:
        yield cluster


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    """A Redis Cluster of this test's own, which the test may fail over."""
    with _start(tmp_path, RedisClusterServers) as cluster:
        yield cluster


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[SentinelSet]:
    """A master, a replica and 3 sentinels of this test's own, which it may fail over."""
    with _start(tmp_path, SentinelSet) as sentinels:
        yield sentinels


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test may kill."""
    with _start(tmp_path) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses."""
    return f"t-{uuid.uuid4().hex[:8]}:"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA with a server certificate for 127.0.0.1 and a client certificate."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def clean_net_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA bundle from this machine's environment (it may set them)."""
    for name in NET_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def tls_fake(pki: Pki) -> Iterator[FakeVendors]:
    """The fake vendors on https, with a certificate from ``pki``'s CA."""
    with FakeVendors(tls=pki.server) as fake:
        yield fake
