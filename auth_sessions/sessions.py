"""The vendor registry, ``for_vendor`` and ``VendorSession``."""

from __future__ import annotations

import contextlib
import os
import weakref
from dataclasses import replace
from typing import Any, Dict, List, Mapping, Optional, Tuple, Type, Union

import requests
from requests.adapters import HTTPAdapter

from ._checks import ENV_SETTING, check_credential
from ._http import API_RETRIES, RetryPolicy
from ._settings import Settings, check_timeout, refuse_unknown
from ._transport import DEFAULT_TOKEN_TIMEOUT, Transport
from ._urls import join_url, shown
from ._vendor import Vendor
from .auth import PENDING, TokenAuth
from .errors import ConfigurationError
from .stores.base import TokenStore

__all__ = [
    "DEFAULT_TIMEOUT",
    "VendorSession",
    "env_vars",
    "for_vendor",
    "register_vendor",
    "vendor_class",
    "vendor_names",
]

Timeout = Union[float, Tuple[float, float]]
Retries = Union[RetryPolicy, int, None]

DEFAULT_TIMEOUT: Tuple[float, float] = (5.0, 30.0)
"""(connect, read) seconds for API calls made without a timeout of their own."""

_REGISTRY: Dict[str, Type[TokenAuth]] = {}
_resolve_proxies = getattr(requests.utils, "resolve_proxies", None)  # requests >= 2.27


def register_vendor(
    name: str, auth_class: Union[Type[TokenAuth], Vendor], *, replace: bool = False
) -> None:
    """Make ``for_vendor(name)`` build sessions for a vendor.

    Args:
        name: the vendor name (case-insensitive); its upper-cased form prefixes env vars.
        auth_class: the vendor's :class:`~auth_sessions.Vendor` description, or a
            :class:`TokenAuth` subclass describing it.
        replace: allow replacing an already registered name.

    Raises:
        ConfigurationError: the name is taken (and ``replace`` is false), or the second
            argument is neither a Vendor nor a TokenAuth subclass.
    """
    key = name.lower()
    if isinstance(auth_class, Vendor):
        auth_class = make_auth_class(auth_class)
    if not (isinstance(auth_class, type) and issubclass(auth_class, TokenAuth)):
        raise ConfigurationError(
            f"register_vendor({name!r}): pass a Vendor or a TokenAuth subclass"
        )
    if key in _REGISTRY and not replace:
        raise ConfigurationError(f"vendor {name!r} is already registered (pass replace=True)")
    _REGISTRY[key] = auth_class


def make_auth_class(vendor: Vendor, name: str = "") -> Type[TokenAuth]:
    """A :class:`TokenAuth` subclass bound to ``vendor`` (named ``AcmeAuth`` for ``acme``)."""
    name = name or vendor.name.title().replace("_", "") + "Auth"
    cls: Type[TokenAuth] = type(name, (TokenAuth,), {"spec": vendor, "__module__": __name__})
    return cls


def vendor_names() -> List[str]:
    """The registered vendor names, sorted."""
    return sorted(_REGISTRY)


def vendor_class(name: str) -> Type[TokenAuth]:
    """The auth class registered as ``name``, or a ConfigurationError listing known vendors."""
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise ConfigurationError(
            f"unknown vendor {name!r}; known vendors: {', '.join(vendor_names())}"
        ) from None


