"""Any RFC 6749 client-credentials provider, through oauthlib.

oauthlib prepares the form body and validates the response; the HTTP call goes through our
own token session (retries, size cap, typed errors). requests-oauthlib's
``OAuth2Session.fetch_token`` is deliberately not used: it logs the request body (the
client secret) and the token response at DEBUG.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional
from urllib.parse import quote

from oauthlib.oauth2 import BackendApplicationClient

from .._http import TokenRequest
from .._parse import BadField, WireFormat, parse_token
from .._urls import origin_prefix, require_secure
from ..auth import TokenAuth
from ..errors import ConfigurationError
from ..tokens import Token

__all__ = ["DEFAULT_EXPIRES_IN", "OAuth2Auth"]

DEFAULT_EXPIRES_IN = 3600
"""Lifetime assumed when a provider omits ``expires_in`` (RFC 6749 only recommends it)."""


class OAuth2Auth(TokenAuth):
    """Generic OAuth 2.0 client credentials (RFC 6749 section 4.4).

    Args:
        token_url: the provider's token endpoint (https, or http to loopback).
        scope: space-separated scopes or None.
        client_auth: ``"body"`` (``client_id``/``client_secret`` in the form) or ``"basic"``
            (HTTP Basic, RFC 6749 section 2.3.1).
        base_url: the API's base URL; default the token URL's origin. Tokens are sent only
            to this origin.
    """

    vendor = "oauth2"
    wire = WireFormat()

    def __init__(
        self,
        client_id: Optional[str],
        client_secret: Optional[str],
        *,
        token_url: Optional[str] = None,
        scope: Optional[str] = None,
        client_auth: str = "body",
        base_url: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        if not token_url:
            raise ConfigurationError("oauth2: token_url= is required", vendor="oauth2")
        if client_auth not in ("body", "basic"):
            raise ConfigurationError(
                f"oauth2: client_auth must be 'body' or 'basic', not {client_auth!r}",
                vendor="oauth2",
            )
        self._token_url = token_url
        self.scope = scope
        self.client_auth = client_auth
        require_secure(token_url, vendor="oauth2", what="token URL")
        default_base = origin_prefix(token_url).rstrip("/")
        super().__init__(client_id, client_secret, base_url=base_url or default_base, **kwargs)

    @classmethod
    def resolve_base_url(cls, base_url: Optional[str], environment: str) -> str:
        return (base_url or "").rstrip("/")

    def make_token_url(self) -> str:
        return self._token_url

    def token_request(self) -> TokenRequest:
        client = BackendApplicationClient(client_id=self.client_id, scope=self.scope)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        secret = self._secret.reveal()
        if self.client_auth == "basic":
            body = client.prepare_request_body(scope=self.scope)
            pair = f"{quote(self.client_id, safe='')}:{quote(secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            body = client.prepare_request_body(
                scope=self.scope, include_client_id=True, client_secret=secret
            )
        return TokenRequest(self.token_url, data=body, headers=headers)

    def parse_token(self, data: Any, now: float) -> Token:
        if not isinstance(data, dict):
            raise BadField(f"the body is a JSON {type(data).__name__}, not an object")
        client = BackendApplicationClient(client_id=self.client_id, scope=self.scope)
        try:
            parsed = dict(client.parse_request_body_response(json.dumps(data), scope=self.scope))
        except Exception as exc:  # untrusted input (OAuth2Error, Warning, ...): any failure refuses
            raise BadField(f"oauthlib refused it ({type(exc).__name__})") from None
        # oauthlib drops a falsy expires_in (0 would become "no expiry"): check the raw value.
        raw = data.get("expires_in")
        if raw is None:
            parsed["expires_in"] = DEFAULT_EXPIRES_IN
        elif isinstance(raw, str):
            try:
                parsed["expires_in"] = float(raw)  # a numeric string, as oauthlib tolerates
            except ValueError:
                raise BadField("field 'expires_in' is not a number") from None
        else:
            parsed["expires_in"] = raw
        return parse_token(parsed, self.wire, now)
