"""Authorization server metadata (RFC 8414, then OpenID Connect discovery): where it lives,
what it must say, and the process-wide cache of what was found. No I/O here: the token
transport fetches the documents (on the caller's transport, within the call's budget) and
hands them to :func:`accept`.

Thread-safety: the cache and its per-issuer locks are guarded by one lock; a
:class:`Metadata` is an immutable value.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

from ._urls import require_secure
from .errors import ConfigurationError

__all__ = ["Metadata", "accept", "addresses", "cached", "lock_for", "refuse"]

REFUSAL_HOLD = 60.0
"""Seconds an invalid document (a wrong issuer...) is remembered before it is asked again."""


@dataclass(frozen=True)
class Metadata:
    """What this library honours from a server's metadata."""

    issuer: str
    token_endpoint: str
    auth_methods: Tuple[str, ...] = ("client_secret_basic",)  # RFC 8414's default
    signing_algs: Tuple[str, ...] = ()
    mtls_token_endpoint: Optional[str] = None
    dpop_algs: Tuple[str, ...] = ()


def addresses(issuer: str) -> List[str]:
    """RFC 8414's address (``/.well-known/oauth-authorization-server`` inserted between the
    host and the issuer's path), then OIDC discovery's (appended to the issuer)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    rfc8414 = urlunsplit(
        (parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + path, "", "")
    )
    return [rfc8414, issuer.rstrip("/") + "/.well-known/openid-configuration"]


_cache: Dict[str, Metadata] = {}
_refused: Dict[str, Tuple[float, str]] = {}
_locks: Dict[str, threading.Lock] = {}
_guard = threading.Lock()


def lock_for(issuer: str) -> threading.Lock:
    """The lock one fetch of ``issuer``'s metadata holds (single-flight per process)."""
    with _guard:
        return _locks.setdefault(issuer, threading.Lock())


def cached(issuer: str, vendor: str) -> Optional[Metadata]:
    """The metadata found before, or None; a remembered refusal is raised again."""
    with _guard:
        found = _cache.get(issuer)
        refused = _refused.get(issuer)
    if found is None and refused is not None and time.monotonic() < refused[0]:
        raise ConfigurationError(refused[1] + " [remembered: not asked again yet]", vendor=vendor)
    return found


def refuse(issuer: str, message: str, vendor: str) -> ConfigurationError:
    """Remember that ``issuer``'s metadata is unusable; the error to raise."""
    with _guard:
        _refused[issuer] = (time.monotonic() + REFUSAL_HOLD, message)
    return ConfigurationError(message, vendor=vendor)


def accept(issuer: str, document: Any, address: str, vendor: str) -> Metadata:
    """Check ``document`` (fetched from ``address``) and cache what it says.

    Raises:
        ConfigurationError: not a JSON object, an ``issuer`` other than the configured one
            (exactly), no ``token_endpoint``, or one that is not https.
    """
    where = f"{vendor}: metadata at {address}"
    if not isinstance(document, dict):
        raise refuse(issuer, f"{where} is not a JSON object", vendor)
    if document.get("issuer") != issuer:
        raise refuse(
            issuer,
            f"{where} names issuer {document.get('issuer')!r}, not {issuer!r} as configured "
            "(it must match exactly); no token request was sent",
            vendor,
        )
    token_endpoint = document.get("token_endpoint")
    if not isinstance(token_endpoint, str) or not token_endpoint:
        raise refuse(issuer, f"{where} has no token_endpoint", vendor)
    aliases = document.get("mtls_endpoint_aliases")
    mtls = aliases.get("token_endpoint") if isinstance(aliases, dict) else None
    for url in (token_endpoint, mtls):
        if isinstance(url, str):
            try:
                require_secure(url, vendor=vendor, what="token endpoint in the metadata")
            except ConfigurationError as exc:
                raise refuse(issuer, str(exc), vendor) from None
    metadata = Metadata(
        issuer=issuer,
        token_endpoint=token_endpoint,
        auth_methods=_names(document, "token_endpoint_auth_methods_supported")
        or ("client_secret_basic",),
        signing_algs=_names(document, "token_endpoint_auth_signing_alg_values_supported"),
        mtls_token_endpoint=mtls if isinstance(mtls, str) else None,
        dpop_algs=_names(document, "dpop_signing_alg_values_supported"),
    )
    with _guard:
        _cache[issuer] = metadata
        _refused.pop(issuer, None)
    return metadata


def _names(document: Dict[str, Any], field: str) -> Tuple[str, ...]:
    value = document.get(field)
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def forget_all() -> None:
    """Drop every cached document and refusal (tests; a process that moved its issuers)."""
    with _guard:
        _cache.clear()
        _refused.clear()
