"""What happens to tokens, as a stream of events: for callbacks, metrics and the library's own
log lines (each log line is an event, logged by :func:`emit`).

Thread-safety: :func:`subscribe` and :func:`emit` may be called from any thread; callbacks
run in the thread where the event happened (often a fetch thread) and must be quick.

Example:
    >>> import auth_sessions
    >>> seen = []
    >>> unsubscribe = auth_sessions.subscribe(seen.append)
    >>> unsubscribe()
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

__all__ = ["KINDS", "Event", "emit", "subscribe"]

logger = logging.getLogger("auth_sessions")

KINDS = {
    "token_fetched": logging.INFO,  # a new token by client credentials
    "token_refreshed": logging.INFO,  # a new token by a refresh grant
    "renewal_failed": logging.WARNING,  # a fetch or renewal ended in an error
    "stale_token_served": logging.INFO,  # after a failed renewal, the valid token serves on
    "cooldown_entered": logging.WARNING,  # credentials held back (refusal or Retry-After)
    "cooldown_left": logging.INFO,  # a held-back key has a token again
    "token_invalidated": logging.INFO,  # the token a 401 answered was dropped from the store
    "replayed_401": logging.INFO,  # a request answered 401 was replayed with a fresh token
    "store_outage": logging.WARNING,  # a shared store became unreachable
    "store_recovered": logging.INFO,  # ... and is reachable again
    "store_corrupt": logging.WARNING,  # a token file could not be read (taken as empty)
    "store_entry_rejected": logging.WARNING,  # a sealed entry did not open: taken as a miss
    "store_misconfigured": logging.WARNING,  # a shared store set up in a way that loses locks
    "refresh_refused": logging.INFO,  # refresh refused or its outcome unknown: credentials next
    "scope_changed": logging.INFO,  # the server granted another scope than the one asked
    "replay_skipped": logging.INFO,  # a 401 whose body cannot be rewound is returned as is
    "server_date_ignored": logging.WARNING,  # a token answer's Date is absurd: our clock used
}
"""Every event kind, with the level its log line is written at."""


@dataclass(frozen=True)
class Event:
    """One thing that happened to a credential set's token. Never carries a secret.

    Attributes:
        kind: one of :data:`KINDS`.
        vendor: the vendor name ("" for store events).
        client_id: the client id, when the event concerns one.
        duration: seconds the operation took (token fetches), else None.
        outcome: ``"ok"`` or the error class name.
        status_code: the token endpoint's HTTP status, when there was one.
        message: the log line's text (vendor-prefixed, no secret).
        at: epoch seconds.

    Thread-safety: an immutable value, delivered to every subscriber.
    """

    kind: str
    vendor: str
    message: str
    client_id: Optional[str] = None
    duration: Optional[float] = None
    outcome: str = "ok"
    status_code: Optional[int] = None
    at: float = field(default_factory=time.time)


_subscribers: Tuple[Callable[[Event], None], ...] = ()
_lock = threading.Lock()


def subscribe(callback: Callable[[Event], None]) -> Callable[[], None]:
    """Call ``callback(event)`` for every event from now on; returns the unsubscribe call.

    A callback that raises is logged (at WARNING, once per exception type) and ignored.
    """
    global _subscribers
    with _lock:
        _subscribers = (*_subscribers, callback)

    def unsubscribe() -> None:
        global _subscribers
        with _lock:
            _subscribers = tuple(s for s in _subscribers if s is not callback)

    return unsubscribe


_complained: List[type] = []


def emit(event: Event) -> None:
    """Log ``event`` and hand it to every subscriber."""
    logger.log(KINDS.get(event.kind, logging.INFO), "%s", event.message)
    for callback in _subscribers:
        try:
            callback(event)
        except Exception as exc:  # a subscriber's bug must not break token handling
            if type(exc) not in _complained:
                _complained.append(type(exc))
                logger.warning("an auth_sessions event subscriber raised %s", type(exc).__name__)
