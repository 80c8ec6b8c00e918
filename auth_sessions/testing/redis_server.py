"""A throwaway ``redis-server`` on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any, Optional, Sequence

__all__ = ["RedisServer"]


class RedisServer:
    """Start ``redis-server`` (Debian's package) on 127.0.0.1 with no persistence.

    Use as a context manager, or call :meth:`stop`. ``url`` is ``redis://127.0.0.1:PORT/0``.
    ``args`` are more ``redis-server`` options (``--enable-debug-command local``...).

    Raises:
        FileNotFoundError: ``redis-server`` is not on PATH.
        RuntimeError: it did not answer PING within 15 s.
    """

    def __init__(self, folder: Optional[str] = None, *, args: Sequence[str] = ()) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        folder = folder or tempfile.gettempdir()
        args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", folder, "--protected-mode", "no", *args]  # fmt: skip
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
