"""How a token request travels: the caller's transport, urllib3's ``Retry`` driven under our
own deadline and cap, a size-capped read, typed errors with causes in words.

Nothing here keeps state or reads a wall clock: a server's ``Retry-After`` leaves as a delay
(``AuthError.retry_after``), which the token manager turns into an instant on its own clock.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from ._discovery import accept, addresses, cached, lock_for, refuse
from ._dpop import NONCES, Prover, nonce_challenge, prover_of
from ._hops import FATAL, Route, describe_cause, host_port, page_title, unreadable_cert
from ._http import (
    MAX_TOKEN_RESPONSE_BYTES,
    RetryPolicy,
    TooLarge,
    TooSlow,
    Truncated,
    describe_error_body,
    parse_delay,
    read_capped,
    redact,
)
from ._time import Deadline
from ._urls import shown
from .endpoint import TokenEndpoint, TokenRequest
from .errors import (
    AuthError,
    ConfigurationError,
    InvalidCredentials,
    TokenEndpointError,
    TokenResponseError,
    TokenTimeout,
)
from .events import Event, emit
from .tokens import Token

__all__ = ["DEFAULT_TOKEN_TIMEOUT", "Fetcher", "Obtained", "Transport", "obtain"]

logger = logging.getLogger("auth_sessions.endpoint")

Timeout = Union[float, Tuple[float, float]]

DEFAULT_TOKEN_TIMEOUT: Tuple[float, float] = (5.0, 15.0)
"""(connect, read) seconds for each token-endpoint attempt (never past the deadline)."""


@dataclass(frozen=True)
class Transport:
    """How a token call travels: TLS verification, client certificate, proxies, environment.

    Taken from the API call it is made for (its resolved ``verify``, ``cert`` and
    ``proxies``), or from a session (:meth:`of`), or requests' defaults for a standalone auth
    (verify, the environment's ``REQUESTS_CA_BUNDLE`` / ``HTTPS_PROXY`` / ``NO_PROXY``).
    ``session``, when set, is a user's own ``requests.Session`` used as it is (custom
    adapters, SOCKS, pinning). Thread-safety: an immutable value.
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

    def route(self) -> str:
        """A digest of where this transport sends a token call (failure memory is kept per
        route: a cooldown learned through one proxy or CA does not hold back another)."""
        if self.session is not None:
            return "token_session"  # the user's own session: one route, whatever it holds
        proxies = sorted((str(k), str(v)) for k, v in self.proxies.items())
        seen = repr((self.verify, self.cert, proxies, self.trust_env)).encode()
        return hashlib.sha256(seen).hexdigest()[:16]

    @classmethod
    def of_call(cls, kwargs: Mapping[str, Any], fallback: Transport) -> Transport:
        """The transport of a call sent with ``kwargs`` (requests' resolved send settings,
        as ``Session.send`` and a response hook receive them), else ``fallback``. The
        environment is trusted as ``fallback`` says."""
        if "verify" not in kwargs:
            return fallback
        verify = kwargs.get("verify")
        return cls(
            verify=True if verify is None else verify,
            cert=kwargs.get("cert"),
            proxies=dict(kwargs.get("proxies") or {}),
            trust_env=fallback.trust_env,
        )


class Obtained(NamedTuple):
    """A new token, and whether a refresh grant (rather than client credentials) gave it."""

    token: Token
    refreshed: bool


