"""The token endpoint client: what a vendor's token endpoint expects and answers, and how a
token request travels (the caller's transport, our own retries, a deadline, typed errors).

A vendor describes itself here and nowhere else: a :class:`WireFormat`, or a
:class:`TokenEndpoint` subclass that overrides :meth:`~TokenEndpoint.token_request`,
:meth:`~TokenEndpoint.refresh_request`, :meth:`~TokenEndpoint.parse` or
:meth:`~TokenEndpoint.key_params`. Nothing here knows about caching or locks.

Thread-safety: a ``TokenEndpoint`` is immutable after construction; one instance serves
every thread, and each token call opens its own short-lived HTTP session.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    Type,
    Union,
)
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from ._http import (
    MAX_TOKEN_RESPONSE_BYTES,
    RetryPolicy,
    TooLarge,
    Truncated,
    describe_error_body,
    parse_delay,
    read_capped,
    redact,
)
from ._parse import WireFormat, parse_token
from ._urls import shown
from .errors import (
    AuthError,
    InvalidCredentials,
    TokenEndpointError,
    TokenResponseError,
    TokenTimeout,
)
from .events import Event, emit
from .tokens import Secret, Token

__all__ = [
    "DEFAULT_TOKEN_TIMEOUT",
    "SKEW_TOLERANCE",
    "Obtained",
    "TokenEndpoint",
    "TokenRequest",
    "Transport",
    "describe_cause",
]

logger = logging.getLogger(__name__)

Timeout = Union[float, Tuple[float, float]]

DEFAULT_TOKEN_TIMEOUT: Tuple[float, float] = (5.0, 15.0)
"""(connect, read) seconds for each token-endpoint attempt (never past the deadline)."""

SKEW_TOLERANCE = 2.0
"""A server ``Date`` within this many seconds of our clock is taken as agreement (``Date``
has one-second resolution); beyond it, absolute expiries are read against the server."""


@dataclass(frozen=True)
class TokenRequest:
    """One token-endpoint call: a POST with a JSON body, a form body or headers.

    Its repr shows only the URL: the body and headers carry the client secret.
    """

    url: str
    json: Optional[Mapping[str, Any]] = field(default=None, repr=False)
    data: Optional[Union[str, Mapping[str, str]]] = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


class Obtained(NamedTuple):
    """A new token, and whether a refresh grant (rather than client credentials) gave it."""

    token: Token
    refreshed: bool


@dataclass(frozen=True)
class Transport:
    """How a token call travels: TLS verification, client certificate, proxies, environment.

    Captured from the caller's ``requests.Session`` at the time of the call
    (:meth:`of`), or the defaults a standalone auth uses (requests' own: verify, the
    environment's ``REQUESTS_CA_BUNDLE`` / ``HTTPS_PROXY`` / ``NO_PROXY``). ``session``, when
    set, is a user's own ``requests.Session`` used as it is (custom adapters, SOCKS, pinning).
    """

    verify: Union[bool, str] = True
    cert: Any = None
    proxies: Mapping[str, str] = field(default_factory=dict)
    trust_env: bool = True
    session: Optional[requests.Session] = None

    @classmethod
    def of(cls, session: requests.Session) -> Transport:
        """The transport settings of ``session`` as they are now."""
        return cls(
            verify=True if session.verify is None else session.verify,
            cert=session.cert,
            proxies=dict(session.proxies or {}),
            trust_env=session.trust_env,
        )


class _NoAuth(requests.auth.AuthBase):
    """An explicit no-op auth: stops requests adding ~/.netrc credentials to token calls."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class TokenEndpoint:
    """A vendor's token endpoint: the requests it takes, the answers it gives, how to call it.

    Subclasses set :attr:`wire`, or override the methods below for anything a
    :class:`WireFormat` cannot say. ``client_secret`` is a :class:`~auth_sessions.Secret`:
    call ``.reveal()`` only to put it on the wire.

    Args:
        vendor: the vendor name (for messages).
        base_url: the resolved base URL.
        client_id: the client id.
        client_secret: the client secret.
        timeout: (connect, read) timeout of each attempt.
        retry: the token endpoint's retry policy.
        wire: the vendor's wire format (default: the class's :attr:`wire`).
    """

    wire: WireFormat = WireFormat()

    def __init__(
        self,
        *,
        vendor: str,
        base_url: str,
        client_id: str,
        client_secret: Secret,
        timeout: Timeout = DEFAULT_TOKEN_TIMEOUT,
        retry: Optional[RetryPolicy] = None,
        wire: Optional[WireFormat] = None,
    ) -> None:
        if wire is not None:
            self.wire = wire
        self.vendor = vendor
        self.base_url = base_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.token_url = self.make_token_url()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vendor={self.vendor!r}, token_url={shown(self.token_url)!r})"

    # --------------------------------------------------------------- what a vendor describes

    def make_token_url(self) -> str:
        """The token endpoint: the base URL plus ``wire.token_path``."""
        return self.base_url + self.wire.token_path

    def key_params(self) -> Mapping[str, str]:
        """Request parameters that change what a token grants (scope, client auth method...).

        They join the credential key: tokens are shared only between identical grants.
        """
        return {}

    def token_request(self) -> TokenRequest:
        """The client-credentials request, as :attr:`wire` describes it."""
        wire = self.wire
        creds = {wire.id_field: self.client_id, wire.secret_field: self.client_secret.reveal()}
        if wire.send == "headers":
            return TokenRequest(self.token_url, headers=creds)
        return TokenRequest(self.token_url, json=creds)

    def refresh_request(self, refresh_token: Secret) -> Optional[TokenRequest]:
        """The refresh-grant request, or None when the vendor has no refresh grant."""
        wire = self.wire
        if wire.refresh_path is None or wire.refresh_request_field is None:
            return None
        body = {wire.refresh_request_field: refresh_token.reveal()}
        return TokenRequest(self.base_url + wire.refresh_path, json=body)

    def parse(self, data: Any, now: float, server_now: Optional[float] = None) -> Token:
        """A :class:`Token` from a decoded 2xx body; raise ``ValueError`` naming the field.

        ``server_now`` is the server's clock from the response's ``Date`` header, given when
        it differs from ours (see :data:`SKEW_TOLERANCE`).
        """
        return parse_token(data, self.wire, now, server_now)

    def credential_key(self) -> str:
        """The store key: vendor, token URL, client id, a digest of the secret, and a digest
        of :meth:`key_params` when there are any. Never contains the secret."""
        digest = hashlib.sha256(self.client_secret.reveal().encode()).hexdigest()[:32]
        key = f"{self.vendor}|{self.token_url}|{self.client_id}|{digest}"
        params = self.key_params()
        if params:
            grant = json.dumps(sorted(params.items())).encode()
            key += "|" + hashlib.sha256(grant).hexdigest()[:16]
        return key

    def basic_credentials(self) -> str:
        """``base64(client_id:client_secret)``, each part percent-encoded (RFC 6749 2.3.1)."""
        pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret.reveal(), safe='')}"
        return base64.b64encode(pair.encode()).decode()

    def sensitive(self) -> List[str]:
        """Strings that must never appear in a message: the secret, and the Basic form of the
        credentials (form-encoded forms are covered by :func:`redact` itself)."""
        raw = f"{self.client_id}:{self.client_secret.reveal()}".encode()
        return [
            self.client_secret.reveal(),
            self.basic_credentials(),
            base64.b64encode(raw).decode(),
        ]

    # --------------------------------------------------------------- how a token is fetched

    def obtain(
        self,
        current: Optional[Token],
        refresh: bool = False,
        *,
        transport: Transport,
        deadline: float,
        clock: Any = time.time,
    ) -> Obtained:
        """A new token replacing ``current``: the refresh grant first when ``refresh`` is
        allowed and ``current`` has a refresh token (a refused refresh falls back), else
        client credentials. ``current``'s tokens are redacted from every message.

        ``deadline`` is a ``time.monotonic()`` value: no attempt, wait or retry goes past it.
        """
        scrub = self.sensitive()
        if current is not None:
            scrub += _revealed(current)
        if refresh and current is not None and current.refresh_token is not None:
            request = self.refresh_request(current.refresh_token)
            if request is not None:
                try:
                    return Obtained(self.fetch(request, transport, deadline, clock, scrub), True)
                except InvalidCredentials as exc:
                    message = f"{self.vendor}: refresh refused ({exc}); fetching a new token"
                    emit(
                        Event(
                            "refresh_refused",
                            self.vendor,
                            message,
                            self.client_id,
                            outcome=type(exc).__name__,
                            status_code=exc.status_code,
                        )
                    )
        return Obtained(self.fetch(self.token_request(), transport, deadline, clock, scrub), False)

    def fetch(
        self,
        request: TokenRequest,
        transport: Transport,
        deadline: float,
        clock: Any,
        scrub: List[str],
    ) -> Token:
        """Send ``request`` and parse the answer into a token."""
        data, server_now = self.send(request, transport, deadline, scrub)
        return self.token_from_response(data, clock(), server_now, url=request.url, scrub=scrub)

    def token_from_response(
        self,
        data: Any,
        now: float,
        server_now: Optional[float] = None,
        *,
        url: Optional[str] = None,
        scrub: Iterable[str] = (),
    ) -> Token:
        """A token from a decoded 2xx body, or :class:`TokenResponseError` — never anything
        else, whatever JSON value ``data`` is."""
        if server_now is not None and abs(server_now - now) <= SKEW_TOLERANCE:
            server_now = None  # the clocks agree: our own clock is the more precise one
        url = shown(url or self.token_url)
        try:
            return self.parse(data, now, server_now)
        except ValueError as exc:
            text = redact(str(exc), [*self.sensitive(), *scrub])
        # raised outside the except block: no __context__ leads back to the response body
        raise TokenResponseError(
            f"{self.vendor}: token endpoint {url} answered 2xx but {text}",
            vendor=self.vendor,
            url=url,
        )

    def send(
        self,
        request: TokenRequest,
        transport: Transport,
        deadline: float,
        scrub: Iterable[str],
    ) -> Tuple[Any, Optional[float]]:
        """POST ``request`` with retries; return (decoded JSON, server clock or None).

        Raises:
            InvalidCredentials: the endpoint answered 400, 401 or 403 (never retried).
            TokenEndpointError: another non-2xx status after retries, or a network error;
                ``retry_at`` is set when the server asked us to come back later.
            TokenTimeout: the deadline passed, or attempts kept timing out.
            TokenResponseError: a 2xx body that is too large or not JSON.
        """
        policy = self.retry
        url = shown(request.url)
        where = f"{self.vendor}: token endpoint {url}"
        scrub = list(scrub)
        own = transport.session is None
        session = requests.Session() if own else transport.session
        assert session is not None
        kwargs: Dict[str, Any] = {}
        if own:
            session.trust_env = transport.trust_env
            adapter = HTTPAdapter()
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            kwargs = {
                "verify": transport.verify,
                "cert": transport.cert,
                "proxies": dict(transport.proxies),
            }
        retries = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TokenTimeout(
                        f"{where}: no token within the deadline", vendor=self.vendor, url=url
                    )
                try:
                    response = session.post(
                        request.url,
                        json=request.json,
                        data=request.data,
                        headers=dict(request.headers),
                        timeout=_bounded(self.timeout, remaining),
                        auth=_NoAuth(),
                        allow_redirects=False,
                        stream=True,
                        **kwargs,
                    )
                except requests.RequestException as exc:
                    # (errors are raised outside except blocks: a requests exception holds
                    # the prepared request, whose body holds the client secret)
                    retries += 1
                    wait = policy.backoff(retries)
                    cause, timed_out = describe_cause(exc), _timed_out(exc)
                    retry = policy.network and retries <= policy.total and _fits(wait, deadline)
                    response = None
                if response is None:
                    if retry:
                        logger.debug("%s unreachable (%s); retrying", where, cause)
                        time.sleep(wait)
                        continue
                    kind = TokenTimeout if timed_out else TokenEndpointError
                    raise kind(f"{where} unreachable: {cause}", vendor=self.vendor, url=url)
                status, body, content_type, headers = _read(response, where, self.vendor, url)
                if 200 <= status < 300:
                    decoded = _json(body)
                    if decoded is not _NOT_JSON:
                        return decoded, _server_clock(headers)
                    kind_ = content_type.split(";")[0].strip() or "no content type"
                    raise TokenResponseError(
                        f"{where} answered {status} with a body that is not JSON "
                        f"({kind_}, {len(body)} bytes)",
                        vendor=self.vendor,
                        url=url,
                        status_code=status,
                    )
                text = redact(describe_error_body(body, content_type), scrub)
                if status in (400, 401, 403):
                    raise InvalidCredentials(
                        f"{where} answered {status}: {text}",
                        vendor=self.vendor,
                        url=url,
                        status_code=status,
                    )
                delay = self._retry_after(headers)
                retries += 1
                retryable = status in policy.status_forcelist and retries <= policy.total
                if retryable and (delay is None or delay <= policy.max_retry_after):
                    wait = policy.backoff(retries) if delay is None else delay
                    if _fits(wait, deadline):
                        logger.debug("%s answered %s; retrying in %.1fs", where, status, wait)
                        time.sleep(wait)
                        continue
                retry_at = None
                message = f"{where} answered {status}: {text}"
                if delay is not None:
                    hold = min(delay, policy.max_hold)
                    retry_at = time.time() + hold
                    message += f" (asked to retry after {delay:.0f}s)"
                raise TokenEndpointError(
                    message, vendor=self.vendor, url=url, status_code=status, retry_at=retry_at
                )
        finally:
            if own:
                session.close()

    def _retry_after(self, headers: Mapping[str, str]) -> Optional[float]:
        value = _retry_after_header(headers.get("Retry-After"))
        for name in self.wire.retry_after_headers:
            if value is not None:
                break
            value = parse_delay(headers.get(name))
        return value


