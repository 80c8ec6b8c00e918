"""Token managers: one per (token store, credential key) per process.

A manager owns one credential set's live token in this process (the L1 in front of shared
stores), its renewal windows, single-flight, compare-and-invalidate, failure memory and
background renewal. It never sees requests' Request or Response objects: callers hand it a
``fetch`` function (the token endpoint client, bound to the caller's transport).

Renewal windows (after botocore's refreshable credentials): with leeway ``L`` (default
``min(60 s, 10 % of the lifetime)``, never more than half of it) a token enters its
*advisory* window ``L`` seconds before expiry: it is renewed in the background while every
request keeps sending it. At ``L / 2`` before expiry the *mandatory* window starts: callers
wait (within their own time budget) for a fresh token, and the old one is never sent again.

Fetches run as *flights*: the first caller that needs a token starts one, on a short-lived
daemon thread (inline where no thread can start); every other caller joins it and waits on
a private lock for at most its own budget, so all share its outcome, a caller that gives up
never cancels it, and no lock a caller holds can be left behind by an interrupt.

Thread-safety: every method may be called from any thread; :attr:`TokenManager.snap`, the
hot path, is an immutable value read without a lock.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, List, Optional, Tuple

from .endpoint import Obtained, error_for
from .errors import AuthError, InvalidCredentials, TokenEndpointError, TokenTimeout
from .events import Event, emit
from .stores.base import TokenStore
from .tokens import Failure, Token

__all__ = ["DEFAULT_COOLDOWN", "DEFAULT_DEADLINE", "Policy", "Snapshot", "TokenManager"]

DEFAULT_COOLDOWN = 60.0
"""Seconds a refused credential set (400/401/403) is held back before it is tried again."""

DEFAULT_DEADLINE = 30.0
"""Seconds a token fetch may take in all (lock waits, attempts, retries) — and how long a
call without a timeout of its own waits for one."""

_MAX_DEFAULT_LEEWAY = 60.0
_GRACE = 5.0  # a flight this long past its deadline is taken as dead and replaced

Fetch = Callable[[Optional[Token], bool, float], Obtained]
"""``fetch(current, refresh, deadline)``: a new token. ``current`` is the token being replaced
(never echoed in a message), ``refresh`` whether its refresh token may be presented, and
``deadline`` a ``time.monotonic()`` value."""


class Snapshot:
    """A token with its header and renewal points worked out once. Immutable by convention."""

    __slots__ = ("header", "must_renew_at", "renew_at", "token")

    def __init__(self, token: Token, header: str, renew_at: float, must_renew_at: float) -> None:
        self.token = token
        self.header = header
        self.renew_at = renew_at
        self.must_renew_at = must_renew_at

    def __repr__(self) -> str:
        return f"Snapshot(expires_at={self.token.expires_at.isoformat()})"


@dataclass(frozen=True)
class Policy:
    """How one manager renews: leeway, cooldown after a refusal, background renewal."""

    leeway: Optional[float] = None
    cooldown: float = DEFAULT_COOLDOWN
    background: bool = True


class _Flight:
    """One token fetch in progress, and who waits for it."""

    __slots__ = ("deadline", "done", "error", "snap", "stale", "waiters")

    def __init__(self, stale: Optional[str], deadline: float) -> None:
        self.stale = stale
        self.deadline = deadline
        self.done = False
        self.snap: Optional[Snapshot] = None
        self.error: Optional[AuthError] = None
        self.waiters: List[Any] = []


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
        clock: Callable[[], float],
        policy: Policy,
    ) -> None:
        self.store = store
        self.key = key
        self.vendor = vendor
        self.client_id = client_id
        self.url = url
        self.clock = clock
        self.policy = policy
        self.snap: Optional[Snapshot] = None
        self._failure: Optional[Failure] = None
        self._mutex = threading.Lock()
        self._flight: Optional[_Flight] = None

    def __repr__(self) -> str:
        return f"TokenManager(vendor={self.vendor!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------------ windows

    def snapshot_for(self, token: Token) -> Snapshot:
        """``token`` with its header and renewal points under this manager's leeway."""
        lifetime = token.lifetime
        leeway = self.policy.leeway
        advisory = min(_MAX_DEFAULT_LEEWAY, 0.1 * lifetime) if leeway is None else leeway
        advisory = min(advisory, lifetime / 2)
        header = "Bearer " + token.access_token.reveal()
        return Snapshot(token, header, token.expires_ts - advisory, token.expires_ts - advisory / 2)

    # ------------------------------------------------------------------------ callers

    def current(self, fetch: Fetch, budget: float, deadline: float) -> Snapshot:
        """The token a request should carry now, renewing or waiting (at most ``budget``
        seconds) as the windows say. ``deadline`` bounds a fetch this call starts."""
        now = self.clock()
        snap = self.snap
        if snap is not None and now < snap.renew_at:
            return snap
        self._check_failure(now, snap)
        if snap is None:
            snap = self._from_store(now)
            if snap is not None and now < snap.renew_at:
                return snap
        if snap is not None and now < snap.must_renew_at:
            if self._flight is None and not self._holding(now):
                flight = self._start(fetch, None, deadline)
                if not self.policy.background:
                    try:
                        return self._wait(flight, budget)
                    except AuthError:
                        return snap  # renewal failed: the current token serves on
            return snap
        return self._wait(self._start(fetch, None, deadline), budget)

    def after_401(self, sent: str, fetch: Fetch, budget: float, deadline: float) -> Snapshot:
        """A fresh token after the API refused ``sent`` (an Authorization header value).

        Only the token that was sent is invalidated, and only if it is still the stored one,
        so a burst of 401s for one stale token causes one renewal.
        """
        snap = self.snap
        if snap is not None and snap.header != sent and self.clock() < snap.must_renew_at:
            return snap  # renewed already
        self._check_failure(self.clock(), None)
        fresh = self._wait(self._start(fetch, sent, deadline), budget)
        if fresh.header == sent:  # joined a flight that adopted the refused token
            fresh = self._wait(self._start(fetch, sent, deadline), budget)
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

    # ------------------------------------------------------------------------ internals

    def _from_store(self, now: float) -> Optional[Snapshot]:
        token = self.store.get(self.key)
        if token is None:
            return None
        snap = self.snapshot_for(token)
        if now < snap.must_renew_at:
            self.snap = snap
            return snap
        return None

    def _holding(self, now: float) -> bool:
        failure = self._failure
        return failure is not None and now < failure.until_ts

    def _check_failure(self, now: float, snap: Optional[Snapshot]) -> None:
        """Fail at once while held back, unless a token can still be sent."""
        usable = snap is not None and now < snap.must_renew_at
        if self._holding(now) and not usable:
            assert self._failure is not None
            raise self._error(self._failure, now)

    def _error(self, failure: Failure, now: float) -> AuthError:
        until = datetime.fromtimestamp(failure.until_ts, tz=timezone.utc)
        wait = max(0.0, failure.until_ts - now)
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

    def _start(self, fetch: Fetch, stale: Optional[str], deadline: float) -> _Flight:
        with self._mutex:
            flight = self._flight
            if flight is not None and time.monotonic() < flight.deadline + _GRACE:
                return flight
            flight = _Flight(stale, deadline)
            thread = threading.Thread(target=self._run, args=(flight, fetch))
            thread.name, thread.daemon = "auth-sessions-fetch", True
            try:
                self._flight = flight
                thread.start()
                spawned = True
            except RuntimeError:  # "can't start new thread" (uWSGI without threads, limits)
                spawned = False
            except BaseException:  # interrupted: never leave a flight that nobody runs
                if not thread.is_alive() and not flight.done and self._flight is flight:
                    self._flight = None
                raise
        if not spawned:
            self._run(flight, fetch)  # fetch inline, in this thread
        return flight

    def _wait(self, flight: _Flight, budget: float) -> Snapshot:
        waiter: Any = _thread.allocate_lock()
        waiter.acquire()
        with self._mutex:
            if flight.done:
                waiter = None
            else:
                flight.waiters.append(waiter)
        if waiter is not None and not waiter.acquire(True, max(0.0, budget)):
            raise TokenTimeout(
                f"{self.vendor}: no token from {self.url} within {budget:.1f}s (the fetch goes "
                "on, and its token will serve later calls)",
                vendor=self.vendor,
                url=self.url,
            )
        if flight.error is not None:
            raise flight.error.copy() from None
        assert flight.snap is not None
        return flight.snap

    def _run(self, flight: _Flight, fetch: Fetch) -> None:
        snap: Optional[Snapshot] = None
        error: Optional[AuthError] = None
        try:
            snap = self._obtain(flight, fetch)
        except AuthError as exc:
            error = exc
        except BaseException as exc:  # an interrupt in an inline fetch: waiters must not hang
            error = TokenEndpointError(
                f"{self.vendor}: token fetch interrupted ({type(exc).__name__})",
                vendor=self.vendor,
                url=self.url,
            )
            raise
        finally:
            self._finish(flight, snap, error)

    def _finish(
        self, flight: _Flight, snap: Optional[Snapshot], error: Optional[AuthError]
    ) -> None:
        with self._mutex:
            flight.snap, flight.error, flight.done = snap, error, True
            if self._flight is flight:
                self._flight = None
            held, kept = self.snap, False
            if snap is not None:
                self.snap = snap
            elif held is not None and self.clock() < held.must_renew_at:
                kept = True
                # a failed early renewal: the current token serves until the mandatory point
                self.snap = Snapshot(
                    held.token, held.header, held.must_renew_at, held.must_renew_at
                )
            waiters, flight.waiters = flight.waiters, []
        if error is not None and kept and held is not None:  # told before anyone wakes
            self._event(
                "stale_token_served",
                f"{self.vendor}: renewal failed ({error}); the current token stays in use "
                f"until {held.token.expires_at.isoformat()}",
                error,
            )
        for waiter in waiters:
            waiter.release()

    def _obtain(self, flight: _Flight, fetch: Fetch) -> Snapshot:
        """Under the store's lock: adopt a fresher stored token, or fetch one."""
        store, key = self.store, self.key
        timeout = max(0.0, flight.deadline - time.monotonic())
        with store.lock(key, timeout=timeout) as acquired:
            if not acquired:
                raise TokenTimeout(
                    f"{self.vendor}: waited {timeout:.1f}s for another fetch from {self.url}",
                    vendor=self.vendor,
                    url=self.url,
                )
            now = self.clock()
            current, failure = store.load(key)
            if failure is not None and now < failure.until_ts:
                self._failure = failure
                raise self._error(failure, now)
            if current is not None:
                snap = self.snapshot_for(current)
                if snap.header != flight.stale and now < snap.renew_at:
                    return snap  # another thread or process renewed it
                if snap.header == flight.stale and store.invalidate(key, current):
                    self._event(
                        "token_invalidated",
                        f"{self.vendor}: token for client {self.client_id} invalidated after a 401",
                    )
            held = current if current is not None else (self.snap.token if self.snap else None)
            refresh = (
                current is not None
                and current.refresh_usable(now)
                and store.may_refresh(key, current)
            )
            started = time.monotonic()
            try:
                token, refreshed = fetch(held, refresh, flight.deadline)
            except AuthError as exc:
                took = time.monotonic() - started
                self._event(
                    "renewal_failed", f"{self.vendor}: token fetch failed: {exc}", exc, took
                )
                raise self._remember(exc, now) from None
            store.put(key, token)
        took = time.monotonic() - started
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

    def _remember(self, exc: AuthError, now: float) -> AuthError:
        """Failure memory: a refusal, or a server's ``Retry-After``, holds the key back."""
        if not isinstance(exc, (InvalidCredentials, TokenEndpointError)):
            return exc
        if isinstance(exc, InvalidCredentials):
            failure = Failure(
                "refused", str(exc), now + self.policy.cooldown, exc.status_code, exc.url
            )
        elif exc.retry_at is not None:
            failure = Failure("unavailable", str(exc), exc.retry_at, exc.status_code, exc.url)
        else:
            return exc
        self._failure = failure
        self.store.put_failure(self.key, failure)
        error = self._error(failure, now)
        self._event(
            "cooldown_entered",
            f"{self.vendor}: client {self.client_id} held back for "
            f"{failure.until_ts - now:.0f}s: {exc}",
            error,
        )
        return error

    def _after_fork_in_child(self) -> None:
        self._mutex = threading.Lock()
        self._flight = None  # its thread does not exist here


