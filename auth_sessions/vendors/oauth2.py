"""Any RFC 6749 client-credentials provider: the token URL, scope, client authentication and
extra parameters are the user's (the wire code is :mod:`auth_sessions._rfc6749`)."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

from .._jwt import need_jwt
from .._rfc6749 import ALIASES, METHODS, NO_SECRET, OAuth2Endpoint, signing_options
from .._urls import origin_prefix, require_secure
from .._vendor import Vendor, register
from ..errors import ConfigurationError

__all__ = ["VENDOR", "OAuth2Endpoint"]


OPTIONS = ("token_url", "issuer", "scope", "client_auth", "extra_params", "private_key",
           "key_id", "signing_alg", "dpop")  # fmt: skip


def _fail(message: str) -> ConfigurationError:
    return ConfigurationError(f"oauth2: {message}", vendor="oauth2")


def _method(given: Mapping[str, Any]) -> str:
    """The client authentication method, by its RFC name (None: from the credentials)."""
    method = given.get("client_auth")
    if method is None and given.get("private_key") is not None:
        return "private_key_jwt"
    if method is None:  # with metadata: the best it lists (basic, then post)
        return (
            "auto" if given.get("issuer") and not given.get("token_url") else "client_secret_post"
        )
    method = ALIASES.get(method, method) if isinstance(method, str) else method
    if method == "auto" and given.get("issuer"):  # as configured before: chosen from metadata
        return "auto"
    if method not in METHODS:
        names = ", ".join(repr(m) for m in (*METHODS, *ALIASES))
        raise _fail(f"client_auth={given.get('client_auth')!r} is not one of {names}")
    return str(method)


def _configure(base_url: Optional[str], given: Mapping[str, Any]) -> Tuple[Optional[str], Any]:
    token_url, scope, method = given.get("token_url"), given.get("scope"), _method(given)
    issuer = given.get("issuer")
    if not token_url and not issuer:
        raise _fail("issuer= or token_url= is required (or set OAUTH2_ISSUER / OAUTH2_TOKEN_URL)")
    for name, url in (("token_url", token_url), ("issuer", issuer)):
        if url is not None and not isinstance(url, str):
            raise _fail(f"{name}= must be a URL string")
        if url:
            require_secure(url, vendor="oauth2", what=name.replace("_", " "))
    if scope is not None and not isinstance(scope, str):
        raise _fail("scope must be a string or None")
    options = {name: value for name, value in given.items() if name != "key_id"}  # in the key
    options.update(signing_options(method, given, "oauth2"), client_auth=method)
    if not isinstance(given.get("dpop", False), bool):
        raise _fail("dpop= is True or False")
    if given.get("dpop"):
        need_jwt("oauth2")  # proofs are signed JWTs: the [jwt] extra
    return base_url or origin_prefix(str(token_url or issuer)).rstrip("/"), options


def _secret_optional(given: Mapping[str, Any]) -> bool:
    """A key or a client certificate authenticates instead of a secret."""
    try:
        return _method(given) in NO_SECRET
    except ConfigurationError:
        return False  # the method's own error is raised by _configure


SAMPLES = {  # beside issuer= (or token_url=) and client_id=
    "client_secret_basic": 'client_secret="..."',
    "client_secret_post": 'client_secret="...", client_auth="client_secret_post"',
    "client_secret_jwt": 'client_secret="...", client_auth="client_secret_jwt"',
    "private_key_jwt": 'private_key="/etc/svc/key.pem", key_id="k1"',
    "tls_client_auth": 'client_auth="tls_client_auth"; then session.cert = (cert, key)',
    "self_signed_tls_client_auth": 'client_auth="self_signed_tls_client_auth"; session.cert',
    "(any) + DPoP": "dpop=True",
}

VENDOR = register(
    Vendor(
        name="oauth2",
        summary="Generic OAuth 2.0 client credentials (RFC 6749 section 4.4): ``issuer=`` "
        "(metadata discovery) or ``token_url=`` (https, or http to loopback), ``scope=``, "
        "``client_auth=`` by RFC name (``private_key_jwt`` with ``private_key=``...), "
        "``dpop=True`` (RFC 9449), ``extra_params=`` (``audience``...); ``base_url`` defaults "
        "to the token URL's origin, and tokens are sent only there.",
        endpoint=OAuth2Endpoint,
        options=OPTIONS,
        env_options=("token_url", "issuer", "private_key", "key_id"),
        secret_optional=_secret_optional,
        configure=_configure,
        client_auth=SAMPLES,
    )
)