class VendorSession(requests.Session):
    """A ``requests.Session`` bound to one vendor: base URL, auth, headers and timeout.

    Relative URLs (``"/x"`` or ``"x"``) are joined to :attr:`base_url` keeping its path prefix;
    absolute URLs are used as they are (and carry a token only to the vendor's origin).
    Every send without a ``timeout`` (``request()``, ``send()`` of a prepared request,
    redirects) gets :attr:`timeout`, and a call's timeout also bounds its wait for a token.
    Token calls use this session's ``verify``, ``cert``, ``proxies`` and ``trust_env`` as they
    are at the time. Sessions pickle and copy (a pickle holds the client secret). Like any
    ``requests.Session``, share one between threads only for requests (its cookie jar is not
    meant for concurrent writes); the token behind it is shared safely regardless.

    Attributes:
        vendor: the vendor name.
        base_url: the resolved base URL.
        auth: the vendor's :class:`TokenAuth`.
        timeout: the default (connect, read) timeout.
    """

    auth: TokenAuth
    __attrs__ = [*requests.Session.__attrs__, "vendor", "base_url", "timeout", "retries"]

    def __init__(
        self,
        auth: TokenAuth,
        *,
        timeout: Optional[Timeout] = DEFAULT_TIMEOUT,
        retries: Retries = API_RETRIES,
    ) -> None:
        super().__init__()
        self.auth = auth
        self.vendor = auth.vendor
        self.base_url = auth.base_url
        self.timeout = timeout
        self.retries = _retry_policy(retries)
        self.headers.update(auth.headers)
        if self.retries is not None:
            adapter = HTTPAdapter(max_retries=self.retries.build(auth.wire.retry_after_headers))
            self.mount("https://", adapter)
            self.mount("http://", adapter)
        auth.bind(self)
        _live.add(self)

    def drop_inherited_connections(self) -> None:
        """Forget pooled connections (called in a forked child): a child never talks over a
        socket its parent opened, such as a module-level session warmed before
        ``gunicorn --preload`` forked. Only the child's copies of the sockets are closed."""
        for adapter in list(self.adapters.values()):
            managers = [getattr(adapter, "poolmanager", None)]
            managers += list(getattr(adapter, "proxy_manager", {}).values())
            for manager in managers:
                if manager is not None:
                    manager.clear()

    def __repr__(self) -> str:
        return f"VendorSession(vendor={self.vendor!r}, base_url={shown(self.base_url)!r})"

    def __setstate__(self, state: Dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]
        _live.add(self)
        if isinstance(self.auth, TokenAuth) and self.auth._bound is None:
            self.auth.bind(self)  # an unpickled auth: this session is its home

    def request(  # type: ignore[override]
        self, method: str, url: Union[str, bytes], *args: Any, **kwargs: Any
    ) -> requests.Response:
        if isinstance(url, bytes):
            url = url.decode("utf-8")
        return super().request(method, join_url(self.base_url, url), *args, **kwargs)

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """As requests prepares it; a token not at hand is left to :meth:`send`, which
        fetches it on the call's own transport."""
        if request.auth is not None or not isinstance(self.auth, TokenAuth):
            return super().prepare_request(request)
        request.auth = self.auth.deferring()
        try:
            return super().prepare_request(request)
        finally:
            request.auth = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """As requests sends it, with :attr:`timeout` when the call gives none; a request
        still waiting for its token gets it here, fetched with the call's ``verify``,
        ``cert`` and ``proxies`` (as requests resolved them) and within its timeout."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        auth = request.__dict__.pop(PENDING, None)
        if auth is not None:
            kwargs.setdefault("verify", self.verify)
            kwargs.setdefault("cert", self.cert)
            if "proxies" not in kwargs:  # what requests' own send() would use
                resolve = _resolve_proxies
                proxies = (
                    self.proxies
                    if resolve is None
                    else resolve(request, self.proxies, self.trust_env)
                )
                kwargs["proxies"] = proxies
            transport = Transport.of_call(kwargs, Transport(trust_env=self.trust_env))
            auth.authorize(request, transport, kwargs["timeout"])
        return super().send(request, **kwargs)

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """As requests does (no ``Authorization`` to another host); a DPoP proof never
        follows a redirect: one on the same host gets a fresh proof for its new URL."""
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        if prepared_request.headers.pop("DPoP", None) is not None and isinstance(
            self.auth, TokenAuth
        ):
            self.auth.prove(prepared_request)

    def __copy__(self) -> VendorSession:
        clone = type(self).__new__(type(self))
        clone.__setstate__(self.__getstate__())  # type: ignore[attr-defined]
        return clone


_live: weakref.WeakSet[VendorSession] = weakref.WeakSet()


def _drop_inherited() -> None:
    for session in list(_live):
        with contextlib.suppress(Exception):  # a broken pool must not break the child
            session.drop_inherited_connections()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited)


ENV_FIELDS = ("CLIENT_ID", "CLIENT_SECRET", "ENVIRONMENT", "BASE_URL")


def env_vars(vendor: str) -> Dict[str, str]:
    """The env var names read for ``vendor``: ``{"CLIENT_ID": "ACME_CLIENT_ID", ...}``."""
    prefix = vendor.upper()
    return {field: f"{prefix}_{field}" for field in ENV_FIELDS}


def _retry_policy(retries: Retries) -> Optional[RetryPolicy]:
    if retries is None or retries is False:
        return None
    if isinstance(retries, RetryPolicy):
        return retries if retries.total > 0 else None
    if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 0:
        return replace(API_RETRIES, total=retries) if retries else None
    raise ConfigurationError("retries must be a RetryPolicy, a count >= 0 or None")


def _credentials(
    auth_class: Type[TokenAuth],
    client_id: Optional[str],
    client_secret: Optional[str],
    options: Mapping[str, Any],
) -> Dict[str, str]:
    """The client id and secret from the arguments, else the environment; checked. The
    secret may be absent when the vendor says the ``options`` authenticate without one."""
    vendor, var = auth_class.vendor, env_vars(auth_class.vendor)
    given = {"client_id": client_id, "client_secret": client_secret}
    for arg, field in (("client_id", "CLIENT_ID"), ("client_secret", "CLIENT_SECRET")):
        value, source = _from_env(given[arg], var[field])
        if not value and arg == "client_secret" and auth_class.spec.secret_optional(options):
            given[arg] = ""
            continue
        if not value:
            raise ConfigurationError(
                f"{vendor}: no {arg.replace('_', ' ')}: pass {arg}= or set {var[field]}",
                vendor=vendor,
            )
        header = auth_class.wire.send == "headers"
        check_credential(vendor, value, source or arg, header=header)
        given[arg] = value
    return {k: str(v) for k, v in given.items()}


def _env_options(auth_class: Type[TokenAuth], options: Dict[str, Any]) -> None:
    """Fill the vendor's env-backed options not given (``OAUTH2_TOKEN_URL``...) in place."""
    for option in auth_class.spec.env_options:
        found = os.environ.get(f"{auth_class.vendor.upper()}_{option.upper()}")
        if options.get(option) is None and found:
            options[option] = found


