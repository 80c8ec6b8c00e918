"""Code run in child processes by the multi-process store tests (importable for spawn)."""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Tuple

import auth_sessions
from auth_sessions import FileTokenStore, RedisTokenStore, TokenStore


def make_store(spec: Tuple[Any, ...]) -> TokenStore:
    """``("file", path)``, ``("redis", url, prefix[, lock_ttl])``, ``("cluster", nodes,
    prefix)`` or ``("sentinel", sentinels, service, prefix)``."""
    if spec[0] == "file":
        return FileTokenStore(spec[1])
    if spec[0] == "cluster":
        from redis.cluster import ClusterNode, RedisCluster

        nodes = [ClusterNode(host, port) for host, port in spec[1]]
        return RedisTokenStore(
            RedisCluster(startup_nodes=nodes, socket_timeout=1.0), prefix=spec[2]
        )
    if spec[0] == "sentinel":
        from redis.sentinel import Sentinel

        master = Sentinel(spec[1], socket_timeout=1.0).master_for(spec[2], socket_timeout=1.0)
        return RedisTokenStore(master, prefix=spec[3])
    lock_ttl = float(spec[3]) if len(spec) > 3 else 120.0
    return RedisTokenStore(spec[1], prefix=spec[2], lock_ttl=lock_ttl)


def hammer(
    spec: Tuple[Any, ...],
    vendor: str,
    kwargs: Dict[str, Any],
    threads: int,
    start: Any,
    out: Any,
    calls: int = 1,
    ready: Any = None,
    warmed: Any = None,
) -> None:
    """``threads`` threads, released together after every process is ready, ``calls``
    requests each; each outcome is a status code or the name of the error raised. Each
    thread releases ``ready`` (a semaphore) as it makes its first call. With ``warmed``
    (a semaphore), the process first makes one call, so its threads start with the token
    it holds, and releases ``warmed``."""
    store = make_store(spec)
    if warmed is not None:
        auth_sessions.for_vendor(vendor, token_store=store, **kwargs).get("/warm")
        warmed.release()
    statuses: List[Any] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work() -> None:
        session = auth_sessions.for_vendor(vendor, token_store=store, **kwargs)
        barrier.wait()
        if ready is not None:
            ready.release()
        for _ in range(calls):
            try:
                status: Any = session.get("/fleet").status_code
            except auth_sessions.AuthError as exc:
                status = type(exc).__name__
            with lock:
                statuses.append(status)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start.wait()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(statuses)


def hold_lock(spec: Tuple[Any, ...], key: str, held: Any, release: Any) -> None:
    """Take the store's lock for ``key``, say so, and keep it until told (or killed)."""
    store = make_store(spec)
    with store.lock(key) as acquired:
        held.set() if acquired else None
        release.wait(30)


def get_status(session: Any) -> Tuple[int, str]:
    """A pickled session, used in a pool worker: its status and the token it sent."""
    response = session.get("/pooled")
    return response.status_code, session.auth.get_token().access_token.reveal()[:12]


def loop(
    spec: Tuple[Any, ...],
    vendor: str,
    kwargs: Dict[str, Any],
    threads: int,
    start: Any,
    stop: Any,
    running: Any,
    out: Any,
) -> None:
    """``threads`` threads calling the API, each pacing itself at ~200 calls/s, from ``start``
    until ``stop``; each releases ``running`` after its first call. Puts ``{outcome: n}``."""
    store = make_store(spec)
    outcomes: Dict[Any, int] = {}
    lock = threading.Lock()

    def work() -> None:
        session = auth_sessions.for_vendor(vendor, token_store=store, **kwargs)
        first = True
        while True:
            try:
                outcome: Any = session.get("/loop").status_code
            except auth_sessions.AuthError as exc:
                outcome = type(exc).__name__
            with lock:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if first:
                running.release()
                first = False
            if stop.wait(0.005):  # pacing, not synchronisation: stop ends the loop
                return

    start.wait()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(outcomes)
