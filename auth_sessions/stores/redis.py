"""``RedisTokenStore``: tokens shared by a fleet of processes and hosts (extra ``[redis]``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Union

from ..errors import ConfigurationError
from ..tokens import Failure, Token
from ._common import hashed, token_from_dict, token_to_dict
from ._fallback import Down, Fallback
from ._leases import LEASE_MARGIN, Leases
from .base import BaseTokenStore

__all__ = ["RedisTokenStore"]

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


class RedisTokenStore(BaseTokenStore):
    """Tokens in Redis, shared by every process and host that points at it.

    Each token (with its refresh token, if the vendor rotates one) is stored under
    ``{prefix}token:{digest of the store key}`` with a TTL equal to its remaining life.
    Single-flight uses a lease (a Redis lock lasting the fetch's budget plus 2 s, released on
    every exit path, interpreter exit included: see ``stores/_leases.py``), so a holder cannot
    block the fleet; compare-and-invalidate is one Lua script. When Redis is unreachable the
    store keeps working on a local in-memory fallback, logs one warning per outage, and tries
    Redis again every ``retry_interval`` seconds. During an outage a rotating refresh token
    is presented only if this process fetched it itself since the outage began (another
    process may have rotated any older one). Failure memory is shared like tokens.
    Thread-safe and fork-safe (redis-py reconnects in a forked child; in-process locks are
    reset).

    Args:
        client_or_url: a ``redis.Redis`` client or a ``redis://`` URL.
        prefix: prepended to every key this store writes.
        lock_ttl: the longest a lease (the cross-process lock) may last. A lease lasts the
            guarded fetch's budget plus 2 s, and never more than this.
        retry_interval: seconds to stay on the fallback after Redis failed.
        socket_timeout: connect and read timeout when a URL is given.
        clock: epoch-seconds clock for TTLs and failure memory.

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
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "RedisTokenStore needs redis-py: pip install 'auth-sessions[redis]'"
            ) from None
        errors = (redis.RedisError, OSError)
        self._url = client_or_url if isinstance(client_or_url, str) else None
        self._socket_timeout = socket_timeout
        if isinstance(client_or_url, str):
            client_or_url = redis.Redis.from_url(
                client_or_url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
        self.client = client_or_url
        self.prefix = prefix
        self.lock_ttl = lock_ttl
        self.retry_interval = retry_interval
        self._script = self.client.register_script(_INVALIDATE)
        self._outages = Fallback("Redis", errors, retry_interval=retry_interval, clock=clock)
        self._leases = Leases(self.client, errors)
        self._fallback = self._outages.memory

    def __repr__(self) -> str:
        return f"RedisTokenStore(prefix={self.prefix!r}, outage={self._outages.outage})"

    def __reduce__(self) -> Any:
        """Reopened from its URL (or its client's connection settings) when loaded."""
        target: Any = self._url
        if target is None:
            pool = getattr(self.client, "connection_pool", None)
            kwargs = dict(getattr(pool, "connection_kwargs", {}))
            target = _ClientSpec(kwargs)
        options = {
            "prefix": self.prefix,
            "lock_ttl": self.lock_ttl,
            "retry_interval": self.retry_interval,
            "socket_timeout": self._socket_timeout,
        }
        return (_reopen, (target, options))

    def after_fork(self) -> None:
        self._outages.after_fork()
        self._leases.forget_all()  # the parent's leases are the parent's to release
        # Never talk over the parent's sockets: forget them (without closing the parent's).
        pool = getattr(self.client, "connection_pool", None)
        if pool is not None and hasattr(pool, "reset"):
            pool.reset()

    def _key(self, key: str) -> str:
        return f"{self.prefix}token:{hashed(key)}"

    def _failure_key(self, key: str) -> str:
        return f"{self.prefix}failure:{hashed(key)}"

    # ---------------------------------------------------------------- TokenStore

    def get(self, key: str) -> Optional[Token]:
        return self.load(key)[0]

    def get_failure(self, key: str) -> Optional[Failure]:
        return self.load(key)[1]

    def load(self, key: str) -> Tuple[Optional[Token], Optional[Failure]]:
        def shared() -> Tuple[Optional[Token], Optional[Failure]]:
            raw = self.client.mget([self._key(key), self._failure_key(key)])
            failure: Optional[Failure] = _decode(raw[1], Failure.from_dict)
            if failure is not None and failure.until_ts <= self.clock():
                failure = None
            return _decode(raw[0], token_from_dict), failure

        return self._outages.read(shared, lambda: self._fallback.load(key))

    def put(self, key: str, token: Token) -> None:
        self._fallback.put(key, token)  # warm for an outage
        self._outages.fetched(key)
        ttl_ms = int((token.keep_until - self.clock()) * 1000)
        if ttl_ms > 0:
            value = json.dumps({**token_to_dict(token), "digest": _digest(token)})
            self._outages.write(lambda: self.client.set(self._key(key), value, px=ttl_ms))

    def invalidate(self, key: str, token: Token) -> bool:
        local = self._fallback.invalidate(key, token)
        return bool(
            self._outages.read(
                lambda: self._script(keys=[self._key(key)], args=[_digest(token)]),
                lambda: local,
            )
        )

    def delete(self, key: str) -> None:
        self._fallback.delete(key)
        self._outages.write(lambda: self.client.delete(self._key(key), self._failure_key(key)))

    def put_failure(self, key: str, failure: Failure) -> None:
        self._fallback.put_failure(key, failure)
        ttl_ms = int((failure.until_ts - self.clock()) * 1000)
        if ttl_ms > 0:
            value = json.dumps(failure.to_dict())
            self._outages.write(lambda: self.client.set(self._failure_key(key), value, px=ttl_ms))

    def may_refresh(self, key: str, token: Token) -> bool:
        return self._outages.may_refresh(key)

    def clear_storage(self) -> None:
        self._fallback.clear_storage()

        def shared() -> None:  # its own namespaces only: never a neighbour's key, never a lock
            for space in ("token:", "failure:"):
                pattern = _glob_escape(self.prefix + space) + "*"
                keys = list(self.client.scan_iter(match=pattern))
                if keys:
                    self.client.delete(*keys)

        self._outages.write(shared)

    @contextlib.contextmanager
    def process_lock(self, key: str, blocking: bool, timeout: float) -> Iterator[bool]:
        if not self._outages.available():
            yield True  # across processes only while Redis is up
            return
        self._leases.sweep()
        name, token = f"{self.prefix}lock:{hashed(key)}", uuid.uuid4().hex
        ttl = min(self.lock_ttl, timeout + LEASE_MARGIN)  # the fetch never outlives its budget
        lock = self.client.lock(name, timeout=ttl, sleep=0.01, thread_local=False)
        try:
            try:
                acquired = bool(
                    self._outages.call(
                        lambda: lock.acquire(
                            blocking=blocking, blocking_timeout=timeout, token=token
                        )
                    )
                )
            except Down:  # the SET may still run on a stalled server: fence it off now
                self._leases.release(name, token)
                acquired = True  # the in-process lock is what we have
            else:
                if acquired:
                    self._leases.hold(name, token)
            yield acquired
        finally:
            self._leases.release(name, token)  # ours only; it may have expired already


class _ClientSpec:
    """The connection settings of a given ``redis.Redis`` client, for pickling."""

    def __init__(self, kwargs: Dict[str, Any]) -> None:
        self.kwargs: Dict[str, Any] = {
            k: v for k, v in kwargs.items() if isinstance(v, (str, int, float, bool, type(None)))
        }


def _reopen(target: Any, options: Dict[str, Any]) -> RedisTokenStore:
    if isinstance(target, _ClientSpec):
        import redis

        target = redis.Redis(**target.kwargs)
    return RedisTokenStore(target, **options)


def _glob_escape(text: str) -> str:
    """``text`` matched literally by a Redis glob (``*``, ``?``, ``[``, ``\\`` escaped)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _decode(raw: Any, build: Callable[[Any], Any]) -> Any:
    if raw is None:
        return None
    try:
        return build(json.loads(raw))
    except ValueError:
        return None
