"""``TokenAuth``: lazy, shared, single-flight tokens with 401 re-auth and one replay.

Everything in API.md section 3 lives here once; a vendor subclass only describes its wire
format (a :class:`~auth_sessions._parse.WireFormat`) or overrides :meth:`TokenAuth.token_request`
and :meth:`TokenAuth.parse_token`.

Renewal windows (after botocore's refreshable credentials): with ``advisory`` leeway ``L``
(default ``min(60 s, 10 % of the token's lifetime)``, never more than half of it), a token
enters its *advisory* window ``L`` seconds before expiry: one thread renews it while every
other thread keeps sending the still-valid token, and a failed renewal keeps the old token
serving (one warning). At ``L / 2`` before expiry the *mandatory* window starts: callers wait
for a fresh token, and the old one is never sent again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Callable, ClassVar, Dict, Iterable, Mapping, Optional, Tuple, Union

import requests
from requests.cookies import extract_cookies_to_jar
from requests.utils import rewind_body

from ._http import RetryPolicy, TokenRequest, call_token_endpoint
from ._parse import BadField, WireFormat, parse_token
from ._urls import origin, origin_prefix, require_secure
from .errors import (
    AuthError,
    ConfigurationError,
    InvalidCredentials,
    TokenEndpointError,
    TokenResponseError,
)
from .stores.base import TokenStore
from .stores.memory import default_store
from .tokens import Secret, Token

__all__ = ["DEFAULT_TOKEN_TIMEOUT", "TokenAuth"]

logger = logging.getLogger(__name__)

Timeout = Union[float, Tuple[float, float]]

DEFAULT_TOKEN_TIMEOUT: Tuple[float, float] = (5.0, 15.0)
"""(connect, read) seconds for each token-endpoint attempt."""

LOCK_TIMEOUT = 180.0
"""How long a caller waits for another thread's (or process's) token fetch to finish."""

_MAX_DEFAULT_LEEWAY = 60.0


class _Snapshot:
    """A token with its header and renewal points worked out once. Immutable by convention."""

    __slots__ = ("header", "must_renew_at", "renew_at", "token")

    def __init__(self, token: Token, header: str, renew_at: float, must_renew_at: float) -> None:
        self.token = token
        self.header = header
        self.renew_at = renew_at
        self.must_renew_at = must_renew_at

    def __repr__(self) -> str:
        return f"_Snapshot(expires_at={self.token.expires_at.isoformat()})"


class TokenAuth(requests.auth.AuthBase):
    """A requests auth that fetches, caches, renews and re-tries a vendor's bearer token.

    Subclasses set ``vendor``, ``environments`` and ``wire`` (and optionally
    ``default_headers``). One instance may be shared by any number of threads and sessions;
    tokens are shared further, through the token store, by every instance with the same
    vendor, token URL and credentials.

    Args:
        client_id: the client id (Manis: the merchant id).
        client_secret: the client secret (Manis: the merchant secret).
        base_url: overrides the environment's base URL.
        environment: ``"production"`` (default) or ``"sandbox"``.
        token_store: where tokens are kept; default the process-wide memory store.
        leeway: seconds before expiry at which renewal starts; None for
            ``min(60, 10 % of the lifetime)``. Always capped at half the token's lifetime.
        timeout: (connect, read) timeout of each token-endpoint attempt.
        retry: how the token endpoint is retried (:class:`RetryPolicy`).
        headers: extra headers sent on every in-scope API call (override vendor defaults).
        clock: epoch-seconds clock, injectable for tests.

    Raises:
        ConfigurationError: missing credentials, an unknown environment, no base URL, or a
            URL that is not https (plain http is allowed to loopback hosts only).

    Example:
        >>> import requests, auth_sessions
        >>> auth = auth_sessions.CobeeAuth("id", "secret")
        >>> auth.base_url
        'https://partners-api.cobee.io/api/v3'
    """

    vendor: ClassVar[str] = "custom"
    environments: ClassVar[Mapping[str, Optional[str]]] = {}
    wire: ClassVar[WireFormat] = WireFormat()
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        client_id: Optional[str],
        client_secret: Optional[str],
        *,
        base_url: Optional[str] = None,
        environment: Optional[str] = None,
        token_store: Optional[TokenStore] = None,
        leeway: Optional[float] = None,
        timeout: Timeout = DEFAULT_TOKEN_TIMEOUT,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        vendor = self.vendor
        if not client_id:
            raise ConfigurationError(f"{vendor}: client_id is required", vendor=vendor)
        if not client_secret:
            raise ConfigurationError(f"{vendor}: client_secret is required", vendor=vendor)
        if leeway is not None and (not isinstance(leeway, (int, float)) or leeway < 0):
            raise ConfigurationError(f"{vendor}: leeway must be a number >= 0", vendor=vendor)
        self.client_id = client_id
        self._secret = Secret(client_secret)
        self.environment = environment or "production"
        self.base_url = self.resolve_base_url(base_url, self.environment)
        require_secure(self.base_url, vendor=vendor, what="base URL")
        self.token_url = self.make_token_url()
        require_secure(self.token_url, vendor=vendor, what="token URL")
        self._store: TokenStore = token_store if token_store is not None else default_store
        self._leeway = None if leeway is None else float(leeway)
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._clock = clock
        merged = {**self.default_headers, **(headers or {})}
        self.headers: Dict[str, str] = merged
        self._extra_headers = tuple(merged.items())
        self._origin = origin(self.base_url)
        self._prefix = origin_prefix(self.base_url)
        digest = hashlib.sha256(client_secret.encode()).hexdigest()[:32]
        self.store_key = f"{vendor}|{self.token_url}|{client_id}|{digest}"
        self._snap: Optional[_Snapshot] = None
        self._hook = self._on_response

    # ----------------------------------------------------------------- vendor description

    @classmethod
    def resolve_base_url(cls, base_url: Optional[str], environment: str) -> str:
        """The base URL for ``environment``, or ``base_url`` when given."""
        vendor = cls.vendor
        if environment not in cls.environments and cls.environments:
            known = ", ".join(sorted(cls.environments))
            raise ConfigurationError(
                f"{vendor}: unknown environment {environment!r}; choose one of: {known} "
                f"(argument environment= or env {vendor.upper()}_ENVIRONMENT)",
                vendor=vendor,
            )
        if base_url:
            return base_url.rstrip("/")
        published = cls.environments.get(environment)
        if not published:
            raise ConfigurationError(
                f"{vendor}: no {environment} base URL is published for {vendor}; pass base_url= "
                f"or set {vendor.upper()}_BASE_URL",
                vendor=vendor,
            )
        return published

    def make_token_url(self) -> str:
        """The token endpoint: the base URL plus ``wire.token_path``."""
        return self.base_url + self.wire.token_path

    def token_request(self) -> TokenRequest:
        """The client-credentials request, as ``wire`` describes it."""
        wire = self.wire
        creds = {wire.id_field: self.client_id, wire.secret_field: self._secret.reveal()}
        if wire.send == "headers":
            return TokenRequest(self.token_url, headers=creds)
        return TokenRequest(self.token_url, json=creds)

    def refresh_request(self, refresh_token: str) -> Optional[TokenRequest]:
        """The refresh-grant request, or None when the vendor has no refresh grant."""
        if self.wire.refresh_path is None:
            return None
        url = self.base_url + self.wire.refresh_path
        return TokenRequest(url, json={self.wire.refresh_request_field: refresh_token})

    def parse_token(self, data: Any, now: float) -> Token:
        """Turn a decoded 2xx token response into a :class:`Token` (raise :class:`BadField`)."""
        return parse_token(data, self.wire, now)

    # ------------------------------------------------------------------------ public API

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vendor={self.vendor!r}, client_id={self.client_id!r}, "
            f"base_url={self.base_url!r})"
        )

    def get_token(self) -> Token:
        """The current token, fetched or renewed as needed (what a request would carry)."""
        return self._current().token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        url = r.url or ""
        if not url.startswith(self._prefix) and origin(url) != self._origin:
            return r  # another origin: never send it our token
        snap = self._snap
        if snap is None or self._clock() >= snap.renew_at:
            snap = self._current()
        r.headers["Authorization"] = snap.header
        r.hooks["response"].append(self._hook)
        if self._extra_headers:
            for name, value in self._extra_headers:
                if name not in r.headers:
                    r.headers[name] = value
        return r

    # ------------------------------------------------------------------------ internals

    def _snapshot(self, token: Token) -> _Snapshot:
        lifetime = token.lifetime
        advisory = (
            min(_MAX_DEFAULT_LEEWAY, 0.1 * lifetime) if self._leeway is None else self._leeway
        )
        advisory = min(advisory, lifetime / 2)
        header = "Bearer " + token.access_token.reveal()
        return _Snapshot(
            token, header, token.expires_ts - advisory, token.expires_ts - advisory / 2
        )

    def _current(self) -> _Snapshot:
        now = self._clock()
        snap = self._snap
        if snap is not None and now < snap.renew_at:
            return snap
        token = self._store.get(self.store_key)
        if token is not None:
            snap = self._snapshot(token)
            if now < snap.renew_at:
                self._snap = snap
                return snap
            if now < snap.must_renew_at:
                return self._renew_advisory(snap)
        return self._renew_mandatory()

    def _renew_advisory(self, snap: _Snapshot) -> _Snapshot:
        """One thread renews; everyone else (and the renewer, on failure) keeps ``snap``."""
        with self._store.lock(self.store_key, blocking=False) as acquired:
            if not acquired:
                return snap
            current = self._store.get(self.store_key)
            if current is not None and current.access_token != snap.token.access_token:
                fresh = self._snapshot(current)
                if self._clock() < fresh.must_renew_at:
                    self._snap = fresh
                    return fresh
            try:
                return self._install(self._obtain(current or snap.token, "renewed"))
            except AuthError as exc:
                logger.warning(
                    "%s: early renewal failed (%s); the current token stays in use until %s",
                    self.vendor,
                    exc,
                    snap.token.expires_at.isoformat(),
                )
                # No further early attempts: wait for the mandatory point.
                held = _Snapshot(snap.token, snap.header, snap.must_renew_at, snap.must_renew_at)
                self._snap = held
                return held

    def _renew_mandatory(self) -> _Snapshot:
        with self._locked():
            current = self._store.get(self.store_key)
            if current is not None:
                snap = self._snapshot(current)
                if self._clock() < snap.must_renew_at:
                    self._snap = snap
                    return snap
            return self._install(self._obtain(current, "fetched"))

    def _reauth(self, sent_header: Optional[str]) -> _Snapshot:
        """After a 401: invalidate the token sent if it is still current, then renew once."""
        with self._locked():
            current = self._store.get(self.store_key)
            if current is not None:
                snap = self._snapshot(current)
                if snap.header != sent_header and self._clock() < snap.must_renew_at:
                    self._snap = snap
                    return snap  # another thread already renewed
                if self._store.invalidate(self.store_key, current):
                    logger.info(
                        "%s: token for client %s invalidated after a 401",
                        self.vendor,
                        self.client_id,
                    )
            return self._install(self._obtain(current, "renewed after 401"))

    def _locked(self) -> Any:
        return _HeldLock(self)

    def _install(self, token: Token) -> _Snapshot:
        self._store.put(self.store_key, token)
        snap = self._snapshot(token)
        self._snap = snap
        return snap

    def _obtain(self, current: Optional[Token], what: str) -> Token:
        """Refresh grant first when possible, else client credentials."""
        now = self._clock()
        if (
            current is not None
            and current.refresh_token is not None
            and current.refresh_usable(now)
        ):
            request = self.refresh_request(current.refresh_token.reveal())
            if request is not None:
                try:
                    return self._call(request, current, "refreshed")
                except InvalidCredentials as exc:
                    logger.info("%s: refresh refused (%s); fetching a new token", self.vendor, exc)
        return self._call(self.token_request(), current, what)

    def _call(self, request: TokenRequest, current: Optional[Token], what: str) -> Token:
        scrub = [self._secret.reveal()]
        if current is not None:
            scrub += _revealed(current)
        data = call_token_endpoint(
            request, vendor=self.vendor, timeout=self._timeout, retry=self._retry, scrub=scrub
        )
        token = self.token_from_response(data, request.url)
        logger.info(
            "%s: token %s for client %s from %s, expires %s",
            self.vendor,
            what,
            self.client_id,
            request.url,
            token.expires_at.isoformat(),
        )
        return token

    def token_from_response(self, data: Any, url: str) -> Token:
        """A token from a decoded 2xx response body, or :class:`TokenResponseError` — never
        anything else, whatever JSON value ``data`` is."""
        try:
            return self.parse_token(data, self._clock())
        except BadField as exc:
            raise TokenResponseError(
                f"{self.vendor}: token endpoint {url} answered 2xx but {exc}",
                vendor=self.vendor,
                url=url,
            ) from None

    def _on_response(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        """Response hook: on 401, re-auth once and replay the request (digest-auth style)."""
        if r.status_code != 401:
            return r
        request = r.request
        sent = request.headers.get("Authorization")
        if sent is None or not str(sent).startswith("Bearer "):
            return r  # e.g. a redirect to another origin, which carried no token
        fresh = self._reauth(str(sent))
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            if not isinstance(getattr(request, "_body_position", None), int):
                logger.info("%s: 401 not replayed: the request body cannot be rewound", self.vendor)
                return r
            rewind_body(request)
        r.content  # noqa: B018 - drain so the connection can be reused
        r.close()
        replay = request.copy()
        extract_cookies_to_jar(replay._cookies, request, r.raw)  # type: ignore[attr-defined,no-untyped-call]
        replay.prepare_cookies(replay._cookies)  # type: ignore[attr-defined]
        replay.headers["Authorization"] = fresh.header
        logger.info("%s: replaying %s %s after re-auth", self.vendor, replay.method, _path(replay))
        adapter = r.connection
        response: requests.Response = adapter.send(replay, **kwargs)
        response.history.append(r)
        response.request = replay
        return response


class _HeldLock:
    """The blocking single-flight section, raising instead of waiting forever."""

    __slots__ = ("_auth", "_cm")

    def __init__(self, auth: TokenAuth) -> None:
        self._auth = auth
        self._cm = auth._store.lock(auth.store_key, timeout=LOCK_TIMEOUT)

    def __enter__(self) -> None:
        if not self._cm.__enter__():
            self._cm.__exit__(None, None, None)
            auth = self._auth
            raise TokenEndpointError(
                f"{auth.vendor}: gave up after {LOCK_TIMEOUT:.0f}s waiting for another fetch "
                f"from {auth.token_url}",
                vendor=auth.vendor,
                url=auth.token_url,
            )

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


def _revealed(token: Token) -> Iterable[str]:
    yield token.access_token.reveal()
    if token.refresh_token is not None:
        yield token.refresh_token.reveal()


def _path(request: requests.PreparedRequest) -> str:
    return (request.path_url or "/").split("?", 1)[0]
