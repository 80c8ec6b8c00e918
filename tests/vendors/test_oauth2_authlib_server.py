"""JWT client assertions against a server nobody here wrote: Authlib's RFC 6749 authorization
server (client credentials grant, its RFC 7523 client authentication, joserfc underneath) on
https with a throwaway CA, reached through RFC 8414 discovery or a token URL. The client signs
with PyJWT; Authlib checks the signature, ``iss``/``sub``, ``aud`` against the audiences it is
given, ``exp`` and every ``jti`` once. Requests are counted at the server."""

from __future__ import annotations

import hmac
import json
import secrets
import ssl
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple
from urllib.parse import parse_qsl

import pytest

pytest.importorskip("jwt", reason="the [jwt] extra (PyJWT) is not installed")
pytest.importorskip("authlib", reason="Authlib's server is the counterpart here")

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import OctKey, RSAKey
from requests.structures import CaseInsensitiveDict

import auth_sessions
from auth_sessions import InvalidCredentials

from .._net import Pki

METHODS = ["private_key_jwt", "client_secret_jwt", "client_secret_basic", "client_secret_post"]


class _Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, method: str, secret: str, public_pem: bytes) -> None:
        self.client_id, self.method = "authlib-client", method
        self.secret, self.public_pem = secret, public_pem

    def get_client_id(self) -> str:
        return str(self.client_id)

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret, self.secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.method and endpoint == "token"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""


class _Assertion(JWTBearerClientAssertion):  # type: ignore[misc]
    """Authlib's RFC 7523 client authentication, as a deployment configures it."""

    def __init__(self, method: str, audiences: List[str], jtis: Set[str]) -> None:
        super().__init__()
        self.CLIENT_AUTH_METHOD, self.audiences, self.jtis = method, audiences, jtis

    def get_audiences(self) -> List[str]:
        return self.audiences

    def validate_jti(self, claims: Dict[str, Any], jti: str) -> bool:
        if jti in self.jtis:
            return False
        self.jtis.add(jti)
        return True

    def resolve_client_public_key(self, client: _Client) -> Any:
        if self.CLIENT_AUTH_METHOD == "client_secret_jwt":
            return OctKey.import_key(client.secret.encode())
        return RSAKey.import_key(client.public_pem)


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, client: _Client, audiences: List[str]) -> None:
        super().__init__()
        self.client = client
        self.tokens: Set[str] = set()
        self.jtis: Set[str] = set()
        self.outcomes: Counter[Tuple[int, str]] = Counter()
        # The grant accepts the client's one method (Authlib's assertion check raises rather
        # than passing on to the next method, so a deployment lists one per client).
        grant = {"TOKEN_ENDPOINT_AUTH_METHODS": [client.method]}
        self.register_grant(type("Grant", (ClientCredentialsGrant,), grant))
        self.register_token_generator("default", self._token)
        for method in METHODS[:2]:
            self.register_client_auth_method(method, _Assertion(method, audiences, self.jtis))

    def _token(self, **_: Any) -> Dict[str, Any]:
        return {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 3600,
        }

    def query_client(self, client_id: str) -> Optional[_Client]:
        return self.client if client_id == self.client.client_id else None

    def save_token(self, token: Dict[str, Any], request: Any) -> None:
        self.tokens.add(token["access_token"])

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Tuple[int, Any, Any]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class _Form(OAuth2Request):  # type: ignore[misc]
    def __init__(self, uri: str, headers: Any, form: Dict[str, str]) -> None:
        super().__init__("POST", uri, headers=CaseInsensitiveDict(headers))
        self._form, self.payload = form, BasicOAuth2Payload(form)

    @property
    def form(self) -> Dict[str, str]:
        return self._form


@pytest.fixture
def authlib_server(pki: Pki, clean_net_env: None) -> Iterator[Any]:
    """Authlib's authorization server on https (pki's CA), set up per test through
    ``setup(method)``; its metadata at the RFC 8414 address, a resource at ``/things``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    secret = secrets.token_urlsafe(32)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    holder: Dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any, headers: Any = ()) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            server: _Server = holder["server"]
            if self.path == "/.well-known/oauth-authorization-server":
                holder["metadata_requests"] += 1
                return self._answer(200, holder["metadata"])
            token = (self.headers.get("Authorization") or "").partition("Bearer ")[2]
            self._answer(200 if token in server.tokens else 401, {"path": self.path})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            server: _Server = holder["server"]
            request = _Form(holder["issuer"] + self.path, dict(self.headers), form)
            status, body, headers = server.create_token_response(request)
            server.outcomes[(status, body.get("error", "ok"))] += 1
            self._answer(status, body, headers)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*pki.server)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    issuer = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def setup(method: str, audiences: Optional[List[str]] = None) -> _Server:
        holder.update(issuer=issuer, metadata_requests=0)
        holder["metadata"] = {
            "issuer": issuer,
            "token_endpoint": f"{issuer}/token",
            "token_endpoint_auth_methods_supported": [method],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "HS256"],
        }
        holder["server"] = _Server(_Client(method, secret, public), audiences or [issuer])
        return holder["server"]

    options = {"client_id": "authlib-client", "base_url": issuer, "verify": pki.ca}
    yield setup, key, secret, issuer, options, holder
    httpd.shutdown()
    httpd.server_close()


def _session(options: Dict[str, Any], **more: Any) -> Any:
    verify = options["verify"]
    session = auth_sessions.for_vendor(
        "oauth2", **{k: v for k, v in options.items() if k != "verify"}, **more
    )
    session.verify = verify
    return session


def test_private_key_jwt_found_by_discovery_and_accepted_by_authlib(authlib_server: Any) -> None:
    setup, key, _, issuer, options, holder = authlib_server
    server = setup("private_key_jwt")
    session = _session(options, issuer=issuer, client_secret=None, private_key=key, key_id="k1")
    assert session.get("/things").status_code == 200
    server.tokens.clear()  # revoked: the 401 makes the client fetch again, a new assertion
    assert session.get("/things").status_code == 200
    assert server.outcomes == {(200, "ok"): 2}  # Authlib saw two jti, each once
    assert len(server.jtis) == 2 and holder["metadata_requests"] == 1


def test_client_secret_jwt_with_a_token_url(authlib_server: Any) -> None:
    setup, _, secret, issuer, options, _ = authlib_server
    server = setup("client_secret_jwt", audiences=[f"{issuer}/token"])  # aud: the token URL
    session = _session(
        options, token_url=f"{issuer}/token", client_secret=secret, client_auth="client_secret_jwt"
    )
    assert session.get("/things").status_code == 200
    assert server.outcomes == {(200, "ok"): 1}


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_secret_methods_chosen_from_authlibs_metadata(authlib_server: Any, method: str) -> None:
    setup, _, secret, issuer, options, _ = authlib_server
    server = setup(method)
    session = _session(options, issuer=issuer, client_secret=secret)  # client_auth: from metadata
    assert session.get("/things").status_code == 200
    assert server.outcomes == {(200, "ok"): 1}


def test_a_key_authlib_does_not_know_is_refused_once(authlib_server: Any) -> None:
    setup, _, _, issuer, options, _ = authlib_server
    server = setup("private_key_jwt")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    session = _session(options, issuer=issuer, client_secret=None, private_key=stranger)
    for _ in range(3):
        with pytest.raises(InvalidCredentials) as caught:
            session.get("/things")
        assert "invalid_client" in str(caught.value)
    assert server.outcomes == {(400, "invalid_client"): 1}  # then failure memory, no resend
