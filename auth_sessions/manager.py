"""Token managers: one per (token store, credential key) per process.

A manager owns one credential set's live token in this process (the L1 in front of shared
stores), and applies the renewal windows of :mod:`auth_sessions._policy` with single-flight
(:mod:`auth_sessions._flights`), compare-and-invalidate, failure memory and background
renewal. It never sees requests' Request or Response objects: callers hand it a ``fetch``
function (the token endpoint client, bound to the caller's transport). Both clocks are
injected: ``clock`` (epoch seconds, compared with expiries) and ``monotonic`` (deadlines).

Thread-safety: every method may be called from any thread; :attr:`TokenManager.snap`, the
hot path, is an immutable value read without a lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable, List, Optional, Protocol, Tuple, Type

from cachetools import LRUCache

from ._flights import Flight, spawn
from ._policy import DEFAULT_COOLDOWN, DEFAULT_DEADLINE, Policy, Snapshot, Window, snapshot, window
from ._time import Deadline
from ._transport import Obtained
from .errors import AuthError, InvalidCredentials, TokenEndpointError, TokenTimeout
from .events import Event, emit
from .stores.base import TokenStore
from .tokens import Failure, Token

__all__ = [
    "DEFAULT_COOLDOWN",
    "DEFAULT_DEADLINE",
    "Fetch",
    "Policy",
    "Snapshot",
    "TokenManager",
    "manager_for",
    "managers_of",
]

_GRACE = 5.0  # a flight this long past its deadline is taken as dead and replaced


class Fetch(Protocol):
    """``fetch(current, refresh, deadline)``: a new token. ``current`` is the token being
    replaced (never echoed in a message), ``refresh`` whether its refresh token may be
    presented. ``route`` names the transport it travels on (failure memory is per route);
    ``single_use`` says whether a refresh token works once (the store must spend it)."""

    @property
    def route(self) -> str: ...

    @property
    def single_use(self) -> bool: ...

    def __call__(self, current: Optional[Token], refresh: bool, deadline: Deadline) -> Obtained: ...


_DEFAULT_POLICY = Policy()


def error_for(failure_kind: str) -> Type[AuthError]:
    """The error class a remembered failure is raised as."""
    return InvalidCredentials if failure_kind == "refused" else TokenEndpointError


class TokenManager:
    """The live token of one credential set in one process, shared by every auth object and
    session with that key. Thread-safe; see the module docstring for how.

    Use :func:`manager_for` rather than the constructor: it returns the process's one
    manager for a key.
    """

    def __init__(
        self,
        store: TokenStore,
        key: str,
        *,
        vendor: str,
        client_id: str,
        url: str,
        clock: Callable[[], float] = time.time,
        policy: Policy = _DEFAULT_POLICY,
        monotonic: Callable[[], float] = time.monotonic,
        header: Callable[[Token], str],
    ) -> None:
        self.store, self.key = store, key
        self.vendor, self.client_id, self.url = vendor, client_id, url
        self.clock, self.monotonic, self.policy = clock, monotonic, policy
        self.header = header
        self.snap: Optional[Snapshot] = None
        self._failure: Optional[Failure] = None
        self._learned: Optional[Tuple[Failure, float]] = None  # ours, and its monotonic end
        self._mutex = threading.Lock()
        self._flight: Optional[Flight] = None
        watch = getattr(store, "watch", None)
        if watch is not None:
            watch(self)  # store.clear() drops this manager's live token too

    def __repr__(self) -> str:
        return f"TokenManager(vendor={self.vendor!r}, client_id={self.client_id!r})"

    def snapshot_for(self, token: Token) -> Snapshot:
        """``token`` with its header and renewal points under this manager's policy."""
        return snapshot(token, self.policy, self.header)

    # ------------------------------------------------------------------------ callers

    def current(self, fetch: Fetch, budget: float, allowance: float) -> Snapshot:
        """The token a request should carry now, renewing or waiting (at most ``budget``
        seconds) as the windows say. A fetch this call starts may take ``allowance`` s."""
        now = self.clock()
        snap = self.snap
        if window(snap, now) is Window.FRESH:
            assert snap is not None
            return snap
        self._check_failure(now, snap, fetch)
        if snap is None:
            snap = self._from_store(now)
        place = window(snap, now)
        if place is Window.FRESH:
            assert snap is not None
            return snap
        if place is Window.ADVISORY:
            assert snap is not None
            if self._flight is None and not self._holding(now, fetch):
                flight = self._start(fetch, None, allowance)
                if not self.policy.background:  # renew in this call; the token serves if it fails
                    with contextlib.suppress(AuthError):
                        return self._wait(flight, budget)
            return snap
        return self._wait(self._start(fetch, None, allowance), budget)

    def after_401(self, sent: str, fetch: Fetch, budget: float, allowance: float) -> Snapshot:
        """A fresh token after the API refused ``sent`` (an Authorization header value).

        Only the token that was sent is invalidated, and only if it is still the stored one,
        so a burst of 401s for one stale token causes one renewal.
        """
        snap, now = self.snap, self.clock()
        if snap is not None and snap.header != sent:
            place = window(snap, now)
            if place is Window.FRESH:
                return snap  # renewed already
            if place is Window.ADVISORY:
                # Another token, near its end: a replay with it could expire on the way (a
                # loaded machine). Wait for its renewal; if none can be had now, it serves.
                try:
                    return self._renewed(fetch, sent, budget, allowance)
                except AuthError:
                    return snap
        self._check_failure(now, None, fetch)
        return self._renewed(fetch, sent, budget, allowance)

    def _renewed(self, fetch: Fetch, sent: str, budget: float, allowance: float) -> Snapshot:
        """A token other than ``sent``, from the flight in progress or a new one."""
        fresh = self._wait(self._start(fetch, sent, allowance), budget)
        if fresh.header == sent:  # joined a flight that adopted the refused token
            fresh = self._wait(self._start(fetch, sent, allowance), budget)
        return fresh

    def settle(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the flight in progress; True if none is left."""
        flight = self._flight
        if flight is None:
            return True
        with contextlib.suppress(AuthError):  # ended in failure, or timed out: .done tells
            self._wait(flight, timeout)
        return flight.done and self._flight is None

    def forget(self) -> None:
        """Drop this key's token and failure memory here and in the store."""
        self.drop_local()
        self.store.delete(self.key)

    def drop_local(self) -> None:
        """Forget the live token and failure memory held in this process."""
        with self._mutex:
            self.snap = None
            self._failure = None

    # ------------------------------------------------------------------------ failure memory

    def _from_store(self, now: float) -> Optional[Snapshot]:
        token = self.store.get(self.key)
        if token is None:
            return None
        snap = self.snapshot_for(token)
        if window(snap, now) is Window.MANDATORY:
            return None
        self.snap = snap
        return snap

    def _holding(self, now: float, fetch: Fetch) -> bool:
        failure = self._failure  # the route (a digest) is worked out only when one is held
        return failure is not None and self._holds(failure, now, fetch.route)

    def _holds(self, failure: Optional[Failure], now: float, route: str) -> bool:
        """Whether ``failure`` holds a fetch on ``route`` back at ``now``. One learned in
        this process lasts its length on the monotonic clock (a wall clock stepped back
        cannot stretch it), or less if the wall clock reaches its end first (a test's manual
        clock, another process's view); one read from the store is judged on the wall clock,
        clamped to its length (:meth:`Failure.holds`)."""
        if failure is None:
            return False
        if self._learned is None or self._learned[0] != failure:
            return failure.holds(now, route)
        return failure.learned_on(route) and self._left(failure, now) > 0

    def _left(self, failure: Failure, now: float) -> float:
        """Seconds ``failure`` holds on: for one learned here, the sooner of its wall-clock
        and monotonic ends."""
        left = failure.until_ts - now
        if self._learned is not None and self._learned[0] == failure:
            left = min(left, self._learned[1] - self.monotonic())
        return max(0.0, left)

    def _check_failure(self, now: float, snap: Optional[Snapshot], fetch: Fetch) -> None:
        """Fail at once while held back on the fetch's route, unless a token can be sent."""
        usable = window(snap, now) in (Window.FRESH, Window.ADVISORY)
        if self._holding(now, fetch) and not usable:
            assert self._failure is not None
            raise self._error(self._failure, now)

    def _error(self, failure: Failure, now: float) -> AuthError:
        wait = self._left(failure, now)
        until = datetime.fromtimestamp(now + wait, tz=timezone.utc)
        note = (
            f" [not tried again before {until.strftime('%H:%M:%SZ')}, in {wait:.0f}s; "
            "auth.forget() clears this]"
        )
        return error_for(failure.kind)(
            failure.message + note,
            vendor=self.vendor,
            url=failure.url,
            status_code=failure.status_code,
            retry_at=failure.until_ts,
        )

    def _remember(self, exc: AuthError, now: float, route: str) -> AuthError:
        """Failure memory: a refusal, or a server's ``Retry-After``, holds the key back (the
        delay the transport reports becomes an instant on this manager's clock)."""
        if isinstance(exc, InvalidCredentials):
            until, kind = now + self.policy.cooldown, "refused"
        elif isinstance(exc, TokenEndpointError) and exc.retry_after is not None:
            until, kind = now + exc.retry_after, "unavailable"
        else:
            return exc
        failure = Failure(kind, str(exc), until, exc.status_code, exc.url, route, until - now)
        self._failure = failure
        self._learned = (failure, self.monotonic() + (until - now))
        self.store.put_failure(self.key, failure)
        error = self._error(failure, now)
        self._event(
            "cooldown_entered",
            f"{self.vendor}: client {self.client_id} held back for {until - now:.0f}s: {exc}",
            error,
        )
        return error

    # ------------------------------------------------------------------------ flights

    def _start(self, fetch: Fetch, stale: Optional[str], allowance: float) -> Flight:
        with self._mutex:
            flight = self._flight
            if flight is not None and self.monotonic() < flight.deadline.at + _GRACE:
                return flight
            flight = Flight(stale, Deadline.after(allowance, self.monotonic), self._mutex)

            def claim() -> None:
                self._flight = flight

            def abandon() -> None:
                if not flight.done and self._flight is flight:
                    self._flight = None

            spawned = spawn(lambda: self._run(flight, fetch), claim, abandon)
        if not spawned:
            self._run(flight, fetch)  # fetch inline, in this thread
        return flight

    def _wait(self, flight: Flight, budget: float) -> Snapshot:
        if not flight.wait(budget):
            raise TokenTimeout(
                f"{self.vendor}: no token from {self.url} within {budget:.1f}s (the fetch goes "
                "on, and its token will serve later calls)",
                vendor=self.vendor,
                url=self.url,
            )
        return flight.outcome()

    def _run(self, flight: Flight, fetch: Fetch) -> None:
        snap: Optional[Snapshot] = None
        error: Optional[AuthError] = None
        try:
            snap = self._obtain(flight, fetch)
        except AuthError as exc:
            error = exc
        except Exception as exc:  # a fault below us: typed for the waiters, never a traceback
            error = TokenEndpointError(
                f"{self.vendor}: token fetch failed ({type(exc).__name__})",
                vendor=self.vendor,
                url=self.url,
            )
            self._event("renewal_failed", str(error), error)
        except BaseException as exc:  # an interrupt in an inline fetch: waiters must not hang
            error = TokenEndpointError(
                f"{self.vendor}: token fetch interrupted ({type(exc).__name__})",
                vendor=self.vendor,
                url=self.url,
            )
            raise
        finally:
            self._land(flight, snap, error)

    def _land(self, flight: Flight, snap: Optional[Snapshot], error: Optional[AuthError]) -> None:
        with self._mutex:
            waiters = flight.land(snap, error)
            if self._flight is flight:
                self._flight = None
            held, kept = self.snap, False
            if snap is not None:
                self.snap = snap
            elif held is not None and self.clock() < held.must_renew_at:
                kept = True  # a failed early renewal: the token serves until the mandatory point
                self.snap = held.held_until_mandatory()
        if error is not None and kept and held is not None:  # told before anyone wakes
            self._event(
                "stale_token_served",
                f"{self.vendor}: renewal failed ({error}); the current token stays in use "
                f"until {held.token.expires_at.isoformat()}",
                error,
            )
        for waiter in waiters:
            waiter.release()

    def _obtain(self, flight: Flight, fetch: Fetch) -> Snapshot:
        """Under the store's lock: adopt a fresher stored token, or fetch one."""
        timeout = flight.deadline.remaining()
        with self.store.lock(self.key, timeout=timeout) as acquired:
            if not acquired:
                raise TokenTimeout(
                    f"{self.vendor}: waited {timeout:.1f}s for another fetch from {self.url}",
                    vendor=self.vendor,
                    url=self.url,
                )
            now = self.clock()
            current, failure = self.store.load(self.key)
            if self._holds(failure, now, fetch.route):
                assert failure is not None
                self._failure = failure
                raise self._error(failure, now)
            held = self.snap
            if current is not None and held is not None and _older(current, held.token):
                current = held.token  # the store went back in time: build on what we hold
            if current is not None:
                snap = self.snapshot_for(current)
                if snap.header != flight.stale and window(snap, now) is Window.FRESH:
                    return snap  # another thread or process renewed it
                if snap.header == flight.stale and self.store.invalidate(self.key, current):
                    self._event(
                        "token_invalidated",
                        f"{self.vendor}: token for client {self.client_id} invalidated after a 401",
                    )
            return self._fetch(flight, fetch, current, now)

    def _fetch(
        self, flight: Flight, fetch: Fetch, current: Optional[Token], now: float
    ) -> Snapshot:
        """Fetch a new token (the store's lock held) and store it."""
        held = current if current is not None else (self.snap.token if self.snap else None)
        refresh = (
            current is not None
            and current.refresh_usable(now)
            and (not fetch.single_use or self.store.may_refresh(self.key, current))
        )
        started = self.monotonic()
        try:
            token, refreshed = fetch(held, refresh, flight.deadline)
            seen = max(
                held.generation if held else 0, self.snap.token.generation if self.snap else 0
            )
            token = replace(token, generation=seen + 1)
        except AuthError as exc:
            took = self.monotonic() - started
            self._event("renewal_failed", f"{self.vendor}: token fetch failed: {exc}", exc, took)
            raise self._remember(exc, now, fetch.route) from None
        self.store.put(self.key, token)
        took = self.monotonic() - started
        if self._failure is not None:
            self._failure = None
            self._event(
                "cooldown_left", f"{self.vendor}: client {self.client_id} has a token again"
            )
        how = "refreshed" if refreshed else ("fetched" if current is None else "renewed")
        self._event(
            "token_refreshed" if refreshed else "token_fetched",
            f"{self.vendor}: token {how} for client {self.client_id} from {self.url}, expires "
            f"{token.expires_at.isoformat()}",
            duration=took,
        )
        return self.snapshot_for(token)

    def _event(
        self,
        kind: str,
        message: str,
        error: Optional[AuthError] = None,
        duration: Optional[float] = None,
    ) -> None:
        emit(
            Event(
                kind,
                self.vendor,
                message,
                self.client_id,
                duration=duration,
                outcome="ok" if error is None else type(error).__name__,
                status_code=None if error is None else error.status_code,
            )
        )

    def _after_fork_in_child(self) -> None:
        self._mutex = threading.Lock()
        self._flight = None  # its thread does not exist here


def _older(stored: Token, held: Token) -> bool:
    """Whether the store's token is older than one this process already holds (a snapshot
    restore, a failover that lost writes): generations only grow."""
    return stored.generation < held.generation


# ---------------------------------------------------------------------------- the registry

_Ident = Tuple[int, str, int, int, Policy, int]
_registry: weakref.WeakValueDictionary[_Ident, TokenManager] = weakref.WeakValueDictionary()
RECENT = 256
"""Managers kept alive after their last session is gone (legacy session-per-call apps)."""
_recent: LRUCache[_Ident, TokenManager] = LRUCache(RECENT)
_registry_lock = threading.Lock()


def manager_for(
    store: TokenStore,
    key: str,
    *,
    vendor: str,
    client_id: str,
    url: str,
    clock: Callable[[], float] = time.time,
    policy: Policy = _DEFAULT_POLICY,
    monotonic: Callable[[], float] = time.monotonic,
    header: Callable[[Token], str],
) -> TokenManager:
    """This process's manager for ``key`` in ``store`` (created on first use).

    Held weakly, plus the :data:`RECENT` most recently used: managers of credential sets
    nobody uses any more are dropped with their locks.
    """
    ident = (id(store), key, id(clock), id(monotonic), policy, id(header))
    with _registry_lock:
        manager = _registry.get(ident)
        if (
            manager is None
            or manager.store is not store
            or manager.clock is not clock
            or manager.monotonic is not monotonic
            or manager.header is not header
        ):
            manager = TokenManager(
                store,
                key,
                vendor=vendor,
                client_id=client_id,
                url=url,
                clock=clock,
                policy=policy,
                monotonic=monotonic,
                header=header,
            )
            _registry[ident] = manager
        _recent[ident] = manager  # an LRU: touching it keeps it among the most recent
    return manager


def managers_of(store: object) -> List[TokenManager]:
    """The live managers using ``store``."""
    with _registry_lock:
        return [m for m in list(_registry.values()) if m.store is store]


def _reset_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    for manager in list(_registry.values()):
        manager._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