# ---------------------------------------------------------------------------- the registry

_Ident = Tuple[int, str, int, Policy]
_registry: weakref.WeakValueDictionary[_Ident, TokenManager] = weakref.WeakValueDictionary()
_recent: OrderedDict[_Ident, TokenManager] = OrderedDict()
_registry_lock = threading.Lock()
RECENT = 256
"""Managers kept alive after their last session is gone (legacy session-per-call apps)."""


def manager_for(
    store: TokenStore,
    key: str,
    *,
    vendor: str,
    client_id: str,
    url: str,
    clock: Callable[[], float],
    policy: Policy,
) -> TokenManager:
    """This process's manager for ``key`` in ``store`` (created on first use).

    Held weakly, plus the :data:`RECENT` most recently used: managers of credential sets
    nobody uses any more are dropped with their locks.
    """
    ident = (id(store), key, id(clock), policy)
    with _registry_lock:
        manager = _registry.get(ident)
        if manager is None or manager.store is not store or manager.clock is not clock:
            manager = TokenManager(
                store, key, vendor=vendor, client_id=client_id, url=url, clock=clock, policy=policy
            )
            _registry[ident] = manager
        _recent[ident] = manager
        _recent.move_to_end(ident)
        while len(_recent) > RECENT:
            _recent.popitem(last=False)
    return manager


def managers_of(store: object) -> List[TokenManager]:
    """The live managers using ``store`` (cache control: a store's ``clear()``)."""
    with _registry_lock:
        return [m for m in list(_registry.values()) if m.store is store]


def _reset_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    for manager in list(_registry.values()):
        manager._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
