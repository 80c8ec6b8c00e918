"""A throwaway ``redis-server`` on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

__all__ = ["RedisClusterServers", "RedisServer", "SentinelSet"]


class RedisServer:
    """Start ``redis-server`` (Debian's package) on 127.0.0.1 with no persistence.

    Use as a context manager, or call :meth:`stop`. ``url`` is ``redis://127.0.0.1:PORT/0``.
    ``args`` are more ``redis-server`` options (``--enable-debug-command local``...).

    Raises:
        FileNotFoundError: ``redis-server`` is not on PATH.
        RuntimeError: it did not answer PING within 15 s.
    """

    def __init__(
        self,
        folder: Optional[str] = None,
        *,
        args: Sequence[str] = (),
        port: Optional[int] = None,
        config: Optional[str] = None,
    ) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        self.port = port if port is not None else _free_ports(1)[0]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        folder = folder or tempfile.gettempdir()
        if config is not None:  # a sentinel: its settings are in its (writable) config file
            args = [exe, config, "--sentinel", "--dir", folder]
        else:
            args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", folder, "--protected-mode", "no",
                    "--repl-diskless-sync-delay", "0",
                    *args]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)  # waiting for another process to come up

    def stop(self) -> None:
        """Kill the server (as a crash would) and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _cluster_ports(count: int) -> List[int]:
    """Ports free on loopback whose cluster bus port (port + 10000) is free too."""
    found: List[int] = []
    candidates = random.sample(range(20000, 30000), 2000)
    for port in candidates:
        try:
            with socket.socket() as one, socket.socket() as bus:
                one.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError("no free ports for a cluster")


def _free_ports(count: int) -> List[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # not up yet: keep asking until the deadline
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout:.0f}s")
        time.sleep(0.05)  # polling a server that is coming up


def _replicas_online(port: int) -> bool:
    """Whether every replica of the primary on ``port`` has finished its first sync."""
    import redis

    info = redis.Redis(port=port, socket_timeout=1).info("replication")
    replicas = [info[f"slave{i}"] for i in range(int(info.get("connected_slaves", 0)))]
    return bool(replicas) and all(r.get("state") == "online" for r in replicas)


class RedisClusterServers:
    """A Redis Cluster on loopback: ``masters`` primaries, each with ``replicas`` replicas
    (``redis-cli --cluster create``). ``nodes`` are ``(host, port)`` pairs; :meth:`client`
    opens a ``redis.cluster.RedisCluster`` on them. Stop with :meth:`stop` or ``with``.
    """

    def __init__(self, folder: str, *, masters: int = 3, replicas: int = 1) -> None:
        self.servers: List[RedisServer] = []
        self.masters, self.replicas = masters, replicas
        try:
            for port in _cluster_ports(masters * (1 + replicas)):
                node_folder = os.path.join(folder, str(port))
                os.makedirs(node_folder, exist_ok=True)
                self.servers.append(
                    RedisServer(
                        node_folder,
                        port=port,
                        args=[
                            "--cluster-enabled",
                            "yes",
                            "--cluster-node-timeout",
                            "1500",
                            "--cluster-config-file",
                            f"nodes-{port}.conf",
                        ],
                    )
                )
            self.nodes = [("127.0.0.1", s.port) for s in self.servers]
            subprocess.run(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *[f"{h}:{p}" for h, p in self.nodes],
                    "--cluster-replicas",
                    str(replicas),
                    "--cluster-yes",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
            )
            _until(self._ready, "the cluster did not settle")
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        import redis

        for _, port in self.nodes:
            node = redis.Redis(port=port, socket_timeout=1)
            info = node.cluster("info")
            if info.get("cluster_state") != "ok" or int(info.get("cluster_known_nodes", 0)) < len(
                self.nodes
            ):
                return False
            if node.info("replication")["role"] == "master" and not _replicas_online(port):
                return False
        client = self.client()
        try:
            client.set("{probe}", "1")
            return bool(client.get("{probe}") == b"1")
        finally:
            client.close()

    def client(self, **kwargs: Any) -> Any:
        from redis.cluster import ClusterNode, RedisCluster

        nodes = [ClusterNode(host, port) for host, port in self.nodes]  # type: ignore[no-untyped-call]
        return RedisCluster(startup_nodes=nodes, socket_timeout=1.0, **kwargs)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> RedisClusterServers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class SentinelSet:
    """One master, ``replicas`` replicas and ``sentinels`` sentinels watching them as
    ``service`` (``redis-server --sentinel``), on loopback. :meth:`master` opens the
    Sentinel-managed master client; :meth:`failover` forces a failover and waits until the
    sentinels name the new master. Stop with :meth:`stop` or ``with``.
    """

    service = "authsessions"

    def __init__(self, folder: str, *, replicas: int = 1, sentinels: int = 3) -> None:
        self.servers: List[RedisServer] = []
        try:
            self.servers.append(RedisServer(folder))
            master = self.servers[0].port
            for _ in range(replicas):
                self.servers.append(
                    RedisServer(folder, args=["--replicaof", "127.0.0.1", str(master)])
                )  # the master syncs new replicas at once (below), not after 5 s
            for port in _free_ports(sentinels):
                config = os.path.join(folder, f"sentinel-{port}.conf")
                with open(config, "w") as handle:
                    handle.write(
                        f"port {port}\nbind 127.0.0.1\nprotected-mode no\n"
                        f"sentinel monitor {self.service} 127.0.0.1 {master} 2\n"
                        f"sentinel down-after-milliseconds {self.service} 1000\n"
                        f"sentinel failover-timeout {self.service} 4000\n"
                    )
                self.servers.append(RedisServer(folder, port=port, config=config))
            self.sentinels = [("127.0.0.1", s.port) for s in self.servers[1 + replicas :]]
            _until(self._ready, "the sentinels did not see the replicas and each other")
        except BaseException:
            self.stop()
            raise

    def _sentinel(self, host: str, port: int) -> Any:
        import redis

        return redis.Redis(host, port, socket_timeout=1, decode_responses=True)

    def _ready(self) -> bool:
        for host, port in self.sentinels:
            sentinel = self._sentinel(host, port)
            if not sentinel.execute_command("SENTINEL", "REPLICAS", self.service):
                return False
            if len(sentinel.execute_command("SENTINEL", "SENTINELS", self.service)) < 2:
                return False
        return _replicas_online(self.servers[0].port)

    def master_address(self) -> Tuple[str, int]:
        host, port = self._sentinel(*self.sentinels[0]).execute_command(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service
        )
        return host, int(port)

    def master(self, **kwargs: Any) -> Any:
        from redis.sentinel import Sentinel

        sentinel = Sentinel(self.sentinels, socket_timeout=1.0)
        return sentinel.master_for(self.service, socket_timeout=1.0, **kwargs)

    def failover(self) -> Tuple[str, int]:
        """Promote a replica; return the new master's address once every sentinel names it."""
        before = self.master_address()
        self._sentinel(*self.sentinels[0]).execute_command("SENTINEL", "FAILOVER", self.service)

        def moved() -> bool:
            asked = "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service
            named = [tuple(self._sentinel(*s).execute_command(*asked)) for s in self.sentinels]
            return all(address != (before[0], str(before[1])) for address in named)

        _until(moved, "the sentinels did not promote a replica")
        return self.master_address()

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()

    def __enter__(self) -> SentinelSet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