def _from_env(value: Optional[str], var: str) -> Tuple[Optional[str], str]:
    """The value and the env var it came from ("" for the argument, or no value)."""
    if value:
        return value, ""
    found = os.environ.get(var) or None
    return found, var if found else ""


_FACTORY_OPTIONS = ("client_id", "client_secret", "environment", "base_url", "token_store",
                    "timeout", "leeway", "headers", "retries", "token_timeout")  # fmt: skip


def for_vendor(
    name: str,
    client_id: Optional[str] = None,
    client_secret: Optional[str] = None,
    *,
    environment: Optional[str] = None,
    base_url: Optional[str] = None,
    token_store: Optional[TokenStore] = None,
    timeout: Optional[Timeout] = DEFAULT_TIMEOUT,
    leeway: Optional[float] = None,
    headers: Optional[Mapping[str, str]] = None,
    retries: Retries = API_RETRIES,
    token_timeout: Timeout = DEFAULT_TOKEN_TIMEOUT,
    **options: Any,
) -> VendorSession:
    """A :class:`VendorSession` for ``name``, credentials from arguments or the environment.

    Explicit arguments win; then ``<VENDOR>_CLIENT_ID``, ``_CLIENT_SECRET``, ``_ENVIRONMENT``
    and ``_BASE_URL``. ``timeout`` is for API calls; ``retries`` governs API calls answered
    429 or 503 (default: idempotent methods, 3 retries honouring ``Retry-After`` capped at
    5 s; a count, a :class:`RetryPolicy`, or ``None``); ``token_timeout`` bounds each
    token-endpoint attempt. Other ``options`` go to the auth class (``retry=``, ``clock=``,
    ... and the vendor's own, such as ``oauth2``'s ``token_url=``).

    Raises:
        ConfigurationError: unknown vendor, missing credential, unknown environment, missing
            or non-https base URL, a misspelled option; the message names what to set.
    """
    auth_class = vendor_class(name)
    vendor = auth_class.vendor
    refuse_unknown(vendor, options, {*_FACTORY_OPTIONS, *Settings.names(), *auth_class.options})
    var = env_vars(vendor)
    _env_options(auth_class, options)
    given = _credentials(auth_class, client_id, client_secret, options)
    check_timeout(vendor, timeout, "timeout", optional=True)
    try:
        policy = _retry_policy(retries)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{vendor}: {exc}", vendor=vendor) from None
    env, env_source = _from_env(environment, var["ENVIRONMENT"])
    base, _ = _from_env(base_url, var["BASE_URL"])
    try:
        auth = auth_class(
            given["client_id"],
            given["client_secret"],
            environment=env,
            base_url=base,
            token_store=token_store,
            leeway=leeway,
            headers=headers,
            timeout=token_timeout,
            **options,
        )
    except ConfigurationError as exc:
        both = ENV_SETTING.format(vendor.upper())
        if both in str(exc):  # name the one setting that chose the environment
            used = env_source or "environment="
            raise ConfigurationError(str(exc).replace(both, used), vendor=vendor) from None
        raise
    return VendorSession(auth, timeout=timeout, retries=policy)
