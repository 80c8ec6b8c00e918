"""Calling a token endpoint: retries, timeouts, the size cap and error mapping.

Each fetch uses its own short-lived ``requests.Session`` whose adapter carries an urllib3
``Retry``: 429/5xx answers, connection errors and timeouts are retried with backoff and
``Retry-After`` (capped); 400/401/403 never are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, FrozenSet, Iterable, Mapping, Optional, Tuple, Union

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import InvalidCredentials, TokenEndpointError, TokenResponseError

__all__ = [
    "API_RETRIES",
    "IDEMPOTENT_METHODS",
    "MAX_TOKEN_RESPONSE_BYTES",
    "RetryPolicy",
    "TokenRequest",
    "call_token_endpoint",
]

MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024
"""A token response larger than this (1 MiB) is refused while it streams in."""

Timeout = Union[float, Tuple[float, float]]


class _CappedRetry(Retry):
    """urllib3's Retry with ``Retry-After`` capped, on urllib3 1.26 and 2.x alike."""

    retry_after_cap: float = 3.5

    def new(self, **kw: Any) -> _CappedRetry:
        retry: _CappedRetry = super().new(**kw)
        retry.retry_after_cap = self.retry_after_cap
        return retry

    def get_retry_after(self, response: Any) -> Optional[float]:
        value = super().get_retry_after(response)
        if value is None:
            value = _retry_in(response.headers.get("X-Retry-In"))
        if value is None:
            return None
        return float(min(max(value, 0.0), self.retry_after_cap))


def _retry_in(header: Optional[str]) -> Optional[float]:
    """Orum's ``X-Retry-In``: seconds, or a number with an ``ms``/``s`` suffix."""
    if not header:
        return None
    text = header.strip().lower()
    scale = 1.0
    if text.endswith("ms"):
        text, scale = text[:-2], 0.001
    elif text.endswith("s"):
        text = text[:-1]
    try:
        value = float(text) * scale
    except ValueError:
        return None
    return value if value == value and value >= 0 else None  # not NaN, not negative


@dataclass(frozen=True)
class RetryPolicy:
    """How the token endpoint is retried. Immutable: one instance serves every thread.

    The default makes at most 4 retries; waits back off 0, 1, 2, 4 s, or follow the
    server's ``Retry-After`` capped at 3.5 s, so about 15 s of waiting in all.

    The same type configures API-call retries on a :class:`~auth_sessions.VendorSession`
    (``for_vendor(..., retries=...)``); see :data:`API_RETRIES`.

    Args:
        total: retries after the first attempt (0 disables retrying).
        backoff_factor: urllib3's backoff factor.
        max_retry_after: the longest ``Retry-After`` (or Orum's ``X-Retry-In``) honoured, in s.
        status_forcelist: the statuses that are retried.
        methods: the HTTP methods that may be retried.
        network: also retry connection errors and read timeouts.
    """

    total: int = 4
    backoff_factor: float = 0.5
    max_retry_after: float = 3.5
    status_forcelist: Tuple[int, ...] = (429, 500, 502, 503, 504)
    methods: FrozenSet[str] = frozenset({"POST"})
    network: bool = True

    def build(self) -> Retry:
        """The urllib3 ``Retry`` this policy describes."""
        retry = _CappedRetry(
            total=self.total,
            connect=self.total if self.network else 0,
            read=self.total if self.network else 0,
            status=self.total,
            other=0,
            redirect=0,
            backoff_factor=self.backoff_factor,
            status_forcelist=self.status_forcelist,
            allowed_methods=frozenset(m.upper() for m in self.methods),
            raise_on_status=False,
            raise_on_redirect=False,
            respect_retry_after_header=True,
        )
        retry.retry_after_cap = self.max_retry_after
        return retry


IDEMPOTENT_METHODS: FrozenSet[str] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

API_RETRIES = RetryPolicy(
    total=3,
    backoff_factor=0.5,
    max_retry_after=5.0,
    status_forcelist=(429, 503),
    methods=IDEMPOTENT_METHODS,
    network=False,
)
"""Default API-call retries of a VendorSession: 429 and 503 answers to idempotent methods, at
most 3 retries, each wait the server's ``Retry-After`` capped at 5 s (else 0, 1, 2 s).
POST and PATCH are never retried unless a policy names them."""