@dataclass(frozen=True)
class Call:
    """One token fetch's terms: where it travels, each attempt's timeout, the retry policy,
    the deadline and the wall clock that stamps the token."""

    transport: Transport
    timeout: Timeout
    policy: RetryPolicy
    deadline: Deadline
    clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class Fetcher:
    """A token fetch for one endpoint on one transport: what a flight runs.

    Thread-safety: an immutable value.
    """

    endpoint: TokenEndpoint
    transport: Transport
    timeout: Timeout
    policy: RetryPolicy
    clock: Callable[[], float] = time.time

    @cached_property
    def route(self) -> str:
        """The transport's route (failure memory is kept per route)."""
        return self.transport.route()

    @property
    def single_use(self) -> bool:
        """Whether the vendor's refresh tokens work once (the store must spend them)."""
        return self.endpoint.wire.single_use_refresh

    def __call__(self, current: Optional[Token], refresh: bool, deadline: Deadline) -> Obtained:
        endpoint = self.endpoint
        if endpoint.needs_client_cert and not self.transport.cert:
            raise ConfigurationError(
                f"{endpoint.vendor}: this client authenticates with a TLS client certificate, "
                "and the token call has none: set session.cert = (cert_file, key_file), or "
                "pass cert= to the call",
                vendor=endpoint.vendor,
                url=shown(endpoint.token_url),
            )
        call = Call(self.transport, self.timeout, self.policy, deadline, self.clock)
        if endpoint.issuer is not None:
            discover(endpoint, call)
        return obtain(self.endpoint, current, refresh, call)


