"""The outage fallback any shared store gets.

While the shared storage fails, a memory store serves (every write keeps it warm), one
event marks the outage and one its end, and the shared storage is tried again every
``retry_interval`` seconds. During an outage a rotating refresh token is presented only if
this process fetched it itself since the outage began: another process may have rotated any
older one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple, Type, TypeVar

from ..events import Event, emit
from ._bounded import Bound
from .memory import MemoryTokenStore

__all__ = ["Down", "Fallback"]

T = TypeVar("T")


class Down(Exception):
    """The shared storage did not answer (already counted as an outage)."""


def _cause(exc: BaseException) -> str:
    """Why the storage failed, in words that name the fix when it is a configuration: a
    refused command (an ACL) or refused credentials are not network trouble."""
    name, text = type(exc).__name__, str(exc)
    if "NOPERM" in text or name == "NoPermissionError":
        return (
            f"{name}: a command the store needs was refused; grant the store's user "
            "+@read +@write +@scripting +info +wait (docs: Token stores)"
        )
    if name == "AuthenticationError" or "WRONGPASS" in text:
        return f"{name}: the server refused the username or password"
    if name == "StoreTimeout":
        return f"{name}: {text}"
    return name


class Fallback:
    """Outage bookkeeping and the local stand-in for one shared store.

    Thread-safety: every method may be called from any thread; :meth:`after_fork` resets the
    state lock in a forked child.

    Args:
        name: what the shared storage is called in events ("Redis").
        errors: the exception classes that mean the storage is unavailable.
        retry_interval: seconds to stay on the stand-in after a failure.
        clock: epoch-seconds clock (the stand-in's, and the outage's start).
        bound: runs each storage operation within its time bound (see ``_bounded.py``).
    """

    def __init__(
        self,
        name: str,
        errors: Tuple[Type[BaseException], ...],
        *,
        retry_interval: float,
        clock: Callable[[], float] = time.time,
        bound: Optional[Bound] = None,
    ) -> None:
        self.name, self.errors, self.retry_interval, self.clock = (
            name,
            errors,
            retry_interval,
            clock,
        )
        self.bound = bound or Bound(None)
        self.memory = MemoryTokenStore(timer=clock)
        self.outage = False
        self._since = 0.0
        self._down_until = 0.0
        self._fetched_at: Dict[str, float] = {}
        self._state = threading.Lock()

    def available(self) -> bool:
        """Whether the shared storage is worth trying now."""
        return time.monotonic() >= self._down_until

    def call(self, action: Callable[[], T], longer: float = 0.0) -> T:
        """Run one storage operation (allowed ``longer`` than the bound: a blocking lock);
        :class:`Down` (after the outage bookkeeping) when the storage fails with one of
        :attr:`errors` or does not answer within its bound."""
        try:
            result = self.bound(action, longer)
        except self.errors as exc:
            self.failed(exc)
            raise Down from None
        if self.outage:
            self._recovered()
        return result

    def read(self, shared: Callable[[], T], local: Callable[[], T]) -> T:
        """``shared()`` when the storage answers, else ``local()``."""
        if self.available():
            try:
                return self.call(shared)
            except Down:
                pass
        return local()

    def write(self, shared: Callable[[], Any]) -> None:
        """``shared()`` when the storage is worth trying; a failure is an outage, never an
        error (the stand-in was written first)."""
        if self.available():
            with contextlib.suppress(Down):
                self.call(shared)

    def fetched(self, key: str) -> None:
        """Record that this process obtained ``key``'s token now (kept only during an
        outage: a token fetched before the outage began proves nothing, so the record of
        the credential sets fetched stays as small as one outage)."""
        if self.outage:
            self._fetched_at[key] = self.clock()

    def may_refresh(self, key: str) -> bool:
        """Whether ``key``'s refresh token may be presented (see the module docstring)."""
        if not self.outage:
            return True  # the token came from the shared store: nobody rotated it since
        return self._fetched_at.get(key, float("-inf")) >= self._since

    def after_fork(self) -> None:
        self._state = threading.Lock()
        self.bound.after_fork()

    def failed(self, exc: BaseException) -> None:
        """Count ``exc`` as an outage (from :meth:`call`, or met elsewhere: a lease release)."""
        with self._state:
            self._down_until = time.monotonic() + self.retry_interval
            if self.outage:
                return
            self.outage, self._since = True, self.clock()
        message = (
            f"{self.name} unreachable ({_cause(exc)}); tokens are kept in this process "
            "until it is back"
        )
        emit(Event("store_outage", "", message, outcome=type(exc).__name__))

    def _recovered(self) -> None:
        with self._state:
            if not self.outage:
                return
            self.outage = False
            self._fetched_at = {}
        message = f"{self.name} reachable again; tokens are shared again"
        emit(Event("store_recovered", "", message))