@dataclass(frozen=True)
class TokenRequest:
    """One token-endpoint call: a POST with a JSON body, a form body or headers.

    Its repr shows only the URL: the body and headers carry the client secret.
    """

    url: str
    json: Optional[Mapping[str, Any]] = field(default=None, repr=False)
    data: Optional[Union[str, Mapping[str, str]]] = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


class _NoAuth(requests.auth.AuthBase):
    """An explicit no-op auth: stops requests adding ~/.netrc credentials to token calls."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


_ERROR_KEYS = (
    "error_code",
    "code",
    "error",
    "title",
    "status",
    "message",
    "error_description",
    "detail",
)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each (non-trivial) secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def describe_error_body(body: bytes, content_type: str) -> str:
    """The vendor's own words from an error body, whatever its shape.

    Understands ``{error}``, ``{message}``, ``{code, message}``, ``{error_code, message}``,
    ``{error, error_description}`` and ``{title, status, detail}``; anything else is
    summarised rather than trusted.
    """
    if not body:
        return "empty body"
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        kind = content_type.split(";")[0].strip() or "unknown type"
        if kind in ("text/plain", "unknown type") and len(body) <= 200:
            return body.decode("utf-8", "replace").strip() or "empty body"
        return f"non-JSON body ({kind}, {len(body)} bytes)"
    if not isinstance(data, dict):
        return f"unexpected JSON {type(data).__name__}"
    parts = []
    for key in _ERROR_KEYS:
        value = data.get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
            parts.append(str(value))
    return ": ".join(parts)[:300] if parts else "no error text"


def call_token_endpoint(
    request: TokenRequest,
    *,
    vendor: str,
    timeout: Timeout,
    retry: RetryPolicy,
    scrub: Iterable[str],
) -> Any:
    """POST ``request`` and return the decoded JSON of a 2xx answer.

    Raises:
        InvalidCredentials: the endpoint answered 400, 401 or 403.
        TokenEndpointError: another non-2xx status after retries, or a network error/timeout.
        TokenResponseError: a 2xx body that is too large or not JSON.
    """
    url = request.url
    scrub = tuple(scrub)
    where = f"{vendor}: token endpoint {url}"
    with requests.Session() as session:
        adapter = HTTPAdapter(max_retries=retry.build())
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        try:
            response = session.post(
                url,
                json=request.json,
                data=request.data,
                headers=dict(request.headers),
                timeout=timeout,
                auth=_NoAuth(),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            raise TokenEndpointError(
                f"{where} unreachable after retries ({type(exc).__name__})", vendor=vendor, url=url
            ) from exc
        with response:
            status = response.status_code
            content_type = response.headers.get("Content-Type", "")
            try:
                body = _read_capped(response)
            except _TooLarge:
                raise TokenResponseError(
                    f"{where} answered {status} with a body over {MAX_TOKEN_RESPONSE_BYTES} bytes",
                    vendor=vendor,
                    url=url,
                    status_code=status,
                ) from None
            except (requests.RequestException, _Truncated) as exc:
                raise TokenEndpointError(
                    f"{where} answered {status}; reading the body failed ({type(exc).__name__})",
                    vendor=vendor,
                    url=url,
                    status_code=status,
                ) from exc
    if not 200 <= status < 300:
        text = redact(describe_error_body(body, content_type), scrub)
        message = f"{where} answered {status}: {text}"
        if status in (400, 401, 403):
            raise InvalidCredentials(message, vendor=vendor, url=url, status_code=status)
        raise TokenEndpointError(message, vendor=vendor, url=url, status_code=status)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        kind = content_type.split(";")[0].strip() or "no content type"
        raise TokenResponseError(
            f"{where} answered {status} with a body that is not JSON ({kind}, {len(body)} bytes)",
            vendor=vendor,
            url=url,
            status_code=status,
        ) from exc


class _TooLarge(Exception):
    pass


class _Truncated(Exception):
    """The connection closed before Content-Length bytes arrived (urllib3 1.26 does not check)."""


def _read_capped(response: requests.Response) -> bytes:
    chunks = []
    size = 0
    for chunk in response.iter_content(chunk_size=16384):
        size += len(chunk)
        if size > MAX_TOKEN_RESPONSE_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and size < int(declared) and "Content-Encoding" not in response.headers:
        raise _Truncated
    return b"".join(chunks)