class _NoAuth(requests.auth.AuthBase):
    """An explicit no-op auth: stops requests adding ~/.netrc credentials to token calls."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


def obtain(
    endpoint: TokenEndpoint, current: Optional[Token], refresh: bool, call: Call
) -> Obtained:
    """A new token replacing ``current``: the refresh grant first when ``refresh`` is allowed
    and ``current`` has a refresh token, else client credentials. ``current``'s tokens are
    redacted from every message.

    A refresh token may be single-use: it is presented once. A refused refresh, or one whose
    outcome is unknown (a timeout or a dropped connection: the server may have spent the
    token), is never sent again; client credentials follow.
    """
    scrub = endpoint.sensitive() + (_revealed(current) if current is not None else [])
    if refresh and current is not None and current.refresh_token is not None:
        request = endpoint.refresh_request(current.refresh_token)
        if request is not None:
            once = replace(call, policy=replace(call.policy, network=False))
            try:
                return Obtained(_fetch(endpoint, request, once, scrub), True)
            except (InvalidCredentials, TokenEndpointError) as exc:
                if isinstance(exc, TokenEndpointError) and exc.status_code is not None:
                    raise  # the server answered (5xx, 429...): the token was not taken
                what = "refused" if isinstance(exc, InvalidCredentials) else "outcome unknown"
                message = f"{endpoint.vendor}: refresh {what} ({exc}); fetching a new token"
                emit(
                    Event(
                        "refresh_refused",
                        endpoint.vendor,
                        message,
                        endpoint.client_id,
                        outcome=type(exc).__name__,
                        status_code=exc.status_code,
                    )
                )
    if endpoint.dpop:
        return Obtained(_fetch_proven(endpoint, current, call, scrub), False)
    return Obtained(_fetch(endpoint, endpoint.token_request(), call, scrub), False)


class _NonceRequired(Exception):
    """A DPoP server asked for a nonce (it is kept in :data:`NONCES`); ``error`` is what to
    raise if a retry with it does not help."""

    def __init__(self, error: AuthError) -> None:
        super().__init__()
        self.error = error


def _fetch_proven(
    endpoint: TokenEndpoint, current: Optional[Token], call: Call, scrub: List[str]
) -> Token:
    """A DPoP-bound token: each request proven by the credential key's key pair (the current
    token's, else a new one); a ``use_dpop_nonce`` answer is tried once more with the nonce
    and a fresh request (a new client assertion): never a refusal, never a cooldown."""
    prover = (prover_of(current) if current is not None else None) or Prover.generate(
        endpoint.dpop_algs()
    )

    def proven() -> Token:  # a fresh request (assertion), proven with the newest nonce
        request = endpoint.token_request()
        proof = prover.proof("POST", request.url, NONCES.get(request.url))
        proven_request = replace(request, headers={**request.headers, "DPoP": proof})
        return _fetch(endpoint, proven_request, call, scrub)

    try:
        token = proven()
    except _NonceRequired:  # the nonce it asked for is kept now: once more
        try:
            token = proven()
        except _NonceRequired as again:
            raise again.error from None
    if token.token_type.lower() != "dpop":
        return token  # the server did not bind it: a bearer token after all
    return replace(token, proof_key=prover.secret())


def discover(endpoint: TokenEndpoint, call: Call) -> None:
    """Fetch ``endpoint.issuer``'s metadata once per process (RFC 8414's address, then OIDC
    discovery's), on ``call``'s transport and within its deadline; other callers wait for
    the one fetch. A 4xx at one address tries the next; other failures are typed as token
    failures are (a 503's ``Retry-After`` holds the key back)."""
    issuer, vendor = endpoint.issuer, endpoint.vendor
    assert issuer is not None
    if cached(issuer, vendor) is not None:
        return
    lock = lock_for(issuer)
    if not lock.acquire(timeout=max(0.0, call.deadline.remaining())):
        raise TokenTimeout(
            f"{vendor}: waited for another fetch of {issuer}'s metadata", vendor=vendor
        )
    try:
        if cached(issuer, vendor) is not None:
            return
        tried = addresses(issuer)
        for address in tried:
            request = TokenRequest(address, headers={"Accept": "application/json"}, method="GET")
            try:
                document, _ = _Sender(endpoint, request, call, []).send()
            except (InvalidCredentials, TokenEndpointError) as exc:
                if exc.status_code is not None and 400 <= exc.status_code < 500:
                    continue  # not published here: the next address
                raise
            accept(issuer, document, address, vendor)
            return
        raise refuse(issuer, f"{vendor}: no metadata for {issuer} at {' nor '.join(tried)}", vendor)
    finally:
        lock.release()


MAX_SERVER_SKEW = 86400.0
"""A token answer whose ``Date`` is further than this from our clock (a server clock in 1970
or 2100) is named in an event when the expiry is relative (the ``Date`` plays no part then).
An absolute expiry is still read against it: the server states both on its own clock."""


def _fetch(endpoint: TokenEndpoint, request: TokenRequest, call: Call, scrub: List[str]) -> Token:
    sender = _Sender(endpoint, request, call, scrub)
    data, server_now = sender.send()
    if (
        server_now is not None
        and abs(server_now - sender.sent_at) > MAX_SERVER_SKEW
        and endpoint.wire.expiry_format == "seconds"
    ):
        off = (server_now - sender.sent_at) / 86400
        message = (
            f"{endpoint.vendor}: token endpoint {shown(request.url)} sent a Date {off:+.0f} "
            "days from our clock; ignored: the token's lifetime counts on our clock"
        )
        emit(Event("server_date_ignored", endpoint.vendor, message, endpoint.client_id))
        server_now = None
    return endpoint.token_from_response(  # a lifetime counts from when it was asked for
        data, sender.sent_at, server_now, url=request.url, scrub=scrub
    )


class _Answered:
    """What urllib3's ``Retry.increment`` reads of a response: its status, no redirect."""

    def __init__(self, status: int) -> None:
        self.status = status

    def get_redirect_location(self) -> bool:
        return False


_NETWORK = OSError("token call failed")  # what Retry's history records of a network error


class _Sender:
    """POST one token request under a deadline, retrying as urllib3's ``Retry`` allows."""

    def __init__(
        self, endpoint: TokenEndpoint, request: TokenRequest, call: Call, scrub: List[str]
    ) -> None:
        self.vendor = endpoint.vendor
        self.retry_headers = endpoint.wire.retry_after_headers
        self.request, self.call, self.scrub = request, call, scrub
        self.url = shown(request.url)
        what = "metadata" if request.method == "GET" else "token endpoint"
        self.where = f"{self.vendor}: {what} {self.url}"
        self.retry: Optional[Retry] = call.policy.token_retry()
        self.route = Route(None, True)  # worked out when sending (the session resolves it)
        self.sent_at = call.clock()  # when the last attempt went out

    def send(self) -> Tuple[Any, Optional[float]]:
        """(decoded JSON, server clock or None) of the first 2xx answer.

        Raises:
            InvalidCredentials: the endpoint answered 400, 401 or 403 (never retried).
            TokenEndpointError: another non-2xx status after retries, or a network error;
                ``retry_after`` is set when the server asked us to come back later.
            TokenTimeout: the deadline passed, or attempts kept timing out.
            TokenResponseError: a 2xx body that is too large or not JSON.
        """
        transport = self.call.transport
        own = transport.session is None
        session = _session(transport)
        try:
            self._check_cert(transport.cert if own else session.cert)
            verify = transport.verify if own else None
            self.route = Route.of(session, self.request.url, transport.proxies, verify)
            while True:
                answer = self._attempt(session, own)
                if answer is not None:
                    return answer
        finally:
            if own:
                session.close()

    def _attempt(self, session: requests.Session, own: bool) -> Optional[Tuple[Any, Any]]:
        remaining = self.call.deadline.remaining()
        if remaining <= 0:
            raise TokenTimeout(
                f"{self.where}: no token within the deadline", vendor=self.vendor, url=self.url
            )
        transport = self.call.transport
        kwargs: Dict[str, Any] = {}
        if own:
            kwargs = {"verify": transport.verify, "cert": transport.cert}
            kwargs["proxies"] = dict(transport.proxies)
        self.sent_at = self.call.clock()
        try:
            response = session.request(
                self.request.method,
                self.request.url,
                json=self.request.json,
                data=self.request.data,
                headers=dict(self.request.headers),
                timeout=_bounded(self.call.timeout, remaining),
                auth=_NoAuth(),
                allow_redirects=False,
                stream=True,
                **kwargs,
            )
        except requests.RequestException as exc:
            # (errors are raised outside except blocks: a requests exception holds the
            # prepared request, whose body holds the client secret)
            cause, timed_out = describe_cause(exc), _timed_out(exc)
            response = None
        if response is None:
            self._network_failed(cause, timed_out)
            return None
        return self._answered(response)

    def _check_cert(self, cert: Any) -> None:
        missing = unreadable_cert(cert)
        if missing is not None:  # requests would raise a bare OSError from its adapter
            raise ConfigurationError(
                f"{self.vendor}: client certificate file {missing} is missing or unreadable "
                "(session.cert / cert=); no token request was sent",
                vendor=self.vendor,
                url=self.url,
            )

    def _network_failed(self, cause: str, timed_out: bool) -> None:
        retry = self.call.policy.network and cause not in FATAL  # a retry cannot fix those
        wait = self._next(None) if retry else None
        if wait is not None and self.call.deadline.fits(wait):
            logger.debug("%s unreachable (%s); retrying", self.where, cause)
            time.sleep(wait)
            return
        kind = TokenTimeout if timed_out else TokenEndpointError
        words = self.route.words(cause, host_port(self.request.url))
        raise kind(f"{self.where} unreachable: {words}", vendor=self.vendor, url=self.url)

    def _answered(self, response: requests.Response) -> Optional[Tuple[Any, Any]]:
        within = self.call.deadline.remaining()
        status, body, content_type, headers = _read(
            response, self.where, self.vendor, self.url, within
        )
        if "DPoP" in self.request.headers:
            NONCES.saw(self.request.url, headers)  # the newest nonce of this origin
        if 200 <= status < 300:
            return self._decoded(status, body, content_type), _server_clock(headers)
        title = page_title(body, content_type)
        text = describe_error_body(body, content_type) if title is None else f"page {title!r}"
        text = redact(text, self.scrub)
        message = f"{self.where} answered {status}: {text}"
        if status == 407:
            raise TokenEndpointError(
                f"{self.where}: proxy {self.route.proxy} answered 407 (check the proxy "
                "credentials)",
                vendor=self.vendor,
                url=self.url,
                status_code=status,
            )
        if status in (400, 401, 403) and title is not None:  # only the vendor refuses
            raise TokenEndpointError(
                f"{self.where} answered {status} with a page that is not the vendor's: "
                f"{redact(title, self.scrub)!r} (a gateway or proxy in the way?)",
                vendor=self.vendor,
                url=self.url,
                status_code=status,
            )
        proven = "DPoP" in self.request.headers
        if proven and nonce_challenge(status, headers, _json_or_none(body)):
            again = f"{self.where} asked for a DPoP nonce again"
            error = TokenEndpointError(again, vendor=self.vendor, url=self.url, status_code=status)
            raise _NonceRequired(error)
        if status in (400, 401, 403):
            raise InvalidCredentials(message, vendor=self.vendor, url=self.url, status_code=status)
        policy = self.call.policy
        delay = self._delay(headers)
        retryable = self.retry is not None and self.retry.is_retry(self.request.method, status)
        if retryable and (delay is None or delay <= policy.max_retry_after):
            wait = self._next(status)
            if wait is not None and delay is not None:
                wait = delay
            if wait is not None and self.call.deadline.fits(wait):
                logger.debug("%s answered %s; retrying in %.1fs", self.where, status, wait)
                time.sleep(wait)
                return None
        hold = None if delay is None else min(delay, policy.max_hold)
        if delay is not None:
            message += f" (asked to retry after {delay:.0f}s)"
        raise TokenEndpointError(
            message, vendor=self.vendor, url=self.url, status_code=status, retry_after=hold
        )

    def _decoded(self, status: int, body: bytes, content_type: str) -> Any:
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            kind = content_type.split(";")[0].strip() or "no content type"
        raise TokenResponseError(
            f"{self.where} answered {status} with a body that is not JSON "
            f"({kind}, {len(body)} bytes)",
            vendor=self.vendor,
            url=self.url,
            status_code=status,
        )

    def _next(self, status: Optional[int]) -> Optional[float]:
        """Count one failed attempt; the backoff before the next, or None when spent."""
        if self.retry is None:
            return None
        try:
            if status is None:
                self.retry = self.retry.increment(method="POST", url=self.url, error=_NETWORK)
            else:
                answered: Any = _Answered(status)
                self.retry = self.retry.increment(method="POST", url=self.url, response=answered)
        except MaxRetryError:
            self.retry = None
            return None
        return float(self.retry.get_backoff_time())

    def _delay(self, headers: Mapping[str, str]) -> Optional[float]:
        """The server's wait in seconds: ``Retry-After`` (urllib3 parses it; a date is read
        against the answer's own ``Date``, so a server whose clock is off still means what
        it says), else the vendor's own delay headers."""
        value = headers.get("Retry-After")
        if value:
            value = value.strip()
            if not value.isdigit():
                when, server_now = _http_date(value), _server_clock(headers)
                if when is not None and server_now is not None:
                    return max(0.0, when - server_now)
            try:
                return float(Retry(0).parse_retry_after(value))
            except Exception:  # urllib3's InvalidHeader: a malformed value is no delay
                return None
        for name in self.retry_headers:
            delay = parse_delay(headers.get(name))
            if delay is not None:
                return delay
        return None


def _session(transport: Transport) -> requests.Session:
    if transport.session is not None:
        return transport.session
    session = requests.Session()
    session.trust_env = transport.trust_env
    adapter = HTTPAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _read(
    response: requests.Response, where: str, vendor: str, url: str, within: float
) -> Tuple[int, bytes, str, Mapping[str, str]]:
    error: Optional[AuthError] = None
    with response:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        try:
            body = read_capped(response, within)
        except TooSlow:
            error = TokenTimeout(
                f"{where} answered {status} but its body did not arrive within the token "
                "deadline (a server sending it a byte at a time?)",
                vendor=vendor,
                url=url,
            )
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


def _bounded(timeout: Timeout, remaining: float) -> Tuple[float, float]:
    if isinstance(timeout, tuple):
        connect, read = timeout
    else:
        connect = read = timeout
    return (max(0.001, min(connect, remaining)), max(0.001, min(read, remaining)))


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _http_date(value: str) -> Optional[float]:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return None if parsed is None or parsed.tzinfo is None else parsed.timestamp()


def _server_clock(headers: Mapping[str, str]) -> Optional[float]:
    return _http_date(headers.get("Date") or "")


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower()


def _revealed(token: Token) -> List[str]:
    found = [token.access_token.reveal()]
    if token.refresh_token is not None:
        found.append(token.refresh_token.reveal())
    return found
