"""Any RFC 6749 client-credentials provider, through oauthlib.

oauthlib prepares the form body and validates the response; the HTTP call goes through our
own token endpoint client (retries, size cap, typed errors). requests-oauthlib's
``OAuth2Session.fetch_token`` is deliberately not used: it logs the request body (the
client secret) and the token response at DEBUG.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Dict, Mapping, Optional

from oauthlib.oauth2 import BackendApplicationClient

from .._parse import parse_token
from .._settings import Settings
from .._urls import origin_prefix, require_secure
from ..auth import TokenAuth
from ..endpoint import TokenEndpoint, TokenRequest
from ..errors import ConfigurationError
from ..events import Event, emit
from ..tokens import Token

__all__ = ["DEFAULT_EXPIRES_IN", "OAuth2Auth", "OAuth2Endpoint"]


DEFAULT_EXPIRES_IN = 3600
"""Lifetime assumed when a provider omits ``expires_in`` (RFC 6749 only recommends it)."""


def _scope_key(scope: Optional[str]) -> str:
    """Scopes are a set (RFC 6749 section 3.3): ``"b a"`` asks for what ``"a b"`` asks."""
    return " ".join(sorted(set((scope or "").split())))


class OAuth2Endpoint(TokenEndpoint):
    """An RFC 6749 token endpoint: form body, client authentication in the body or Basic.

    The scope, the client authentication method and extra token parameters join the
    credential key, so differently scoped sessions never share a token. A server may grant
    another scope than the one asked (section 3.3): it is accepted, kept on the token
    (``Token.scope``) and logged at INFO.
    """

    def __init__(
        self,
        *,
        token_url: str,
        scope: Optional[str] = None,
        client_auth: str = "body",
        extra_params: Optional[Mapping[str, str]] = None,
        **kwargs: Any,
    ) -> None:
        self._token_url = token_url
        self.scope = scope
        self.client_auth = client_auth
        self.extra_params = dict(extra_params or {})
        super().__init__(**kwargs)

    def make_token_url(self) -> str:
        return self._token_url

    def key_params(self) -> Mapping[str, str]:
        params = {"scope": _scope_key(self.scope), "client_auth": self.client_auth}
        params.update({f"param:{k}": str(v) for k, v in self.extra_params.items()})
        return params

    def token_request(self) -> TokenRequest:
        client = BackendApplicationClient(client_id=self.client_id, scope=self.scope)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        extra: Dict[str, Any] = dict(self.extra_params)
        if self.client_auth == "basic":
            body = client.prepare_request_body(scope=self.scope, **extra)
            headers["Authorization"] = "Basic " + self.basic_credentials()
        else:
            body = client.prepare_request_body(
                scope=self.scope,
                include_client_id=True,
                client_secret=self.client_secret.reveal(),
                **extra,
            )
        return TokenRequest(self.token_url, data=body, headers=headers)

    def parse(self, data: Any, now: float, server_now: Optional[float] = None) -> Token:
        if not isinstance(data, dict):
            raise ValueError(f"the body is a JSON {type(data).__name__}, not an object")
        client = BackendApplicationClient(client_id=self.client_id)
        try:
            # no scope= here: the server decides what it grants (checked below, not refused)
            parsed: Dict[str, Any] = dict(client.parse_request_body_response(json.dumps(data)))
        except Exception as exc:  # untrusted input (OAuth2Error, Warning, ...): any failure refuses
            raise ValueError(f"oauthlib refused it: {type(exc).__name__}: {exc}") from None
        # oauthlib drops a falsy expires_in (0 would become "no expiry"): check the raw value.
        raw = data.get("expires_in")
        if raw is None:
            parsed["expires_in"] = DEFAULT_EXPIRES_IN
        elif isinstance(raw, str):
            try:
                parsed["expires_in"] = float(raw)  # a numeric string, as oauthlib tolerates
            except ValueError:
                raise ValueError("field 'expires_in' is not a number") from None
        else:
            parsed["expires_in"] = raw
        token = parse_token(parsed, self.wire, now, server_now)
        granted = data.get("scope")
        if isinstance(granted, str) and granted.strip():
            if _scope_key(granted) != _scope_key(self.scope):
                message = (
                    f"oauth2: {self.client_id} granted scope {granted!r} where {self.scope!r} "
                    "was asked; keeping the grant"
                )
                emit(Event("scope_changed", self.vendor, message, self.client_id))
            token = Token.create(
                token.access_token.reveal(),
                token_type=token.token_type,
                expires_ts=token.expires_ts,
                issued_ts=token.issued_ts,
                scope=granted,
            )
        return token


class OAuth2Auth(TokenAuth):
    """Generic OAuth 2.0 client credentials (RFC 6749 section 4.4).

    Thread-safe like every :class:`~auth_sessions.TokenAuth`.

    Options (besides :class:`~auth_sessions.TokenAuth`'s):
        token_url: the provider's token endpoint (https, or http to loopback).
        scope: space-separated scopes or None.
        client_auth: ``"body"`` (``client_id``/``client_secret`` in the form) or ``"basic"``
            (HTTP Basic, RFC 6749 section 2.3.1).
        extra_params: more form parameters for the token request (``audience``...).
        base_url: the API's base URL; default the token URL's origin. Tokens are sent only
            to this origin.
    """

    vendor = "oauth2"
    endpoint_class = OAuth2Endpoint
    options = ("token_url", "scope", "client_auth", "extra_params")

    @classmethod
    def configure(cls, settings: Settings) -> Settings:
        given = settings.options
        token_url, scope = given.get("token_url"), given.get("scope")
        client_auth = given.get("client_auth") or "body"
        if not token_url or not isinstance(token_url, str):
            raise ConfigurationError("oauth2: token_url= is required", vendor="oauth2")
        if client_auth not in ("body", "basic"):
            raise ConfigurationError(
                "oauth2: client_auth must be 'body' or 'basic'", vendor="oauth2"
            )
        if scope is not None and not isinstance(scope, str):
            raise ConfigurationError("oauth2: scope must be a string or None", vendor="oauth2")
        require_secure(token_url, vendor="oauth2", what="token URL")
        base_url = settings.base_url or origin_prefix(token_url).rstrip("/")
        options = {**given, "client_auth": client_auth}
        return replace(settings, base_url=base_url, options=options)

    @classmethod
    def resolve_base_url(cls, base_url: Optional[str], environment: str) -> str:
        return (base_url or "").rstrip("/")
