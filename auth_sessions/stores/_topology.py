"""What the Redis store needs to know about the deployment behind a redis-py client.

Three topologies: one node (``redis.Redis``, any URL), a Sentinel-managed master
(``Sentinel(...).master_for(name)``) and Redis Cluster (``redis.cluster.RedisCluster``).
Here: which errors mean "the store is unavailable", whether a write must reach a replica
before it can be trusted across a failover, and how a client object is described for pickling
and opened again on the same topology (never silently on localhost).
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List, Optional, Tuple, Type

from ..errors import ConfigurationError

__all__ = ["client_timeout", "describe", "mark_spent", "outage_errors", "reopen"]

_PLAIN = (str, int, float, bool, type(None))


def outage_errors(redis: Any) -> Tuple[Type[BaseException], ...]:
    """Errors that make the store fall back: every redis-py error, Cluster's own included
    (``RedisClusterException`` is not a ``RedisError``; ``MOVED``/``ASK`` storms,
    ``CLUSTERDOWN`` and ``TRYAGAIN`` are), and socket errors."""
    return (redis.RedisError, redis.exceptions.RedisClusterException, OSError)


def is_cluster(client: Any) -> bool:
    try:
        from redis.cluster import RedisCluster
    except ImportError:  # pragma: no cover - redis-py < 4.1
        return False
    return isinstance(client, RedisCluster)


def _sentinel_pool(client: Any) -> Any:
    pool = getattr(client, "connection_pool", None)
    return pool if hasattr(pool, "sentinel_manager") and hasattr(pool, "service_name") else None


def client_timeout(client: Any) -> Optional[float]:
    """The socket timeout ``client``'s connections read with (None: they wait forever);
    0.0 when it cannot be told (a client of another kind: it is trusted)."""
    if is_cluster(client):
        kwargs = client.nodes_manager.connection_kwargs
    else:
        kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return 0.0
    waits = kwargs.get("socket_timeout")
    return float(waits) if isinstance(waits, (int, float)) else None


def mark_spent(client: Any, name: str, ttl_ms: int, wait_ms: int) -> str:
    """Write the mark ``name`` if absent (``SET NX``) and, where the primary has replicas,
    wait up to ``wait_ms`` for one to hold it (``WAIT 1``, on the same connection). Returns
    "" when the mark is ours and would survive a failover, else why not. A mark only the
    primary holds is lost if a replica is promoted, so it proves nothing."""
    node = (
        client.get_redis_connection(client.get_node_from_key(name))
        if is_cluster(client)
        else client
    )
    pool = _sentinel_pool(client)
    if pool is not None:  # the sentinels' word: a demoted primary may not know it yet
        replicas = bool(pool.sentinel_manager.discover_slaves(pool.service_name))
    else:
        replicas = int(node.info("replication").get("connected_slaves", 0)) > 0
    pipe = node.pipeline(transaction=False)
    pipe.set(name, b"1", nx=True, px=ttl_ms)
    if replicas:
        pipe.wait(1, wait_ms)
    answers = pipe.execute()
    if not answers[0]:
        return "another process presented it already"
    if replicas and int(answers[1]) < 1:
        return "its spent-mark reached no replica (a failover may be under way)"
    return ""


# ---------------------------------------------------------------------------- pickling


def describe(client: Any) -> Tuple[str, Dict[str, Any]]:
    """``(topology, settings)`` enough to open ``client``'s deployment again elsewhere.

    Raises:
        ConfigurationError: a client this cannot describe (name the URL form instead).
    """
    import redis

    if is_cluster(client):
        nodes = [(node.host, node.port) for node in client.get_nodes()]
        return "cluster", {
            "nodes": nodes,
            "kwargs": _kwargs(client.nodes_manager.connection_kwargs),
        }
    pool = _sentinel_pool(client)
    if pool is not None:
        manager = pool.sentinel_manager
        sentinels = [_address(s.connection_pool.connection_kwargs) for s in manager.sentinels]
        return "sentinel", {
            "sentinels": sentinels,
            "service": pool.service_name,
            "sentinel_kwargs": _kwargs(manager.sentinel_kwargs or {}),
            "kwargs": _kwargs(pool.connection_kwargs),
        }
    if isinstance(client, redis.Redis) and hasattr(client, "connection_pool"):
        pool = client.connection_pool
        kwargs = dict(pool.connection_kwargs)
        if issubclass(pool.connection_class, redis.UnixDomainSocketConnection):
            kwargs["unix_socket_path"] = kwargs.pop("path", None)
        elif issubclass(pool.connection_class, redis.SSLConnection):
            kwargs["ssl"] = True
        return "node", {"kwargs": _kwargs(kwargs, keep_address=True)}
    raise ConfigurationError(
        f"RedisTokenStore cannot pickle a store built on a {type(client).__name__}; build it "
        "from a redis://, rediss:// or unix:// URL to share it with other processes"
    )


def reopen(topology: str, settings: Dict[str, Any]) -> Any:
    """A client on the deployment :func:`describe` described."""
    import redis

    kwargs = settings["kwargs"]
    if topology == "cluster":
        from redis.cluster import ClusterNode, RedisCluster

        nodes = [ClusterNode(host, port) for host, port in settings["nodes"]]  # type: ignore[no-untyped-call]
        return RedisCluster(startup_nodes=nodes, **kwargs)
    if topology == "sentinel":
        from redis.sentinel import Sentinel

        sentinel = Sentinel(
            settings["sentinels"], sentinel_kwargs=settings["sentinel_kwargs"], **kwargs
        )
        return sentinel.master_for(settings["service"])
    return redis.Redis(**kwargs)


def _address(kwargs: Dict[str, Any]) -> Tuple[str, int]:
    return kwargs.get("host", "localhost"), int(kwargs.get("port", 6379))


def _kwargs(kwargs: Dict[str, Any], keep_address: bool = False) -> Dict[str, Any]:
    """The plain settings ``redis.Redis(...)`` takes (not host/port unless asked)."""
    import redis

    accepted: List[str] = list(inspect.signature(redis.Redis.__init__).parameters)
    dropped = () if keep_address else ("host", "port")
    return {
        k: v
        for k, v in kwargs.items()
        if k in accepted and k not in dropped and isinstance(v, _PLAIN)
    }
