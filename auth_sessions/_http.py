"""HTTP pieces shared by token calls and API calls: the retry policy, delay headers, the
size-capped body reader, vendors' error bodies and redaction. No state."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass
from typing import Any, FrozenSet, Iterable, Optional, Tuple
from urllib.parse import quote, quote_plus

import requests
from urllib3.util.retry import Retry

__all__ = [
    "API_RETRIES",
    "IDEMPOTENT_METHODS",
    "MAX_TOKEN_RESPONSE_BYTES",
    "RetryPolicy",
    "TooLarge",
    "TooSlow",
    "Truncated",
    "describe_error_body",
    "parse_delay",
    "read_capped",
    "redact",
]

MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024
"""A token response larger than this (1 MiB) is refused while it streams in."""


class _CappedRetry(Retry):
    """urllib3's Retry with ``Retry-After`` capped, on urllib3 1.26 and 2.x alike.

    ``extra_headers`` names vendor headers read when ``Retry-After`` is absent (each
    vendor's description says which: see :attr:`WireFormat.retry_after_headers`).
    """

    retry_after_cap: float = 3.5
    extra_headers: Tuple[str, ...] = ()

    def new(self, **kw: Any) -> _CappedRetry:
        retry: _CappedRetry = super().new(**kw)
        retry.retry_after_cap = self.retry_after_cap
        retry.extra_headers = self.extra_headers
        return retry

    def get_retry_after(self, response: Any) -> Optional[float]:
        value = super().get_retry_after(response)
        for name in self.extra_headers:
            if value is not None:
                break
            value = parse_delay(response.headers.get(name))
        if value is None:
            return None
        return float(min(max(value, 0.0), self.retry_after_cap))


def parse_delay(header: Optional[str]) -> Optional[float]:
    """A delay header in seconds: a number, or a number with an ``ms`` or ``s`` suffix."""
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
    """How the token endpoint is retried.

    Thread-safety: immutable; one instance serves every thread.

    The default makes at most 4 retries; waits back off 0, 1, 2, 4 s, or follow the
    server's ``Retry-After``, so about 15 s of waiting in all. For the token endpoint, a
    ``Retry-After`` above ``max_retry_after`` is not slept through: the fetch fails at once
    and the credentials are held back until then (at most ``max_hold`` seconds).

    The same type configures API-call retries on a :class:`~auth_sessions.VendorSession`
    (``for_vendor(..., retries=...)``); see :data:`API_RETRIES`.

    Args:
        total: retries after the first attempt (0 disables retrying).
        backoff_factor: urllib3's backoff factor.
        max_retry_after: the longest ``Retry-After`` (or a vendor's own delay header) slept
            through, in seconds.
        max_hold: the longest a token endpoint's ``Retry-After`` holds the credentials back.
        status_forcelist: the statuses that are retried.
        methods: the HTTP methods that may be retried.
        network: also retry connection errors and read timeouts.
    """

    total: int = 4
    backoff_factor: float = 0.5
    max_retry_after: float = 3.5
    max_hold: float = 300.0
    status_forcelist: Tuple[int, ...] = (429, 500, 502, 503, 504)
    methods: FrozenSet[str] = frozenset({"POST"})
    network: bool = True

    def token_retry(self) -> Retry:
        """The urllib3 ``Retry`` value a token call counts its attempts with: ``total``
        retries, POST allowed, backoff as urllib3 computes it. The token transport reads
        ``Retry-After`` and applies the deadline and caps itself."""
        return Retry(
            total=self.total,
            connect=None,
            read=None,
            status=None,
            other=None,
            redirect=0,
            backoff_factor=self.backoff_factor,
            status_forcelist=self.status_forcelist,
            allowed_methods=frozenset({"POST"}),
            raise_on_status=False,
            respect_retry_after_header=False,
        )

    def build(self, extra_headers: Tuple[str, ...] = ()) -> Retry:
        """The urllib3 ``Retry`` this policy describes (API calls of a VendorSession)."""
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
        retry.extra_headers = tuple(extra_headers)
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
    """Replace each (non-trivial) secret in ``text`` with ``***``: as is, and in the
    percent-encoded forms a form body or a URL would carry."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, "***")
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


class TooSlow(Exception):
    """The body did not arrive within the time allowed."""


def _socket_of(response: requests.Response) -> Any:
    """The socket a streamed response is read from (None if it cannot be found): the
    standard library's ``http.client`` response inside urllib3's, in urllib3 1.26 and 2."""
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    return getattr(getattr(fp, "raw", None), "_sock", None)


def _shut(sock: Any, cut: threading.Event) -> None:
    cut.set()
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # a blocked read returns at once


class TooLarge(Exception):
    """A body over :data:`MAX_TOKEN_RESPONSE_BYTES`."""


class Truncated(Exception):
    """The connection closed before Content-Length bytes arrived (urllib3 1.26 does not check)."""


def read_capped(response: requests.Response, within: Optional[float] = None) -> bytes:
    """The body of a streamed response, refusing more than :data:`MAX_TOKEN_RESPONSE_BYTES`
    and, with ``within``, taking no longer than that many seconds (a server trickling its
    body a byte at a time passes every socket timeout: its connection is shut down).

    Raises:
        TooLarge: the body is over the cap.
        Truncated: fewer bytes arrived than Content-Length announced.
        TooSlow: the body did not arrive within ``within`` seconds.
    """
    cut = threading.Event()
    watchdog = None
    sock = _socket_of(response) if within is not None else None
    if sock is not None and within is not None:
        watchdog = threading.Timer(max(0.0, within), _shut, (sock, cut))
        watchdog.daemon = True
        watchdog.start()
    chunks = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=16384):
            size += len(chunk)
            if size > MAX_TOKEN_RESPONSE_BYTES:
                raise TooLarge
            chunks.append(chunk)
    except Exception:
        if cut.is_set():
            raise TooSlow from None
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
    if cut.is_set():
        raise TooSlow
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and size < int(declared) and "Content-Encoding" not in response.headers:
        raise Truncated
    return b"".join(chunks)