def _read(
    response: requests.Response, where: str, vendor: str, url: str
) -> Tuple[int, bytes, str, Mapping[str, str]]:
    error: Optional[AuthError] = None
    with response:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        try:
            body = read_capped(response)
        except TooLarge:
            error = TokenResponseError(
                f"{where} answered {status} with a body over {MAX_TOKEN_RESPONSE_BYTES} bytes",
                vendor=vendor,
                url=url,
                status_code=status,
            )
        except (requests.RequestException, Truncated) as exc:
            error = TokenEndpointError(
                f"{where} answered {status}; reading the body failed ({describe_cause(exc)})",
                vendor=vendor,
                url=url,
                status_code=status,
            )
    if error is not None:
        raise error  # outside the except blocks: no __context__ back to the request
    return status, body, content_type, response.headers


_NOT_JSON = object()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _NOT_JSON


def _bounded(timeout: Timeout, remaining: float) -> Tuple[float, float]:
    if isinstance(timeout, tuple):
        connect, read = timeout
    else:
        connect = read = timeout
    return (max(0.001, min(connect, remaining)), max(0.001, min(read, remaining)))


def _fits(wait: float, deadline: float) -> bool:
    return time.monotonic() + wait < deadline


def _retry_after_header(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - time.time())


def _server_clock(headers: Mapping[str, str]) -> Optional[float]:
    value = headers.get("Date")
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment.timestamp()


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower()


