"""Acquisition under real-network trouble: the figures of issues 11 and 12.

``python -m benchmarks.acquisition`` prints a table (about a minute; Redis figures need a
``redis-server`` on PATH). Timings here are measurements, never test assertions.
"""

from __future__ import annotations

import contextlib
import gc
import json
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from typing import Any, Callable, Dict, List, Optional

from auth_sessions import AuthError, MemoryTokenStore, RedisTokenStore, manager
from auth_sessions.auth import bearer
from auth_sessions.testing import FakeVendors
from auth_sessions.testing.redis_server import RedisServer

THREADS = 8


def _in_threads(count: int, work: Callable[[int], Any]) -> List[Any]:
    barrier = threading.Barrier(count)
    out: List[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        out[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def hung_endpoint() -> Dict[str, float]:
    """8 threads, ``timeout=2``, a token endpoint that accepts and never answers."""
    with FakeVendors() as fake:
        gate = threading.Event()
        fake.inject_token_fault("cobee", "hold", gate=gate)
        session = fake.session("cobee")
        started = time.monotonic()

        def call(_: int) -> float:
            with contextlib.suppress(AuthError):
                session.get("/x", timeout=2)
            return time.monotonic() - started

        ends = _in_threads(THREADS, call)
        gate.set()
        return {"last_failure_s": max(ends), "token_requests": fake.counts("cobee").token_requests}


def bad_credentials() -> Dict[str, int]:
    """Wrong secret, 8 threads x 25 calls."""
    with FakeVendors() as fake:
        session = fake.session("orum", client_secret="wrong-secret-123")

        def calls(_: int) -> int:
            failed = 0
            for _ in range(25):
                try:
                    session.get("/x")
                except AuthError:
                    failed += 1
            return failed

        failures = sum(_in_threads(THREADS, calls))
        return {
            "calls": THREADS * 25,
            "failed": failures,
            "token_requests": fake.counts("orum").token_requests,
        }


def throttled() -> Dict[str, float]:
    """A token endpoint answering 429 with ``Retry-After: 30``: 8 threads call for 10 s."""
    with FakeVendors() as fake:
        fake.inject_token_fault("cobee", "status", status=429, retry_after="30", count=10_000)
        session = fake.session("cobee")
        stop = time.monotonic() + 10

        def calls(_: int) -> List[float]:
            spent = []
            while time.monotonic() < stop:
                started = time.monotonic()
                with contextlib.suppress(AuthError):
                    session.get("/x", timeout=5)
                spent.append(time.monotonic() - started)
                time.sleep(0.05)
            return spent

        durations = [d for batch in _in_threads(THREADS, calls) for d in batch]
        return {
            "calls": len(durations),
            "token_requests": fake.counts("cobee").token_requests,
            "longest_call_s": max(durations),
        }


def renewal_stall(seconds: float = 20.0, background: bool = True) -> Dict[str, float]:
    """6-s tokens, 0.5 s token endpoint, leeway 3 s, 8 threads for ``seconds``."""
    with FakeVendors() as fake:
        fake.set_lifetime("cobee", 6)
        session_kwargs = {"leeway": 3, "background": background}
        warm = fake.session("cobee", **session_kwargs)
        warm.get("/warm")
        fake.inject_token_fault("cobee", "delay", delay=0.5, count=10_000)
        fake.reset_counts()
        stop = time.monotonic() + seconds

        def work(_: int) -> List[tuple]:
            session = fake.session("cobee", **session_kwargs)
            seen = []
            while time.monotonic() < stop:
                started = time.monotonic()
                status = session.get("/x", timeout=10).status_code
                seen.append((started, time.monotonic() - started, status))
            return seen

        rows = [r for batch in _in_threads(THREADS, work) for r in batch]
        renewals = fake.token_times("cobee")
        counts = fake.counts("cobee")
    in_window = [d for s, d, _ in rows if any(t - 0.05 <= s <= t + 0.55 for t in renewals)]
    steady = [d for s, d, _ in rows if not any(t - 0.05 <= s <= t + 0.55 for t in renewals)]

    def pct(values: List[float], q: float) -> float:
        return sorted(values)[int(q * (len(values) - 1))] * 1000 if values else 0.0

    return {
        "requests": len(rows),
        "renewals": len(renewals),
        "slower_than_0.4s": sum(1 for _, d, _ in rows if d > 0.4),
        "non_200": sum(1 for _, _, st in rows if st != 200),
        "expired_sent": counts.expired_presented,
        "window_p99_ms": pct(in_window, 0.99),
        "window_max_ms": max(in_window, default=0.0) * 1000,
        "steady_p99_ms": pct(steady, 0.99),
        "steady_max_ms": max(steady, default=0.0) * 1000,
    }


def redis_session_per_call(calls: int = 300) -> Optional[Dict[str, float]]:
    """The legacy pattern on a RedisTokenStore: store commands per request."""
    if shutil.which("redis-server") is None:
        return None
    import redis

    with (
        tempfile.TemporaryDirectory() as folder,
        RedisServer(folder) as server,
        FakeVendors() as fake,
    ):
        client = redis.Redis.from_url(server.url)
        store = RedisTokenStore(server.url, prefix="bench:")
        client.config_resetstat()
        for _ in range(calls):
            with fake.session("cobee", token_store=store) as session:
                session.get("/x")
            gc.collect()
        stats = client.info("commandstats")
        total = sum(
            int(v["calls"])
            for k, v in stats.items()
            if k.split("_", 1)[1] not in ("info", "config|resetstat")
        )
        return {"calls": calls, "redis_commands": total, "per_request": total / calls}


def lock_interrupts(trials: int = 20_000) -> Dict[str, int]:
    """SIGALRM at random offsets inside direct ``store.lock()`` sections in the main thread."""

    class Interrupted(Exception):
        pass

    armed = [False]

    def handler(signum: int, frame: Any) -> None:
        if armed[0]:
            armed[0] = False
            raise Interrupted

    previous = signal.signal(signal.SIGALRM, handler)
    store, rng, leaked, interrupted = MemoryTokenStore(), random.Random(7), 0, 0
    try:
        for _ in range(trials):
            try:
                try:
                    armed[0] = True
                    signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-6, 150e-6))
                    with store.lock("key", timeout=5):
                        sum(range(20))
                finally:
                    armed[0] = False
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except Interrupted:
                interrupted += 1
            if len(store._locks):
                leaked += 1
                store._locks.reset()
    finally:
        signal.signal(signal.SIGALRM, previous)
    return {"trials": trials, "interrupted": interrupted, "left_held": leaked}


