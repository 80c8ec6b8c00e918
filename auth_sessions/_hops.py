"""Where a token call goes and why it failed, in words that name the hop: the proxy (its
host:port, never its credentials), the CA bundle used, the client certificate file, a gateway
page's title. Nothing here sends anything."""

from __future__ import annotations

import html
import os
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple, Union
from urllib.parse import urlsplit

import requests
from requests.utils import select_proxy

__all__ = ["FATAL", "Route", "describe_cause", "host_port", "page_title", "unreadable_cert"]


@dataclass(frozen=True)
class Route:
    """How one token request travels, as requests resolves it: the proxy (host:port, or
    None) and the CA bundle (``True`` for requests' default, or a path)."""

    proxy: Optional[str]
    bundle: Union[bool, str]
    source: str = ""  # "REQUESTS_CA_BUNDLE" when the bundle came from the environment

    @classmethod
    def of(cls, session: requests.Session, url: str, proxies: Any, verify: Any) -> Route:
        settings = session.merge_environment_settings(url, dict(proxies or {}), None, verify, None)
        proxy = select_proxy(url, settings["proxies"])
        bundle = settings["verify"]
        source = ""
        if session.trust_env and isinstance(bundle, str):
            for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
                if os.environ.get(name) == bundle:
                    source = name
                    break
        return cls(host_port(proxy) if proxy else None, True if bundle is None else bundle, source)

    def bundle_words(self) -> str:
        if self.bundle is True or self.bundle is None:
            return "requests' default CA bundle (certifi)"
        if self.source:
            return f"{self.bundle}, the environment's {self.source}"
        return str(self.bundle)

    def words(self, cause: str, host: str) -> str:
        """``cause`` (from :func:`describe_cause`) with the hop it concerns."""
        if cause == "TLS verification failed":
            return f"TLS verification failed for {host} (CA bundle: {self.bundle_words()})"
        if cause == "proxy refused the tunnel (407)":
            return f"proxy {self.proxy} refused the tunnel (407: check the proxy credentials)"
        if cause.startswith("proxy") and self.proxy:
            return cause.replace("proxy", f"proxy {self.proxy}", 1)
        return cause


FATAL = frozenset({"TLS verification failed", "proxy refused the tunnel (407)"})
"""Causes no retry can fix: the first attempt's failure is final."""


def host_port(url: str) -> str:
    """``host:port`` of a URL (or of ``host:port`` itself): never its userinfo."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def unreadable_cert(cert: Any) -> Optional[str]:
    """The first client certificate or key file of ``cert`` (a path or a pair of paths)
    that is missing or unreadable, or None."""
    paths = [cert] if isinstance(cert, str) else list(cert) if isinstance(cert, tuple) else []
    for path in paths:
        if isinstance(path, str) and not (os.path.isfile(path) and os.access(path, os.R_OK)):
            return path
    return None


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


def page_title(body: bytes, content_type: str) -> Optional[str]:
    """The ``<title>`` of an HTML page (a gateway's or a proxy's), or None if ``body`` is
    not HTML."""
    kind = content_type.split(";")[0].strip().lower()
    if kind != "text/html" and not body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
        return None
    found = _TITLE.search(body[:65536])
    if not found:
        return "an HTML page without a title"
    text = html.unescape(found.group(1).decode("utf-8", "replace"))
    return " ".join(text.split())[:120] or "an HTML page without a title"


_FIRST: Tuple[Tuple[str, str], ...] = (
    ("certificate verify failed", "TLS verification failed"),
    ("certificate_verify_failed", "TLS verification failed"),
    ("tunnel connection failed: 407", "proxy refused the tunnel (407)"),
    ("tunnel connection failed", "proxy refused the tunnel"),
)
_THEN: Tuple[Tuple[str, str], ...] = (
    ("connection refused", "connection refused"),
    ("name or service not known", "name not resolved"),
    ("nodename nor servname", "name not resolved"),
    ("temporary failure in name resolution", "name not resolved"),
    ("failed to resolve", "name not resolved"),
    ("timed out", "timed out"),
    ("remotedisconnected", "connection closed by the server"),
    ("connection aborted", "connection closed by the server"),
    ("connection reset", "connection reset"),
)


def _proxy_error(exc: BaseException) -> bool:
    import urllib3.exceptions

    return isinstance(exc, (requests.exceptions.ProxyError, urllib3.exceptions.ProxyError))


def describe_cause(exc: BaseException) -> str:
    """Why a network call failed, in words (refused, not resolved, TLS, proxy...)."""
    seen: List[BaseException] = []
    todo: List[Any] = [exc]
    while todo and len(seen) < 20:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or item in seen:
            continue
        seen.append(item)
        if isinstance(item, ssl.SSLCertVerificationError):
            return "TLS verification failed"
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    text = " ".join(f"{type(e).__name__} {e}" for e in seen).lower()
    for needle, words in _FIRST:
        if needle in text:
            return words
    if any(_proxy_error(e) for e in seen):  # whatever urllib3's wording: the proxy failed
        return "proxy unreachable"
    for needle, words in _THEN:
        if needle in text:
            return words
    for item in seen:
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return "name not resolved"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return type(exc).__name__
