"""Any RFC 6749 client-credentials provider: the token URL, scope, client authentication and
extra parameters are the user's (the wire code is :mod:`auth_sessions._rfc6749`)."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

from .._rfc6749 import DEFAULT_EXPIRES_IN, OAuth2Endpoint
from .._urls import origin_prefix, require_secure
from .._vendor import Vendor, register
from ..errors import ConfigurationError

__all__ = ["DEFAULT_EXPIRES_IN", "VENDOR", "OAuth2Endpoint"]


def _configure(base_url: Optional[str], given: Mapping[str, Any]) -> Tuple[Optional[str], Any]:
    token_url, scope = given.get("token_url"), given.get("scope")
    client_auth = given.get("client_auth") or "body"
    if not token_url or not isinstance(token_url, str):
        raise ConfigurationError("oauth2: token_url= is required", vendor="oauth2")
    if client_auth not in ("body", "basic"):
        raise ConfigurationError("oauth2: client_auth must be 'body' or 'basic'", vendor="oauth2")
    if scope is not None and not isinstance(scope, str):
        raise ConfigurationError("oauth2: scope must be a string or None", vendor="oauth2")
    require_secure(token_url, vendor="oauth2", what="token URL")
    return base_url or origin_prefix(token_url).rstrip("/"), {**given, "client_auth": client_auth}


VENDOR = register(
    Vendor(
        name="oauth2",
        summary="Generic OAuth 2.0 client credentials (RFC 6749 section 4.4): ``token_url=`` "
        "(https, or http to loopback), ``scope=``, ``client_auth=`` ``'body'`` or ``'basic'`` "
        "(RFC 6749 section 2.3.1), ``extra_params=`` (``audience``...); ``base_url`` defaults "
        "to the token URL's origin, and tokens are sent only there.",
        endpoint=OAuth2Endpoint,
        options=("token_url", "scope", "client_auth", "extra_params"),
        configure=_configure,
    )
)