def many_credential_sets(count: int = 100_000) -> Dict[str, float]:
    """Memory left behind by ``count`` distinct credential sets (locks and managers)."""
    store = MemoryTokenStore(maxsize=1024)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(count):
        key = f"vendor|https://x/token|client-{i}|digest"
        with store.lock(key):
            pass
        manager.manager_for(
            store,
            key,
            vendor="v",
            client_id=f"c{i}",
            url="u",
            clock=time.time,
            policy=manager.Policy(),
            header=bearer,
        )
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "credential_sets": count,
        "growth_mb": (after - before) / 1e6,
        "lock_entries_left": len(store._locks),
        "managers_alive": len(manager.managers_of(store)),
    }


def run() -> Dict[str, Any]:
    return {
        "hung_endpoint": hung_endpoint(),
        "bad_credentials": bad_credentials(),
        "retry_after_30": throttled(),
        "renewal_stall_background": renewal_stall(),
        "renewal_stall_inline": renewal_stall(background=False),
        "redis_session_per_call": redis_session_per_call(),
        "lock_interrupts": lock_interrupts(),
        "credential_sets": many_credential_sets(),
    }


if __name__ == "__main__":
    names = sys.argv[1:]
    chosen = {name: globals()[name]() for name in names} if names else run()
    print(json.dumps(chosen, indent=2))
    print("(renewal windows: requests that started while a token fetch was in flight)")
