"""Stores at scale: Redis commands per request on one node and on a Cluster, and what sealing
costs (per store write and read, and on the hot path), on real servers.

    python -m benchmarks.stores_at_scale
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List

import requests

from auth_sessions import FileTokenStore, RedisTokenStore, Token, generate_store_key
from auth_sessions.testing import FakeVendors
from auth_sessions.testing.redis_server import RedisClusterServers, RedisServer

from .hot_path import StaticHeaderAuth, interleaved

CALLS = 300


def _commands(nodes: List[Any]) -> int:
    """Commands clients sent the primaries among ``nodes`` (not INFO, CONFIG RESETSTAT or
    CLUSTER, ours; nor REPLCONF, the replicas' acknowledgements)."""
    total = 0
    for node in nodes:
        if node.info("replication")["role"] != "master":
            continue
        for name, stats in node.info("commandstats").items():
            command = name.split("_", 1)[1]
            if not command.startswith(("info", "config", "cluster", "command", "replconf")):
                total += int(stats["calls"])
    return total


def session_per_call(store: RedisTokenStore, nodes: List[Any], calls: int = CALLS) -> float:
    """Redis commands per request when every request makes a new session (legacy code)."""
    with FakeVendors() as fake:
        for node in nodes:
            node.config_resetstat()
        for _ in range(calls):
            with fake.session("cobee", token_store=store) as session:
                session.get("/x")
            gc.collect()
        return _commands(nodes) / calls


def _per_op_us(action: Callable[[], Any], number: int = 2000) -> float:
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(number):
            action()
        samples.append((time.perf_counter() - started) / number * 1e6)
    return statistics.median(samples)


def sealing_cost(store_of: Callable[..., Any]) -> Dict[str, float]:
    """µs per ``put`` and per ``get``, in clear and sealed, on the store ``store_of`` opens."""
    token = Token.create(
        "a" * 900, expires_ts=time.time() + 3600, issued_ts=time.time(), refresh_token="r" * 64
    )
    out: Dict[str, float] = {}
    for label, keys in (("clear", None), ("sealed", [generate_store_key()])):
        store = store_of(encryption_keys=keys)
        store.put("bench", token)
        out[f"put_{label}_us"] = _per_op_us(partial(store.put, "bench", token), 300)
        out[f"get_{label}_us"] = _per_op_us(partial(store.get, "bench"), 300)
    return out


def hot_path(store: Any) -> Dict[str, float]:
    """ns per call of the auth on a sealed store against the floor (sealing is off the path)."""
    with FakeVendors() as fake:
        auth = fake.auth("cobee", token_store=store)
        auth.get_token()
        request = requests.Request("GET", fake.base_url("cobee") + "/x").prepare()
        timed = interleaved({"floor": (StaticHeaderAuth(), request), "sealed": (auth, request)})
    return {**timed, "ratio": timed["sealed"] / timed["floor"]}


def run() -> Dict[str, Any]:
    import redis

    report: Dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        with RedisServer(folder) as server:
            node = redis.Redis.from_url(server.url)
            report["per_request_one_node"] = session_per_call(
                RedisTokenStore(server.url, prefix="bench1:"), [node]
            )
            report["per_request_one_node_sealed"] = session_per_call(
                RedisTokenStore(
                    server.url, prefix="bench2:", encryption_keys=[generate_store_key()]
                ),
                [node],
            )
            report["redis_us"] = sealing_cost(
                lambda **kw: RedisTokenStore(server.url, prefix="bench3:", **kw)
            )
            key = generate_store_key()
            report["hot_path_sealed_redis_ns"] = hot_path(
                RedisTokenStore(server.url, prefix="bench4:", encryption_keys=[key])
            )
        report["file_us"] = sealing_cost(
            lambda **kw: FileTokenStore(Path(folder) / f"t{len(kw)}.json", **kw)
        )
        with RedisClusterServers(folder) as cluster:
            nodes = [redis.Redis(host, port) for host, port in cluster.nodes]
            report["per_request_cluster"] = session_per_call(
                RedisTokenStore(cluster.client(), prefix="bench5:"), nodes
            )
    return report


if __name__ == "__main__":
    result = run()
    print(f"Redis commands per request, session per call ({CALLS} requests):")
    for label in ("one_node", "one_node_sealed", "cluster"):
        per = result[f"per_request_{label}"]
        print(f"  {label:16} {per:.3f} per request ({per * CALLS:.0f} per {CALLS})")
    for place in ("redis", "file"):
        cost = result[f"{place}_us"]
        put = f"put {cost['put_clear_us']:.0f} -> {cost['put_sealed_us']:.0f}"
        get = f"get {cost['get_clear_us']:.0f} -> {cost['get_sealed_us']:.0f}"
        print(f"{place} store, us per op in clear -> sealed: {put}, {get}")
    hot = result["hot_path_sealed_redis_ns"]
    print(
        f"hot path on a sealed Redis store: {hot['sealed']:.0f} ns vs floor {hot['floor']:.0f} ns "
        f"({hot['ratio']:.2f}x)"
    )
