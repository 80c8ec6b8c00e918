"""URL helpers: origins, the https rule, joining relative URLs to a base."""

from __future__ import annotations

import ipaddress
import re
from typing import Tuple
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigurationError

__all__ = [
    "is_absolute",
    "is_loopback",
    "join_url",
    "origin",
    "origin_prefix",
    "require_secure",
    "shown",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> Tuple[str, str, int]:
    """The (scheme, host, port) of ``url``, lower-cased, with the default port filled in; an
    internationalised host in its ASCII form, as requests sends it (``xn--...``)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if not host.isascii():
        host = _ascii_host(host)
    return scheme, host, port or _DEFAULT_PORTS.get(scheme, 0)


def _ascii_host(host: str) -> str:
    """``host`` as IDNA ASCII, as requests encodes it (UTS 46), else the stdlib's codec."""
    try:
        import idna

        return str(idna.encode(host, uts46=True).decode("ascii"))
    except Exception:  # idna missing or refusing the name: the older codec, else as given
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            return host


def origin_prefix(url: str) -> str:
    """``scheme://host[:port]/`` as requests writes a prepared URL of that origin."""
    scheme, host, port = origin(url)
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}/"


def require_secure(url: str, *, vendor: str, what: str) -> None:
    """Refuse anything but https, except plain http to a loopback host.

    Raises:
        ConfigurationError: the URL is not absolute, or is http to a non-loopback host.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{vendor}: {what} {shown(url)!r} is not an absolute http(s) URL",
            vendor=vendor,
            url=shown(url),
        )
    if scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{vendor}: {what} {shown(url)!r} is plain http; credentials and tokens travel "
            "only over https (http is allowed to loopback hosts only)",
            vendor=vendor,
            url=shown(url),
        )


def is_absolute(url: str) -> bool:
    """True when ``url`` names its own scheme and host."""
    return _SCHEME.match(url) is not None


def join_url(base: str, url: str) -> str:
    """Join a relative ``url`` to ``base`` keeping base's path prefix.

    ``join_url("https://h/api/v3", "/employees")`` is ``https://h/api/v3/employees``
    (urljoin would drop ``/api/v3``). An absolute URL is returned unchanged.
    """
    if is_absolute(url):
        return url
    base = base.rstrip("/")
    if not url:
        return base
    if url[0] in "?#":
        return base + url
    return base + "/" + url.lstrip("/")


def shown(url: str) -> str:
    """``url`` as errors and logs show it: without userinfo, query string or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
