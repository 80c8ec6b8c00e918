"""``TokenAuth``: the requests side of a vendor's token — origin scoping, the header, the 401
replay. The token itself comes from the credential set's
:class:`~auth_sessions.manager.TokenManager`, fetched through the vendor's
:class:`~auth_sessions.endpoint.TokenEndpoint` on the caller's transport.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from typing import Any, Callable, ClassVar, Dict, Mapping, Optional, Tuple, Type, Union

import requests
from requests.cookies import extract_cookies_to_jar
from requests.utils import rewind_body

from ._checks import check_auth_options, checked_secret, published_base_url
from ._http import RetryPolicy
from ._parse import WireFormat
from ._urls import origin, origin_prefix, require_secure, shown
from .endpoint import DEFAULT_TOKEN_TIMEOUT, Obtained, TokenEndpoint, Transport
from .events import Event, emit
from .manager import DEFAULT_COOLDOWN, DEFAULT_DEADLINE, Fetch, Policy, Snapshot, manager_for
from .stores.base import TokenStore
from .stores.memory import default_store
from .tokens import Secret, Token

__all__ = ["DEFAULT_TOKEN_TIMEOUT", "TokenAuth", "call_context"]


Timeout = Union[float, Tuple[float, float]]

call_context = threading.local()
"""What :class:`~auth_sessions.VendorSession` tells its auth about the call in progress in
this thread: ``.seconds``, how long it may wait for a token (from the call's timeout; unset:
the token deadline), and ``.session``, whose transport token calls then use."""


class TokenAuth(requests.auth.AuthBase):
    """A requests auth that sends a vendor's bearer token, renewed as needed, and replays a
    request answered 401 once with a fresh token.

    Thread-safe: one instance may serve any number of threads and sessions, and every
    instance with the same credentials in the process shares one live token.

    Args:
        client_id: the client id (Manis: the merchant id).
        client_secret: the client secret (Manis: the merchant secret).
        base_url: overrides the environment's base URL.
        environment: ``"production"`` (default) or ``"sandbox"``, case-insensitive.
        token_store: where tokens are kept; default the process-wide memory store.
        leeway: seconds before expiry at which renewal starts; None for
            ``min(60, 10 % of the lifetime)``. Always capped at half the token's lifetime.
        timeout: (connect, read) timeout of each token-endpoint attempt.
        retry: how the token endpoint is retried (:class:`RetryPolicy`).
        headers: extra headers sent on every in-scope API call (override vendor defaults).
        clock: epoch-seconds clock, injectable for tests.
        token_session: a ``requests.Session`` to send token calls with, as it is.
        token_deadline: seconds a token fetch may take in all, and the longest a call
            without a timeout waits for a token (default 30).
        cooldown: seconds refused credentials are held back (default 60).
        background: renew in the advisory window off the request path (default True).
        **options: passed to the vendor's token endpoint (``scope=`` for ``oauth2``...).

    Raises:
        ConfigurationError: a missing or malformed credential or option, an unknown
            environment, no base URL, or a URL that is not https (plain http is allowed to
            loopback hosts only).

    Example:
        >>> import auth_sessions
        >>> auth = auth_sessions.CobeeAuth("id", "secret")
        >>> auth.base_url
        'https://partners-api.cobee.io/api/v3'
    """

    vendor: ClassVar[str] = "custom"
    environments: ClassVar[Mapping[str, Optional[str]]] = {}
    wire: ClassVar[WireFormat] = WireFormat()
    endpoint_class: ClassVar[Type[TokenEndpoint]] = TokenEndpoint
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        client_id: Optional[str],
        client_secret: Union[str, Secret, None],
        *,
        base_url: Optional[str] = None,
        environment: Optional[str] = None,
        token_store: Optional[TokenStore] = None,
        leeway: Optional[float] = None,
        timeout: Timeout = DEFAULT_TOKEN_TIMEOUT,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        clock: Callable[[], float] = time.time,
        token_session: Optional[requests.Session] = None,
        token_deadline: float = DEFAULT_DEADLINE,
        cooldown: float = DEFAULT_COOLDOWN,
        background: bool = True,
        **options: Any,
    ) -> None:
        vendor = self.vendor
        secret = checked_secret(vendor, client_id, client_secret, self.wire.send == "headers")
        check_auth_options(
            vendor,
            leeway,
            timeout,
            retry,
            token_deadline,
            cooldown,
            background,
            headers=headers,
            token_store=token_store,
            clock=clock,
            token_session=token_session,
            environment=environment,
            base_url=base_url,
        )
        assert client_id is not None
        self._init = (client_id, secret, dict(locals_kwargs(locals())))
        self.client_id = client_id
        self.environment = (environment or "production").lower()  # names are case-insensitive
        self.base_url = self.resolve_base_url(base_url, self.environment)
        require_secure(self.base_url, vendor=vendor, what="base URL")
        self.endpoint = self.endpoint_class(
            vendor=vendor,
            base_url=self.base_url,
            client_id=client_id,
            client_secret=secret,
            timeout=timeout,
            retry=retry,
            wire=self.wire,
            **options,
        )
        self.token_url = self.endpoint.token_url
        require_secure(self.token_url, vendor=vendor, what="token URL")
        self.store_key = self.endpoint.credential_key()
        self._manager = manager_for(
            token_store if token_store is not None else default_store,
            self.store_key,
            vendor=vendor,
            client_id=client_id,
            url=shown(self.token_url),
            clock=clock,
            policy=Policy(None if leeway is None else float(leeway), float(cooldown), background),
        )
        self._clock = clock
        self._deadline = float(token_deadline)
        self._token_session = token_session
        self._bound: Optional[weakref.ReferenceType[requests.Session]] = None
        self.headers: Dict[str, str] = {**self.default_headers, **(headers or {})}
        self._extra_headers = tuple(self.headers.items())
        self._origin = origin(self.base_url)
        self._prefix = origin_prefix(self.base_url)
        self._hook = self._on_response

    @classmethod
    def resolve_base_url(cls, base_url: Optional[str], environment: str) -> str:
        """The base URL for ``environment``, or ``base_url`` when given."""
        return published_base_url(cls.vendor, cls.environments, base_url, environment)

    # ------------------------------------------------------------------------ public API

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vendor={self.vendor!r}, client_id={self.client_id!r}, "
            f"base_url={shown(self.base_url)!r})"
        )

    @property
    def token_store(self) -> TokenStore:
        """The store this auth's tokens are kept in."""
        return self._manager.store

    def get_token(self) -> Token:
        """The current token, fetched or renewed as needed (what a request would carry)."""
        return self._slow().token

    def forget(self) -> None:
        """Drop this credential set's token and failure memory (here, in the store, and for
        every open session sharing it): the next call fetches anew."""
        self._manager.forget()

    def wait_for_renewal(self, timeout: float = 30.0) -> bool:
        """Wait (at most ``timeout`` s) for a token fetch in flight, such as a background
        renewal; True when none is left. For tests and orderly shutdowns."""
        return self._manager.settle(timeout)

    def bind(self, session: requests.Session) -> None:
        """Send token calls with ``session``'s ``verify``, ``cert``, ``proxies`` and
        ``trust_env`` (read at each call). A :class:`VendorSession` binds its own auth."""
        self._bound = weakref.ref(session)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        url = r.url or ""
        if not url.startswith(self._prefix) and origin(url) != self._origin:
            return r  # another origin: never send it our token
        snap = self._manager.snap
        if snap is None or self._clock() >= snap.renew_at:
            snap = self._slow()
        r.headers["Authorization"] = snap.header
        r.hooks["response"].append(self._hook)
        if self._extra_headers:
            for name, value in self._extra_headers:
                if name not in r.headers:
                    r.headers[name] = value
        return r

    # ------------------------------------------------------------------------ internals

    def _fetcher(self) -> Fetch:
        """The fetch a flight started now would run. Cheap: most slow-path calls join a
        flight in progress and never call it; the caller's session is read when it runs."""
        caller = getattr(call_context, "session", None)
        if caller is None or caller.auth is not self:
            caller = None

        def fetch(current: Optional[Token], refresh: bool, deadline: float) -> Obtained:
            return self.endpoint.obtain(
                current, refresh, transport=self._transport(caller), deadline=deadline,
                clock=self._clock,
            )  # fmt: skip

        return fetch

    def _transport(self, caller: Optional[requests.Session]) -> Transport:
        """The token session given, else the calling session's settings (or those of the
        session this auth was built for), else requests' environment defaults."""
        if self._token_session is not None:
            return Transport(session=self._token_session)
        if caller is None and self._bound is not None:
            caller = self._bound()
        return Transport.of(caller) if caller is not None else Transport()

    def _budget(self, timeout: Any = None) -> float:
        if timeout is None:
            timeout = getattr(call_context, "seconds", None)
        if isinstance(timeout, tuple):
            parts = [p for p in timeout if p is not None]
            timeout = sum(parts) if len(parts) == len(timeout) else None
        if isinstance(timeout, (int, float)) and math.isfinite(timeout):
            return float(timeout)
        return self._deadline

    def _slow(self) -> Snapshot:
        deadline = time.monotonic() + self._deadline
        return self._manager.current(self._fetcher(), self._budget(), deadline)

    def _on_response(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        """Response hook: on 401, re-auth once and replay the request (digest-auth style)."""
        if r.status_code != 401:
            return r
        request = r.request
        sent = request.headers.get("Authorization")
        if sent is None or not str(sent).startswith("Bearer "):
            return r  # e.g. a redirect to another origin, which carried no token
        deadline = time.monotonic() + self._deadline
        budget = self._budget(kwargs.get("timeout"))
        fresh = self._manager.after_401(str(sent), self._fetcher(), budget, deadline)
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            if not isinstance(getattr(request, "_body_position", None), int):
                message = f"{self.vendor}: 401 not replayed: the request body cannot be rewound"
                emit(Event("replay_skipped", self.vendor, message, self.client_id))
                return r
            rewind_body(request)
        r.content  # noqa: B018 - drain so the connection can be reused
        r.close()
        replay = request.copy()
        extract_cookies_to_jar(replay._cookies, request, r.raw)  # type: ignore[attr-defined,no-untyped-call]
        replay.prepare_cookies(replay._cookies)  # type: ignore[attr-defined]
        replay.headers["Authorization"] = fresh.header
        emit(
            Event(
                "replayed_401",
                self.vendor,
                f"{self.vendor}: replaying {replay.method} {_path(replay)} after re-auth",
                self.client_id,
            )
        )
        response: requests.Response = r.connection.send(replay, **kwargs)
        response.history.append(r)
        response.request = replay
        return response

    # ------------------------------------------------------------------------ copies

    def __reduce__(self) -> Any:
        """Pickles as its settings (the client secret included): loaded in another process it
        attaches to that process's manager and store."""
        client_id, secret, kwargs = self._init
        return (_restore, (type(self), client_id, secret, kwargs))

    def __copy__(self) -> TokenAuth:
        client_id, secret, kwargs = self._init
        return _restore(type(self), client_id, secret, dict(kwargs))

    def __deepcopy__(self, memo: Dict[int, Any]) -> TokenAuth:
        return self.__copy__()  # settings are values or shared resources (store, clock)


def locals_kwargs(scope: Dict[str, Any]) -> Dict[str, Any]:
    """The keyword arguments of ``TokenAuth.__init__`` as given (for copies and pickles)."""
    names = (
        "base_url",
        "environment",
        "token_store",
        "leeway",
        "timeout",
        "retry",
        "headers",
        "clock",
        "token_session",
        "token_deadline",
        "cooldown",
        "background",
    )
    kwargs = {name: scope[name] for name in names}
    kwargs.update(scope["options"])
    return kwargs


def _restore(cls: Type[TokenAuth], client_id: str, secret: Secret, kwargs: Any) -> TokenAuth:
    return cls(client_id, secret, **kwargs)


def _path(request: requests.PreparedRequest) -> str:
    return (request.path_url or "/").split("?", 1)[0]
