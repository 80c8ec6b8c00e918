"""Store calls bounded whatever client object the user passed.

A redis-py client built without ``socket_timeout`` waits on a stalled or black-holed server
for as long as the kernel keeps the connection (many minutes). The store cannot change the
user's client, so it runs each call on a helper thread and stops waiting after the bound it
would have given its own client (``socket_timeout``, 1 s by default): the call then counts as
an outage and the request is served from the fallback. At most one call is left waiting per
store; while it is, the store is treated as down without starting another.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Optional, TypeVar

__all__ = ["Bound", "StoreTimeout"]

T = TypeVar("T")


class StoreTimeout(TimeoutError):
    """A shared store's call did not answer within its bound (an outage error)."""


class Bound:
    """Runs store calls, each within ``seconds`` (None: as they are, the client bounds them).

    Thread-safety: any thread may call it; :meth:`after_fork` forgets a call the parent left
    waiting (its thread does not exist in the child).
    """

    def __init__(self, seconds: Optional[float]) -> None:
        self.seconds = seconds
        self._waiting = 0  # calls left waiting past their bound (0 or 1)
        self._lock = threading.Lock()

    def __call__(self, action: Callable[[], T], longer: float = 0.0) -> T:
        """``action()``, or :class:`StoreTimeout` after ``seconds + longer``."""
        if self.seconds is None:
            return action()
        with self._lock:
            if self._waiting:
                raise StoreTimeout("an earlier call to the store is still waiting for an answer")
        done = threading.Event()
        outcome: Dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = action()
            except BaseException as exc:  # handed to the caller, who re-raises it
                outcome["error"] = exc
            finally:
                with self._lock:
                    done.set()
                    if outcome.get("abandoned"):
                        self._waiting -= 1

        threading.Thread(target=run, name="auth-sessions-store-call", daemon=True).start()
        finished = done.wait(self.seconds + longer)
        with self._lock:
            if not finished and not done.is_set():
                outcome["abandoned"] = True
                self._waiting += 1
                raise StoreTimeout(f"no answer from the store within {self.seconds + longer:g} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]  # type: ignore[no-any-return]

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._waiting = 0
