"""``RedisTokenStore``: tokens shared by a fleet of processes and hosts (extra ``[redis]``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from typing import Any, Iterator, Optional, Union

from ..errors import ConfigurationError
from ..tokens import Token
from ._common import after_fork, hashed, token_from_dict, token_to_dict
from .memory import MemoryTokenStore

__all__ = ["RedisTokenStore"]

logger = logging.getLogger(__name__)

# Compare-and-delete in one step: remove the entry only if it still holds the token sent.
_INVALIDATE = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local ok, entry = pcall(cjson.decode, value)
if ok and entry['digest'] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _digest(token: Token) -> str:
    return hashlib.sha256(token.access_token.reveal().encode()).hexdigest()


class RedisTokenStore:
    """Tokens in Redis, shared by every process and host that points at it.

    Each token (with Cair's rotated refresh token, in the same value) is stored under
    ``{prefix}token:{digest of the store key}`` with a TTL equal to its remaining life.
    Single-flight uses a Redis lock with a timeout (``lock_ttl``), so a crashed holder cannot
    block the fleet; compare-and-invalidate is one Lua script. When Redis is unreachable the
    store keeps working on a local in-memory fallback, logs one warning per outage, and tries
    Redis again every ``retry_interval`` seconds. Thread-safe and fork-safe (redis-py
    reconnects in a forked child; in-process locks are reset).

    Args:
        client_or_url: a ``redis.Redis`` client or a ``redis://`` URL.
        prefix: prepended to every key this store writes.
        lock_ttl: seconds after which a lock held by a crashed process expires.
        retry_interval: seconds to stay on the fallback after Redis failed.
        socket_timeout: connect and read timeout when a URL is given.

    Raises:
        ConfigurationError: redis-py is not installed (``pip install 'auth-sessions[redis]'``).
    """

    def __init__(
        self,
        client_or_url: Union[str, Any],
        *,
        prefix: str = "auth_sessions:",
        lock_ttl: float = 120.0,
        retry_interval: float = 5.0,
        socket_timeout: float = 1.0,
    ) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "RedisTokenStore needs redis-py: pip install 'auth-sessions[redis]'"
            ) from None
        self._errors = (redis.RedisError, OSError)
        if isinstance(client_or_url, str):
            client_or_url = redis.Redis.from_url(
                client_or_url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
        self.client = client_or_url
        self.prefix = prefix
        self.lock_ttl = lock_ttl
        self.retry_interval = retry_interval
        self._script = self.client.register_script(_INVALIDATE)
        self._fallback = MemoryTokenStore()
        self._state = threading.Lock()
        self._down_until = 0.0
        self._outage = False
        after_fork(self)

    def __repr__(self) -> str:
        return f"RedisTokenStore(prefix={self.prefix!r}, outage={self._outage})"

    def _after_fork_in_child(self) -> None:
        self._state = threading.Lock()
        # Never talk over the parent's sockets: forget them (without closing the parent's).
        pool = getattr(self.client, "connection_pool", None)
        if pool is not None and hasattr(pool, "reset"):
            pool.reset()

    # ---------------------------------------------------------------- outage handling

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        with self._state:
            self._down_until = time.monotonic() + self.retry_interval
            if not self._outage:
                self._outage = True
                logger.warning(
                    "Redis unreachable (%s); tokens are kept in this process until it is back",
                    type(exc).__name__,
                )

    def _succeeded(self) -> None:
        if self._outage:
            with self._state:
                if self._outage:
                    self._outage = False
                    logger.info("Redis reachable again; tokens are shared again")

    def _key(self, key: str) -> str:
        return f"{self.prefix}token:{hashed(key)}"

    # ---------------------------------------------------------------- TokenStore

    def get(self, key: str) -> Optional[Token]:
        if self._available():
            try:
                raw = self.client.get(self._key(key))
            except self._errors as exc:
                self._failed(exc)
            else:
                self._succeeded()
                if raw is None:
                    return None
                try:
                    return token_from_dict(json.loads(raw))
                except ValueError:
                    return None
        return self._fallback.get(key)

    def put(self, key: str, token: Token) -> None:
        self._fallback.put(key, token)  # warm for an outage
        ttl_ms = int((token.keep_until - time.time()) * 1000)
        if ttl_ms <= 0 or not self._available():
            return
        value = json.dumps({**token_to_dict(token), "digest": _digest(token)})
        try:
            self.client.set(self._key(key), value, px=ttl_ms)
        except self._errors as exc:
            self._failed(exc)
        else:
            self._succeeded()

    def invalidate(self, key: str, token: Token) -> bool:
        local = self._fallback.invalidate(key, token)
        if not self._available():
            return local
        try:
            removed = self._script(keys=[self._key(key)], args=[_digest(token)])
        except self._errors as exc:
            self._failed(exc)
            return local
        self._succeeded()
        return bool(removed)

    @contextlib.contextmanager
    def lock(self, key: str, *, blocking: bool = True, timeout: float = 60.0) -> Iterator[bool]:
        started = time.monotonic()
        with self._fallback.lock(key, blocking=blocking, timeout=timeout) as local:
            if not local or not self._available():
                yield local  # one thread per process; across processes only while Redis is up
                return
            lock = self.client.lock(
                f"{self.prefix}lock:{hashed(key)}", timeout=self.lock_ttl, sleep=0.01
            )
            try:
                remaining = max(0.0, timeout - (time.monotonic() - started))
                acquired = bool(lock.acquire(blocking=blocking, blocking_timeout=remaining))
            except self._errors as exc:
                self._failed(exc)
                yield True  # Redis went away: the in-process lock is what we have
                return
            self._succeeded()
            try:
                yield acquired
            finally:
                if acquired:
                    with contextlib.suppress(*self._errors):
                        lock.release()  # it may have expired (lock_ttl): nothing to do then
