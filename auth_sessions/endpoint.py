"""What a token endpoint takes and answers: pure wire code, no I/O, no clock of its own.

A :class:`TokenEndpoint` is a vendor's wire format bound to one credential set and base URL.
It builds :class:`TokenRequest` values and reads decoded answers into tokens; how a request
travels (the caller's transport, retries, the deadline) is :mod:`auth_sessions._transport`'s.
A vendor describes itself with a :class:`WireFormat`, or a subclass overriding
:meth:`~TokenEndpoint.token_request`, :meth:`~TokenEndpoint.refresh_request`,
:meth:`~TokenEndpoint.parse` or :meth:`~TokenEndpoint.key_params`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote

from ._http import redact
from ._parse import WireFormat, parse_token
from ._urls import shown
from .errors import TokenResponseError
from .tokens import Secret, Token

__all__ = ["SKEW_TOLERANCE", "TokenEndpoint", "TokenRequest"]

SKEW_TOLERANCE = 2.0
"""A server ``Date`` within this many seconds of our clock is taken as agreement (``Date``
has one-second resolution); beyond it, absolute expiries are read against the server."""


@dataclass(frozen=True)
class TokenRequest:
    """One token-endpoint call: a POST with a JSON body, a form body or headers (or a GET:
    an authorization server's metadata).

    Its repr shows only the URL: the body and headers carry the client secret.
    Thread-safety: an immutable value.
    """

    url: str
    json: Optional[Mapping[str, Any]] = field(default=None, repr=False)
    data: Optional[Union[str, Mapping[str, str]]] = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    method: str = "POST"


class TokenEndpoint:
    """A vendor's token endpoint for one credential set: the requests it takes, the answers
    it gives. ``client_secret`` is a :class:`~auth_sessions.Secret`: call ``.reveal()`` only to
    put it on the wire.

    Thread-safety: immutable after construction; one instance serves every thread.

    Args:
        vendor: the vendor name (for messages).
        base_url: the resolved base URL.
        client_id: the client id.
        client_secret: the client secret.
        wire: the vendor's wire format (default: the class's :attr:`wire`).
    """

    wire: WireFormat = WireFormat()
    issuer: Optional[str] = None
    """An authorization server whose metadata (RFC 8414) names the token endpoint: the
    transport fetches it before the first token request."""
    dpop: bool = False
    """Whether tokens are DPoP-bound (RFC 9449): the transport proves each token request."""

    def dpop_algs(self) -> Tuple[str, ...]:
        """The DPoP algorithms the server accepts, when it said (its metadata)."""
        return ()

    def __init__(
        self,
        *,
        vendor: str,
        base_url: str,
        client_id: str,
        client_secret: Secret,
        wire: Optional[WireFormat] = None,
    ) -> None:
        if wire is not None:
            self.wire = wire
        self.vendor = vendor
        self.base_url = base_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = self.make_token_url()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vendor={self.vendor!r}, token_url={shown(self.token_url)!r})"

    def make_token_url(self) -> str:
        """The token endpoint: the base URL plus ``wire.token_path``."""
        return self.base_url + self.wire.token_path

    @property
    def needs_client_cert(self) -> bool:
        """Whether token calls authenticate with the transport's client certificate."""
        return False

    def key_params(self) -> Mapping[str, str]:
        """Request parameters that change what a token grants (scope, client auth method...).

        They join the credential key: tokens are shared only between identical grants.
        """
        return {}

    def token_request(self) -> TokenRequest:
        """The client-credentials request, as :attr:`wire` describes it."""
        wire = self.wire
        creds = {wire.id_field: self.client_id, wire.secret_field: self.client_secret.reveal()}
        if wire.send == "headers":
            return TokenRequest(self.token_url, headers=creds)
        return TokenRequest(self.token_url, json=creds)

    def refresh_request(self, refresh_token: Secret) -> Optional[TokenRequest]:
        """The refresh-grant request, or None when the vendor has no refresh grant."""
        wire = self.wire
        if wire.refresh_path is None or wire.refresh_request_field is None:
            return None
        body = {wire.refresh_request_field: refresh_token.reveal()}
        return TokenRequest(self.base_url + wire.refresh_path, json=body)

    def parse(self, data: Any, now: float, server_now: Optional[float] = None) -> Token:
        """A :class:`Token` from a decoded 2xx body; raise ``ValueError`` naming the field.

        ``server_now`` is the server's clock from the response's ``Date`` header, given when
        it differs from ours (see :data:`SKEW_TOLERANCE`).
        """
        return parse_token(data, self.wire, now, server_now)

    def token_from_response(
        self,
        data: Any,
        now: float,
        server_now: Optional[float] = None,
        *,
        url: Optional[str] = None,
        scrub: Iterable[str] = (),
    ) -> Token:
        """A token from a decoded 2xx body, or :class:`TokenResponseError` — never anything
        else, whatever JSON value ``data`` is."""
        if server_now is not None and abs(server_now - now) <= SKEW_TOLERANCE:
            server_now = None  # the clocks agree: our own clock is the more precise one
        url = shown(url or self.token_url)
        try:
            return self.parse(data, now, server_now)
        except ValueError as exc:
            text = redact(str(exc), [*self.sensitive(), *scrub])
        # raised outside the except block: no __context__ leads back to the response body
        raise TokenResponseError(
            f"{self.vendor}: token endpoint {url} answered 2xx but {text}",
            vendor=self.vendor,
            url=url,
        )

    def credential_key(self) -> str:
        """The store key: vendor, token URL, client id, a digest of the secret, and a digest
        of :meth:`key_params` when there are any. Never contains the secret."""
        digest = hashlib.sha256(self.client_secret.reveal().encode()).hexdigest()[:32]
        key = f"{self.vendor}|{self.token_url}|{self.client_id}|{digest}"
        params = self.key_params()
        if params:
            grant = json.dumps(sorted(params.items())).encode()
            key += "|" + hashlib.sha256(grant).hexdigest()[:16]
        return key

    def basic_credentials(self) -> str:
        """``base64(client_id:client_secret)``, each part percent-encoded (RFC 6749 2.3.1)."""
        pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret.reveal(), safe='')}"
        return base64.b64encode(pair.encode()).decode()

    def sensitive(self) -> List[str]:
        """Strings that must never appear in a message: the secret, and the Basic form of the
        credentials (form-encoded forms are covered by :func:`redact` itself)."""
        raw = f"{self.client_id}:{self.client_secret.reveal()}".encode()
        return [
            self.client_secret.reveal(),
            self.basic_credentials(),
            base64.b64encode(raw).decode(),
        ]
