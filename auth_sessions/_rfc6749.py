"""RFC 6749 client credentials (section 4.4) on the wire: oauthlib prepares the form body and
validates the answer. requests-oauthlib's ``OAuth2Session.fetch_token`` is not used: it logs
the request body (the client secret) and the token response at DEBUG. Pure: no I/O.

Client authentication by name (RFC 6749 2.3.1, RFC 7523 2.2 / OIDC Core 9, RFC 8705):
``client_secret_basic``, ``client_secret_post``, ``client_secret_jwt``, ``private_key_jwt``,
``tls_client_auth`` and ``self_signed_tls_client_auth``; ``basic`` and ``body`` are aliases of
the first two."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from oauthlib.oauth2 import BackendApplicationClient

from ._discovery import Metadata, cached
from ._jwt import ASSERTION_TYPE, ASYMMETRIC, SYMMETRIC, SigningKey, client_assertion
from ._parse import parse_token
from .endpoint import TokenEndpoint, TokenRequest
from .errors import ConfigurationError
from .events import Event, emit
from .tokens import Token

__all__ = [
    "ALIASES",
    "DEFAULT_EXPIRES_IN",
    "JWT_METHODS",
    "METHODS",
    "NO_SECRET",
    "TLS_METHODS",
    "OAuth2Endpoint",
    "scope_key",
    "signing_options",
]

METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "tls_client_auth",
    "self_signed_tls_client_auth",
)
ALIASES = {"basic": "client_secret_basic", "body": "client_secret_post"}
JWT_METHODS = ("client_secret_jwt", "private_key_jwt")
TLS_METHODS = ("tls_client_auth", "self_signed_tls_client_auth")
NO_SECRET = ("private_key_jwt", *TLS_METHODS)
_KEYED_AS = {v: k for k, v in ALIASES.items()}  # credential keys of v0.2 stay valid

DEFAULT_EXPIRES_IN = 3600
"""Lifetime assumed when a provider omits ``expires_in`` (RFC 6749 only recommends it)."""


def signing_options(method: str, given: Mapping[str, Any], owner: str) -> Dict[str, Any]:
    """``private_key`` (a :class:`SigningKey`) and ``signing_alg`` checked against the client
    authentication ``method``; ``key_id`` goes into the key. Raises ``ConfigurationError``."""
    key, alg = given.get("private_key"), given.get("signing_alg")

    def fail(message: str) -> ConfigurationError:
        return ConfigurationError(f"{owner}: {message}", vendor=owner)

    if method == "private_key_jwt":
        if key is None:
            env = f"{owner.upper()}_PRIVATE_KEY"
            raise fail(f"client_auth='private_key_jwt' needs private_key= (or {env})")
        if not isinstance(key, SigningKey):  # (settings configured once already keep theirs)
            key = SigningKey(key, alg, given.get("key_id"), owner)
        return {"private_key": key, "signing_alg": alg}
    if key is not None:
        raise fail(f"private_key= is used only by client_auth='private_key_jwt', not {method!r}")
    if method == "client_secret_jwt" and alg is not None and alg not in SYMMETRIC:
        raise fail(f"client_secret_jwt signs with {', '.join(SYMMETRIC)}, not {alg!r}")
    if alg is not None and method != "client_secret_jwt":
        raise fail(f"signing_alg= is used only by the JWT methods (one of {ASYMMETRIC[0]}...)")
    return {"private_key": None, "signing_alg": alg}


def scope_key(scope: Optional[str]) -> str:
    """Scopes are a set (RFC 6749 section 3.3): ``"b a"`` asks for what ``"a b"`` asks."""
    return " ".join(sorted(set((scope or "").split())))


class OAuth2Endpoint(TokenEndpoint):
    """Form body; client authentication by one of :data:`METHODS`. Scope, client auth method,
    the signing key's thumbprint and extra parameters join the credential key; a granted scope
    other than the one asked is kept on the token (``Token.scope``) with a ``scope_changed``
    event. JWT methods get a fresh assertion per token request, its ``aud`` the issuer when
    known, else the token URL, exactly as given.

    With ``issuer`` (and no ``token_url``) the token endpoint, and with ``client_auth="auto"``
    the method, come from the server's metadata, which the transport fetches first; an
    explicit method or signing algorithm the metadata does not list is a
    ``ConfigurationError``."""

    def __init__(
        self,
        *,
        token_url: Optional[str] = None,
        scope: Optional[str] = None,
        client_auth: str = "client_secret_post",
        extra_params: Optional[Mapping[str, str]] = None,
        private_key: Optional[SigningKey] = None,
        signing_alg: Optional[str] = None,
        issuer: Optional[str] = None,
        dpop: bool = False,
        **kwargs: Any,
    ) -> None:
        self.dpop = dpop
        self._token_url, self.scope = token_url, scope
        self.client_auth = ALIASES.get(client_auth, client_auth)
        self.extra_params = dict(extra_params or {})
        self.signing_key, self.issuer = private_key, issuer
        self.signing_alg = signing_alg or "HS256"  # client_secret_jwt's; a key knows its own
        super().__init__(**kwargs)

    def make_token_url(self) -> str:
        """The token URL given, or the issuer (named in keys and messages until the
        metadata says where its token endpoint is)."""
        return self._token_url or self.issuer or ""

    def _metadata(self) -> Optional[Metadata]:
        if self.issuer is None or self._token_url:
            return None
        found = cached(self.issuer, self.vendor)
        if found is None:  # the transport fetches it before asking for a request
            raise ConfigurationError(
                f"{self.vendor}: no metadata for {self.issuer} yet", vendor=self.vendor
            )
        return found

    def dpop_algs(self) -> Tuple[str, ...]:
        metadata = self._metadata()
        return () if metadata is None else metadata.dpop_algs

    def _method(self, metadata: Optional[Metadata]) -> str:
        """The method to use: as configured, or ("auto") the best the metadata lists."""
        method = self.client_auth
        if metadata is None:
            return "client_secret_basic" if method == "auto" else method
        listed = metadata.auth_methods
        wanted = ("client_secret_basic", "client_secret_post") if method == "auto" else (method,)
        for candidate in wanted:
            if candidate in listed:
                return candidate
        raise ConfigurationError(
            f"{self.vendor}: {self.issuer} lists client authentication "
            f"{', '.join(listed)}; these credentials allow {', '.join(wanted)}",
            vendor=self.vendor,
        )

    def _check_alg(self, metadata: Optional[Metadata], method: str) -> None:
        if metadata is None or not metadata.signing_algs or method not in JWT_METHODS:
            return
        alg = self.signing_key.alg if self.signing_key is not None else self.signing_alg
        if alg not in metadata.signing_algs:
            raise ConfigurationError(
                f"{self.vendor}: {self.issuer} accepts assertions signed with "
                f"{', '.join(metadata.signing_algs)}, not {alg} (set signing_alg=)",
                vendor=self.vendor,
            )

    @property
    def needs_client_cert(self) -> bool:
        """Whether the token call must present the transport's client certificate."""
        return self.client_auth in TLS_METHODS

    def key_params(self) -> Mapping[str, str]:
        method = _KEYED_AS.get(self.client_auth, self.client_auth)
        params = {"scope": scope_key(self.scope), "client_auth": method}
        if self.signing_key is not None:
            params["key"] = self.signing_key.thumbprint
        if self.dpop:
            params["dpop"] = "1"
        params.update({f"param:{k}": str(v) for k, v in self.extra_params.items()})
        return params

    def token_request(self) -> TokenRequest:
        client = BackendApplicationClient(client_id=self.client_id, scope=self.scope)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        auth: Dict[str, Any] = {"include_client_id": True}
        metadata = self._metadata()
        method = self._method(metadata)
        self._check_alg(metadata, method)
        url = self.token_url if metadata is None else metadata.token_endpoint
        if metadata is not None and method in TLS_METHODS and metadata.mtls_token_endpoint:
            url = metadata.mtls_token_endpoint
        if method == "client_secret_basic":
            auth = {"include_client_id": False}
            headers["Authorization"] = "Basic " + self.basic_credentials()
        elif method == "client_secret_post":
            auth["client_secret"] = self.client_secret.reveal()
        elif method in JWT_METHODS:
            audience = self.issuer or self.token_url
            signer = self.signing_key or self.client_secret.reveal().encode()
            auth["client_assertion_type"] = ASSERTION_TYPE
            auth["client_assertion"] = client_assertion(
                self.client_id, audience, signer, self.signing_alg
            )
        extra: Dict[str, Any] = {**auth, **self.extra_params}
        body = client.prepare_request_body(scope=self.scope, **extra)
        return TokenRequest(url, data=body, headers=headers)

    def sensitive(self) -> List[str]:
        if not self.client_secret.reveal():  # a key or a certificate authenticates instead
            return []
        return super().sensitive()

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