_CAUSES = (
    ("certificate verify failed", "TLS verification failed"),
    ("certificate_verify_failed", "TLS verification failed"),
    ("connection refused", "connection refused"),
    ("name or service not known", "name not resolved"),
    ("nodename nor servname", "name not resolved"),
    ("temporary failure in name resolution", "name not resolved"),
    ("failed to resolve", "name not resolved"),
    ("unable to connect to proxy", "proxy unreachable"),
    ("tunnel connection failed", "proxy refused the tunnel"),
    ("timed out", "timed out"),
    ("remotedisconnected", "connection closed by the server"),
    ("connection aborted", "connection closed by the server"),
    ("connection reset", "connection reset"),
)


def describe_cause(exc: BaseException) -> str:
    """Why a network call failed, in words (refused, not resolved, TLS, timed out...)."""
    seen: List[BaseException] = []
    todo: List[Any] = [exc]
    while todo and len(seen) < 20:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or item in seen:
            continue
        seen.append(item)
        if isinstance(item, ssl.SSLCertVerificationError):
            return "TLS verification failed"
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return "name not resolved"
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    text = " ".join(f"{type(e).__name__} {e}" for e in seen).lower()
    for needle, words in _CAUSES:
        if needle in text:
            return words
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return type(exc).__name__


def _revealed(token: Token) -> List[str]:
    found = [token.access_token.reveal()]
    if token.refresh_token is not None:
        found.append(token.refresh_token.reveal())
    return found


def error_for(failure_kind: str) -> Type[AuthError]:
    """The error class a remembered failure is raised as."""
    return InvalidCredentials if failure_kind == "refused" else TokenEndpointError
