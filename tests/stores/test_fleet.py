"""Many processes, one store: single-flight and one renewal across processes; fork safety."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any, List, Tuple

import pytest

import auth_sessions
from auth_sessions import MemoryTokenStore
from auth_sessions.testing import FakeVendors

from ._workers import hammer, make_store

PROCESSES, THREADS = 8, 8


def _fleet(
    fake: FakeVendors,
    vendor: str,
    spec: Tuple[Any, ...],
    processes: int = PROCESSES,
    calls: int = 1,
    held: bool = False,
    then_revoke: bool = False,
    **overrides: Any,
) -> List[Any]:
    """Run ``processes`` x THREADS callers; ``held``: the first token request waits at the
    fake until it has arrived and every caller has started; ``then_revoke``: every process
    first holds a token, which the fake then revokes before the callers start."""
    kwargs = fake.session_kwargs(vendor, **overrides)
    kwargs.pop("token_store")
    ctx = multiprocessing.get_context("spawn")
    start, out, ready, warmed = ctx.Event(), ctx.Queue(), ctx.Semaphore(0), ctx.Semaphore(0)
    gate, arrived = threading.Event(), threading.Event()
    if held:
        fake.inject_token_fault(vendor, "hold", gate=gate, arrived=arrived)
    procs = [
        ctx.Process(
            target=hammer,
            args=(spec, vendor, kwargs, THREADS, start, out, calls, ready),
            kwargs={"warmed": warmed if then_revoke else None},
        )
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    if then_revoke:
        assert all(warmed.acquire(timeout=60) for _ in procs), "a process never warmed up"
        fake.revoke_tokens(vendor)
    start.set()
    if held:
        started = all(ready.acquire(timeout=60) for _ in range(processes * THREADS))
        assert started and arrived.wait(60), "the callers never all started"
        gate.set()
    statuses: List[Any] = []
    for _ in procs:
        statuses += out.get(timeout=120)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return statuses


@pytest.fixture(params=["file", "redis", pytest.param("cluster", marks=pytest.mark.slow)])
def spec(request: pytest.FixtureRequest, tmp_path: Path, prefix: str) -> Tuple[Any, ...]:
    """The shared stores: a file, one Redis node, and a Redis Cluster (3 primaries with a
    replica each) reached through a ``RedisCluster`` client object."""
    if request.param == "file":
        return ("file", str(tmp_path / "tokens.json"))
    if request.param == "cluster":
        return ("cluster", request.getfixturevalue("redis_cluster").nodes, prefix)
    server = request.getfixturevalue("redis_server")
    return ("redis", server.url, prefix)


def test_cold_store_fleet_one_token_request(
    fake_vendor: FakeVendors, spec: Tuple[Any, ...]
) -> None:
    statuses = _fleet(fake_vendor, "cobee", spec, held=True)
    assert statuses == [200] * (PROCESSES * THREADS)
    assert fake_vendor.counts("cobee").token_requests == 1


def test_401_burst_across_processes_one_renewal(
    fake_vendor: FakeVendors, spec: Tuple[Any, ...]
) -> None:
    statuses = _fleet(fake_vendor, "orum", spec, then_revoke=True)  # each sends a dead token
    assert statuses == [200] * (PROCESSES * THREADS)
    counts = fake_vendor.counts("orum")
    assert counts.unauthorized >= PROCESSES  # every process met the 401...
    assert counts.token_requests == 2  # ...and one renewal served them: the warm-up, and it


def _child(spec: Tuple[Any, ...], base: dict, key: str, store_holder: List[Any], out: Any) -> None:
    store = store_holder[0]
    with store.lock(key, blocking=False) as at_once:  # the parent's thread holds it now
        pass
    out.put(at_once)
    with store.lock(key, timeout=20) as acquired:
        ok = acquired
    status = auth_sessions.for_vendor("sohar", token_store=store, **base).get("/child").status_code
    out.put((ok, status))


@pytest.mark.parametrize("kind", ["memory", "file", "redis"])
def test_forked_child_works(
    fake_vendor: FakeVendors, kind: str, tmp_path: Path, prefix: str, request: pytest.FixtureRequest
) -> None:
    if kind == "memory":
        store: Any = MemoryTokenStore()
        spec: Tuple[Any, ...] = ("memory",)
    elif kind == "file":
        spec = ("file", str(tmp_path / "t.json"))
        store = make_store(spec)
    else:
        spec = ("redis", request.getfixturevalue("redis_server").url, prefix)
        store = make_store(spec)
    base = fake_vendor.session_kwargs("sohar")
    base.pop("token_store")
    session = auth_sessions.for_vendor("sohar", token_store=store, **base)
    session.get("/parent")  # the parent has used the store (and its connections)
    key = session.auth.store_key
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.lock(key):
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_child, args=(spec, base, key, [store], out))
    child.start()
    at_once = out.get(timeout=60)
    # in memory the child has its own (reset) lock; across processes the parent's thread
    # really holds it: the child must wait until the parent lets go
    assert at_once is (kind == "memory")
    release.set()
    ok, status = out.get(timeout=60)
    release.set()
    thread.join()
    child.join(30)
    assert child.exitcode == 0
    assert (ok, status) == (True, 200)


def test_refusal_remembered_across_processes(
    fake_vendor: FakeVendors, spec: Tuple[Any, ...]
) -> None:
    outcomes = _fleet(
        fake_vendor, "orum", spec, processes=4, calls=5, client_secret="wrong-secret-123"
    )
    assert outcomes == ["InvalidCredentials"] * (4 * THREADS * 5)
    assert fake_vendor.counts("orum").token_requests <= 2  # v0.1: one per call (160)
