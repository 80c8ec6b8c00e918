"""``RedisTokenStore``: tokens shared by a fleet of processes and hosts (extra ``[redis]``)."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple, Union

from ..errors import ConfigurationError
from ..events import Event, emit
from ..tokens import Failure, Token
from ._bounded import Bound
from ._common import hashed, token_from_dict, token_to_dict
from ._fallback import Down, Fallback
from ._leases import LEASE_MARGIN, LEASE_TERM, Leases, compare_and_delete
from ._seal import codec_for
from ._topology import client_timeout, describe, mark_spent, outage_errors, reopen
from .base import BaseTokenStore

__all__ = ["RedisTokenStore"]

_WAIT_MS = 500  # how long a spent-mark may take to reach a replica
_SLOW_CLIENT = 2.0  # a client socket timeout longer than this is named (a stalled Redis)


class RedisTokenStore(BaseTokenStore):
    """Tokens in Redis, shared by every process and host that points at it.

    Any topology: one node, a Sentinel-managed master or Redis Cluster. Each token (with its
    refresh token, if the vendor rotates one) is stored under ``{prefix}token:{<digest>}``
    with a TTL equal to its remaining life; every key of one credential set carries the same
    hash tag ``{<digest>}``, so its multi-key commands and scripts stay in one Cluster slot.
    Single-flight uses a lease (a Redis lock held for the fetch's budget plus 2 s, 5 s at a
    time and renewed while held, released on every exit path, interpreter exit included: see
    ``stores/_leases.py``), so a holder cannot block the fleet; compare-and-invalidate is one
    Lua script. When Redis is unreachable the store keeps working on a local in-memory
    fallback, logs one warning per outage, and tries Redis again every ``retry_interval``
    seconds. During an outage a rotating refresh token
    is presented only if this process fetched it itself since the outage began (another
    process may have rotated any older one). Failure memory is shared like tokens.
    Thread-safe and fork-safe (redis-py reconnects in a forked child; in-process locks are
    reset). A single-use refresh token is presented only after a spent-mark for it was
    written (``SET NX``) and, where the primary has replicas, reached one (``WAIT``): across
    a failover no process presents it twice. With ``encryption_keys`` (or
    ``AUTH_SESSIONS_STORE_KEYS``) every entry is sealed (AES-256-GCM, see ``docs/sealing.md``).

    Args:
        client_or_url: a ``redis.Redis``, a ``redis.cluster.RedisCluster``, a
            Sentinel-managed master, or a ``redis://``, ``rediss://`` or ``unix://`` URL.
        prefix: prepended to every key this store writes.
        lock_ttl: the longest a lease (the cross-process lock) may be held. A lease is held
            for the guarded fetch's budget plus 2 s, and never more than this.
        retry_interval: seconds to stay on the fallback after Redis failed.
        socket_timeout: connect and read timeout when a URL is given.
        clock: epoch-seconds clock for TTLs and failure memory.
        encryption_keys: url-safe base64 32-byte keys; the first seals, all open. None: from
            ``AUTH_SESSIONS_STORE_KEYS``, in clear when that is unset.

    Raises:
        ConfigurationError: redis-py is not installed (``pip install 'auth-sessions[redis]'``),
            a key is malformed, ``cryptography`` is missing for keys, or ``prefix`` opens a
            hash tag it does not close.
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
        encryption_keys: Optional[Sequence[str]] = None,
    ) -> None:
        super().__init__(clock=clock)
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "RedisTokenStore needs redis-py: pip install 'auth-sessions[redis]'"
            ) from None
        _check_prefix(prefix)
        errors = outage_errors(redis)
        self._codec = codec_for(encryption_keys, "RedisTokenStore")
        self._given_keys = None if encryption_keys is None else list(encryption_keys)
        self._url = client_or_url if isinstance(client_or_url, str) else None
        self._socket_timeout = socket_timeout
        if isinstance(client_or_url, str):
            timeouts = {"socket_timeout": socket_timeout}
            if not client_or_url.startswith("unix:"):  # redis-py < 5 refuses it for sockets
                timeouts["socket_connect_timeout"] = socket_timeout
            client_or_url = redis.Redis.from_url(client_or_url, **timeouts)
        self.client = client_or_url
        self.prefix = prefix
        self.lock_ttl = lock_ttl
        self.retry_interval = retry_interval
        waits = client_timeout(self.client)  # a URL's client has the store's own timeouts
        unbounded = self._url is None and (waits is None or waits > _SLOW_CLIENT)
        bound = Bound(socket_timeout if unbounded else None)
        self._outages = Fallback(
            "Redis", errors, retry_interval=retry_interval, clock=clock, bound=bound
        )
        self._leases = Leases(self.client, errors, self._outages.failed, bound)
        self._fallback = self._outages.memory
        self._checked = False
        if unbounded:
            shown = "no socket_timeout" if waits is None else f"socket_timeout={waits}"
            _misconfigured(
                f"the Redis client has {shown}: each store call runs on a helper thread, "
                f"given up after {socket_timeout:g} s (a stalled or black-holed Redis); build "
                "the client with socket_timeout=1.0 and socket_connect_timeout=1.0, or give "
                "the store a URL"
            )

    def __repr__(self) -> str:
        sealed = ", sealed" if self._codec.sealed else ""
        return f"RedisTokenStore(prefix={self.prefix!r}, outage={self._outages.outage}{sealed})"

    def __reduce__(self) -> Any:
        """Reopened from its URL, or on its client's topology (one node, Sentinel, Cluster)."""
        target: Any = self._url if self._url is not None else describe(self.client)
        options = {
            "prefix": self.prefix,
            "lock_ttl": self.lock_ttl,
            "retry_interval": self.retry_interval,
            "socket_timeout": self._socket_timeout,
            "encryption_keys": self._given_keys,
        }
        return (_reopen, (target, options))

    def after_fork(self) -> None:
        self._outages.after_fork()
        self._leases.forget_all()  # the parent's leases are the parent's to release
        # Never talk over the parent's sockets: forget them (without closing the parent's).
        pool = getattr(self.client, "connection_pool", None)
        if pool is not None and hasattr(pool, "reset"):
            pool.reset()

    def _name(self, space: str, key: str) -> str:
        """``{prefix}{space}:{<digest>}``: one hash tag for every key of a credential set."""
        return f"{self.prefix}{space}:{{{hashed(key)}}}"

    def _key(self, key: str) -> str:
        return self._name("token", key)

    def _failure_key(self, key: str) -> str:
        return self._name("failure", key)

    def _check_eviction(self) -> None:
        """Once, at first use: a policy that may evict keys without a TTL-free choice
        (``allkeys-*``) can drop a held lease, breaking single-flight."""
        self._checked = True
        try:
            policy = str(self.client.info("memory").get("maxmemory_policy", ""))
        except Exception:  # INFO not allowed, or a topology that answers per node: skip
            return
        if policy.startswith("allkeys"):
            _misconfigured(
                f"Redis evicts with maxmemory-policy {policy}: a held lease or token may be "
                "evicted (single-flight breaks); use noeviction"
            )

    def _token(self, name: str, raw: Any) -> Optional[Token]:
        return token_from_dict(self._codec.open(name, raw))

    def _failure(self, name: str, raw: Any) -> Optional[Failure]:
        data = self._codec.open(name, raw)
        return None if data is None else Failure.from_dict(data)

    # ---------------------------------------------------------------- TokenStore

    def get(self, key: str) -> Optional[Token]:
        return self.load(key)[0]

    def get_failure(self, key: str) -> Optional[Failure]:
        return self.load(key)[1]

    def load(self, key: str) -> Tuple[Optional[Token], Optional[Failure]]:
        def shared() -> Tuple[Optional[Token], Optional[Failure]]:
            if not self._checked:
                self._check_eviction()
            names = [self._key(key), self._failure_key(key)]
            raw = self.client.mget(names)
            failure = self._failure(names[1], raw[1])
            if failure is not None and failure.until_ts <= self.clock():
                failure = None
            return self._token(names[0], raw[0]), failure

        return self._outages.read(shared, lambda: self._fallback.load(key))

    def put(self, key: str, token: Token) -> None:
        self._fallback.put(key, token)  # warm for an outage
        ttl_ms = int((token.keep_until - self.clock()) * 1000)
        if ttl_ms > 0:
            name = self._key(key)
            value = self._codec.seal(name, token_to_dict(token))
            self._outages.write(lambda: self.client.set(name, value, px=ttl_ms))
        self._outages.fetched(key)  # after the write: recorded if it began an outage

    def invalidate(self, key: str, token: Token) -> bool:
        local = self._fallback.invalidate(key, token)
        name = self._key(key)

        def shared() -> bool:  # the entry read is the entry deleted, or nothing is
            raw = self.client.get(name)
            current = self._token(name, raw)
            if current is None or current.access_token != token.access_token:
                return False
            return compare_and_delete(self.client, name, raw)

        return bool(self._outages.read(shared, lambda: local))

    def delete(self, key: str) -> None:
        self._fallback.delete(key)
        self._outages.write(lambda: self.client.delete(self._key(key), self._failure_key(key)))

    def put_failure(self, key: str, failure: Failure) -> None:
        self._fallback.put_failure(key, failure)
        ttl_ms = int((failure.until_ts - self.clock()) * 1000)
        if ttl_ms > 0:
            name = self._failure_key(key)
            value = self._codec.seal(name, failure.to_dict())
            self._outages.write(lambda: self.client.set(name, value, px=ttl_ms))

    def may_refresh(self, key: str, token: Token) -> bool:
        """Spend ``token``'s refresh token: True only if no other process did, as far as
        this store can prove (see the class docstring); during an outage, the fallback's
        rule."""
        if token.refresh_token is not None and self._outages.available():
            with contextlib.suppress(Down):
                spend = lambda: self._spend(key, token)  # noqa: E731
                return bool(self._outages.call(spend, longer=_WAIT_MS / 1000))
        return self._outages.may_refresh(key)

    def _spend(self, key: str, token: Token) -> bool:
        assert token.refresh_token is not None
        name = f"{self._name('spent', key)}:{hashed(token.refresh_token.reveal())}"
        ttl_ms = max(1000, int((token.keep_until - self.clock()) * 1000) + 60_000)
        why = mark_spent(self.client, name, ttl_ms, _WAIT_MS)
        if not why:
            return True
        message = f"refresh token not presented: {why}; client credentials instead"
        emit(Event("refresh_refused", "", message, outcome="spent"))
        return False

    def clear_storage(self) -> None:
        self._fallback.clear_storage()

        def shared() -> None:  # its own namespaces only: never a neighbour's key, never a lock
            for space in ("token:", "failure:", "spent:"):
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
        name, token = self._name("lock", key), uuid.uuid4().hex
        ttl = min(self.lock_ttl, timeout + LEASE_MARGIN)  # the fetch never outlives its budget
        term = min(ttl, LEASE_TERM)  # renewed while held, up to ttl: a dead holder frees it soon
        lock = self.client.lock(name, timeout=term, sleep=0.01, thread_local=False)
        try:
            try:
                acquired = bool(
                    self._outages.call(
                        lambda: lock.acquire(
                            blocking=blocking, blocking_timeout=timeout, token=token
                        ),
                        longer=timeout,
                    )
                )
            except Down:  # the SET may still run on a stalled server: fence it off now
                self._leases.release(name, token)
                acquired = True  # the in-process lock is what we have
            else:
                if acquired:
                    self._leases.hold(name, token, ttl)
            yield acquired
        finally:
            self._leases.release(name, token)  # ours only; it may have expired already


def _misconfigured(message: str) -> None:
    emit(Event("store_misconfigured", "", message, outcome="misconfigured"))


def _reopen(target: Any, options: Dict[str, Any]) -> RedisTokenStore:
    if isinstance(target, tuple):
        target = reopen(*target)
    return RedisTokenStore(target, **options)


def _check_prefix(prefix: str) -> None:
    """A prefix may carry a whole hash tag (then it places every key), never half of one."""
    opened = prefix.find("{")
    if opened >= 0 and prefix.find("}", opened + 2) < 0:
        raise ConfigurationError(
            f"RedisTokenStore: prefix={prefix!r} opens a hash tag it does not close; a prefix "
            "may hold a whole non-empty {tag} or no brace at all"
        )


def _glob_escape(text: str) -> str:
    """``text`` matched literally by a Redis glob (``*``, ``?``, ``[``, ``\\`` escaped)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
