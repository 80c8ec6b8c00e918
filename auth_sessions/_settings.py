"""Every option of an auth object as one frozen value, checked once at construction.

A misspelled or unknown option is a ``ConfigurationError`` naming it and the closest valid
name (``leway`` → ``leeway``); a bad value names the option, never its value.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Collection, Dict, Mapping, Optional, Tuple, Union

import requests

from ._http import RetryPolicy
from ._policy import DEFAULT_COOLDOWN, DEFAULT_DEADLINE, Policy
from ._transport import DEFAULT_TOKEN_TIMEOUT
from .errors import ConfigurationError
from .stores.base import BaseTokenStore

__all__ = ["Settings", "check_timeout", "refuse_unknown"]

Timeout = Union[float, Tuple[float, float]]


def _fail(vendor: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"{vendor}: {message}", vendor=vendor)


def refuse_unknown(vendor: str, given: Collection[str], valid: Collection[str]) -> None:
    """A ``ConfigurationError`` for the first name in ``given`` that is not in ``valid``."""
    for name in given:
        if name not in valid:
            close = difflib.get_close_matches(name, sorted(valid), n=1)
            hint = f"; did you mean {close[0]}=?" if close else ""
            known = ", ".join(sorted(valid))
            raise _fail(vendor, f"unknown option {name}={hint} (options: {known})")


def _positive(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _non_negative(value: Any) -> bool:
    return _positive(value) or (value == 0 and not isinstance(value, bool))


def check_timeout(vendor: str, value: Any, setting: str, *, optional: bool) -> None:
    """A finite positive number of seconds, or a (connect, read) pair of them."""
    if value is None and optional:
        return
    if isinstance(value, tuple) and len(value) == 2 and all(_positive(v) for v in value):
        return
    if _positive(value):
        return
    raise _fail(
        vendor,
        f"{setting} must be a finite number of seconds > 0 or a (connect, read) pair of them"
        + (", or None" if optional else ""),
    )


def _str_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


_CHECKS: Dict[str, Tuple[Callable[[Any], bool], str]] = {
    "base_url": (lambda v: v is None or isinstance(v, str), "a string or None"),
    "environment": (lambda v: v is None or isinstance(v, str), "a string or None"),
    "token_store": (
        lambda v: v is None or isinstance(v, BaseTokenStore) or _is_store(v),
        "a token store (MemoryTokenStore, ...)",
    ),
    "leeway": (lambda v: v is None or _non_negative(v), "a finite number >= 0 or None"),
    "retry": (lambda v: isinstance(v, RetryPolicy), "a RetryPolicy"),
    "headers": (_str_map, "a mapping of str to str"),
    "clock": (callable, "a callable returning epoch seconds"),
    "monotonic": (callable, "a callable returning monotonic seconds"),
    "token_session": (
        lambda v: v is None or isinstance(v, requests.Session),
        "a requests.Session or None",
    ),
    "token_deadline": (_positive, "a finite number of seconds > 0"),
    "cooldown": (_non_negative, "a finite number of seconds >= 0"),
    "background": (lambda v: isinstance(v, bool), "True or False"),
}


def _is_store(value: Any) -> bool:
    """A store that does not subclass BaseTokenStore but has every method of the protocol."""
    names = ("get", "put", "invalidate", "delete", "get_failure", "put_failure", "lock", "load")
    return all(callable(getattr(value, name, None)) for name in (*names, "may_refresh"))


_DEFAULT_RETRY = RetryPolicy()

ENV_RETRIES = "AUTH_SESSIONS_TOKEN_RETRIES"
ENV_DEADLINE = "AUTH_SESSIONS_TOKEN_DEADLINE"


def env_defaults(vendor: str) -> Dict[str, Any]:
    """Token-call defaults an app's environment sets (its tests: a "vendor down" test need
    not wait out real backoff): ``AUTH_SESSIONS_TOKEN_RETRIES`` (retries after the first
    attempt, 0 for none) and ``AUTH_SESSIONS_TOKEN_DEADLINE`` (seconds a fetch may take).
    An explicit ``retry=`` / ``token_deadline=`` wins."""
    found: Dict[str, Any] = {}
    raw = os.environ.get(ENV_RETRIES, "").strip()
    if raw:
        if not raw.isdigit():
            raise _fail(vendor, f"{ENV_RETRIES}={raw!r} must be a count >= 0")
        found["retry"] = replace(_DEFAULT_RETRY, total=int(raw))
    raw = os.environ.get(ENV_DEADLINE, "").strip()
    if raw:
        try:
            deadline = float(raw)
        except ValueError:
            deadline = -1.0
        if not _positive(deadline):
            raise _fail(vendor, f"{ENV_DEADLINE}={raw!r} must be a number of seconds > 0")
        found["token_deadline"] = deadline
    return found


@dataclass(frozen=True)
class Settings:
    """The options of one auth object (see :class:`~auth_sessions.TokenAuth` for each).

    ``options`` are the vendor's own (the generic ``oauth2`` vendor's ``token_url=``,
    ``scope=``...), checked by the vendor. Thread-safety: an immutable value.
    """

    base_url: Optional[str] = None
    environment: Optional[str] = None
    token_store: Any = None
    leeway: Optional[float] = None
    timeout: Timeout = DEFAULT_TOKEN_TIMEOUT
    retry: RetryPolicy = _DEFAULT_RETRY
    headers: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    token_session: Optional[requests.Session] = None
    token_deadline: float = DEFAULT_DEADLINE
    cooldown: float = DEFAULT_COOLDOWN
    background: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def names(cls) -> Tuple[str, ...]:
        """The option names every auth class takes."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "options")

    @classmethod
    def build(
        cls, vendor: str, given: Mapping[str, Any], vendor_options: Collection[str] = ()
    ) -> Settings:
        """Check ``given`` (keyword arguments as passed) and make the value.

        Raises:
            ConfigurationError: an unknown option (naming the closest valid one) or a bad
                value (naming the option).
        """
        own = cls.names()
        refuse_unknown(vendor, given, (*own, *vendor_options))
        values = {name: given[name] for name in own if name in given and given[name] is not None}
        for name, value in env_defaults(vendor).items():
            values.setdefault(name, value)
        for name, value in values.items():
            if name == "timeout":
                check_timeout(vendor, value, "token timeout", optional=False)
                continue
            accept, what = _CHECKS[name]
            if not accept(value):
                raise _fail(vendor, f"{name} must be {what}")
        if "leeway" in values:
            values["leeway"] = float(values["leeway"])
        if "headers" in values:
            values["headers"] = dict(values["headers"])
        options = {name: given[name] for name in vendor_options if name in given}
        return cls(**values, options=options)

    def given(self) -> Dict[str, Any]:
        """The keyword arguments that rebuild this value (for copies and pickles)."""
        kwargs = {name: getattr(self, name) for name in self.names()}
        kwargs.update(self.options)
        return kwargs

    @property
    def policy(self) -> Policy:
        """The manager's renewal policy these settings describe."""
        return Policy(self.leeway, float(self.cooldown), self.background)
