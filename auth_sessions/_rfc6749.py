"""RFC 6749 client credentials (section 4.4) on the wire: oauthlib prepares the form body and
validates the answer. requests-oauthlib's ``OAuth2Session.fetch_token`` is not used: it logs
the request body (the client secret) and the token response at DEBUG. Pure: no I/O."""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

from oauthlib.oauth2 import BackendApplicationClient

from ._parse import parse_token
from .endpoint import TokenEndpoint, TokenRequest
from .events import Event, emit
from .tokens import Token

__all__ = ["DEFAULT_EXPIRES_IN", "OAuth2Endpoint", "scope_key"]

DEFAULT_EXPIRES_IN = 3600
"""Lifetime assumed when a provider omits ``expires_in`` (RFC 6749 only recommends it)."""


def scope_key(scope: Optional[str]) -> str:
    """Scopes are a set (RFC 6749 section 3.3): ``"b a"`` asks for what ``"a b"`` asks."""
    return " ".join(sorted(set((scope or "").split())))


class OAuth2Endpoint(TokenEndpoint):
    """Form body, client authentication in the body or Basic. Scope, client auth method and
    extra parameters join the credential key; a granted scope other than the one asked is
    kept on the token (``Token.scope``) with a ``scope_changed`` event."""

    def __init__(
        self,
        *,
        token_url: str,
        scope: Optional[str] = None,
        client_auth: str = "body",
        extra_params: Optional[Mapping[str, str]] = None,
        **kwargs: Any,
    ) -> None:
        self._token_url, self.scope, self.client_auth = token_url, scope, client_auth
        self.extra_params = dict(extra_params or {})
        super().__init__(**kwargs)

    def make_token_url(self) -> str:
        return self._token_url

    def key_params(self) -> Mapping[str, str]:
        params = {"scope": scope_key(self.scope), "client_auth": self.client_auth}
        params.update({f"param:{k}": str(v) for k, v in self.extra_params.items()})
        return params

    def token_request(self) -> TokenRequest:
        client = BackendApplicationClient(client_id=self.client_id, scope=self.scope)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        secret: Dict[str, Any] = {
            "include_client_id": True,
            "client_secret": self.client_secret.reveal(),
        }
        if self.client_auth == "basic":
            secret = {}
            headers["Authorization"] = "Basic " + self.basic_credentials()
        extra: Dict[str, Any] = {**secret, **self.extra_params}
        body = client.prepare_request_body(scope=self.scope, **extra)
        return TokenRequest(self.token_url, data=body, headers=headers)

    def parse(self, data: Any, now: float, server_now: Optional[float] = None) -> Token:
        if not isinstance(data, dict):
            raise ValueError(f"the body is a JSON {type(data).__name__}, not an object")
        client = BackendApplicationClient(client_id=self.client_id)
        try:  # no scope= here: the server decides what it grants (kept below, not refused)
            parsed: Dict[str, Any] = dict(client.parse_request_body_response(json.dumps(data)))
        except Exception as exc:  # untrusted input (OAuth2Error, Warning, ...): any failure refuses
            raise ValueError(f"oauthlib refused it: {type(exc).__name__}: {exc}") from None
        raw = data.get("expires_in")  # oauthlib drops a falsy one (0 would mean "no expiry")
        try:
            parsed["expires_in"] = (
                DEFAULT_EXPIRES_IN if raw is None else (float(raw) if isinstance(raw, str) else raw)
            )
        except ValueError:
            raise ValueError("field 'expires_in' is not a number") from None
        token = parse_token(parsed, self.wire, now, server_now)
        granted = data.get("scope")
        if not (isinstance(granted, str) and granted.strip()):
            return token
        if scope_key(granted) != scope_key(self.scope):
            message = (
                f"{self.vendor}: {self.client_id} granted scope {granted!r} where "
                f"{self.scope!r} was asked; keeping the grant"
            )
            emit(Event("scope_changed", self.vendor, message, self.client_id))
        return Token.create(
            token.access_token.reveal(),
            token_type=token.token_type,
            expires_ts=token.expires_ts,
            issued_ts=token.issued_ts,
            scope=granted,
        )
