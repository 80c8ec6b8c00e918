"""``VendorModel``: the fake vendors without sockets — state, token issuing, validation.

Each vendor's quirks come from its :class:`~._vendors.VendorSpec` (data); this module names
no vendor and imports nothing of the client it is used to test. :meth:`VendorModel.handle`
turns an :class:`Incoming` request into a :class:`Reply`; ``_http`` serves it on loopback.

Thread-safe: one lock guards the state; controls may be called while requests are handled,
and a fault that waits (``delay``, ``hold``) waits outside the lock.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

from ._vendors import SPECS, Incoming, Issued, Reject, VendorSpec
from .faults import Fault, FaultContext, Reply, make_fault

_RFC8414 = "/.well-known/oauth-authorization-server"
CLIENT_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt",
                  "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth")  # fmt: skip
SIGNING_ALGS = ("RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512")

__all__ = ["Counters", "Incoming", "Reply", "VendorModel"]

LOG_SIZE = 10_000
"""The API and token logs keep the latest this many entries (long soaks stay small)."""


@dataclass
class Counters:
    """Server-side counts for one vendor (a snapshot; read with :meth:`VendorModel.counts`)."""

    token_requests: int = 0
    token_rejected: int = 0
    refreshes: int = 0
    refresh_reuse: int = 0
    api_calls: int = 0
    unauthorized: int = 0
    expired_presented: int = 0
    authorization_seen: int = 0
    metadata_requests: int = 0
    dpop_nonce_challenges: int = 0
    dpop_rejected: int = 0


def _log() -> Deque[Any]:
    return deque(maxlen=LOG_SIZE)


@dataclass
class _Vendor:
    spec: VendorSpec
    client_id: str
    client_secret: str
    lifetime: float
    refresh_lifetime: float
    unit: str
    tokens: Dict[str, float] = field(default_factory=dict)
    refresh: Dict[str, Tuple[float, bool]] = field(default_factory=dict)
    faults: Deque[Fault] = field(default_factory=deque)
    api_failures: Deque[Tuple[int, Optional[str]]] = field(default_factory=deque)
    counters: Counters = field(default_factory=Counters)
    api_log: Deque[Tuple[str, str, Optional[str], str]] = field(default_factory=_log)
    token_log: Deque[str] = field(default_factory=_log)
    token_times: Deque[float] = field(default_factory=_log)
    api_times: Deque[float] = field(default_factory=_log)
    api_ports: Deque[int] = field(default_factory=_log)
    fail_every: Optional[Tuple[int, int]] = None
    seen_ids: Set[str] = field(default_factory=set)
    grant: Optional[Callable[[str], str]] = None
    scopes: Dict[str, str] = field(default_factory=dict)
    client_keys: List[Any] = field(default_factory=list)  # for private_key_jwt
    metadata: Dict[str, Any] = field(default_factory=dict)  # overrides of the document
    metadata_at: Tuple[str, ...] = ("rfc8414", "oidc")  # where the document is published
    jtis: Set[str] = field(default_factory=set)  # client assertion ids seen
    assertions: Deque[Dict[str, Any]] = field(default_factory=_log)  # their claims
    dpop_nonces: Dict[str, Optional[str]] = field(default_factory=dict)  # "token"/"api"
    bound: Dict[str, str] = field(default_factory=dict)  # DPoP token -> its key's jkt
    proof_jtis: Set[str] = field(default_factory=set)


class _Challenge(Exception):
    """A DPoP nonce challenge: the reply to send."""

    def __init__(self, reply: Reply) -> None:
        super().__init__()
        self.reply = reply


class VendorModel:
    """Every fake vendor's token endpoint and protected API, as a state machine.

    Token endpoints validate requests as their vendor's spec says (method, path, content
    type, exact body keys, header credentials, no Authorization) and answer the spec's
    shapes. Any other path under a vendor's prefix is a protected API that accepts only live
    Bearer tokens of that vendor and echoes what it received (method, path, body digest).

    Args:
        clock: epoch-seconds clock used for token expiry (share one with the auth objects
            under test to move time without sleeping).
        token_lifetime: seconds an access token lives (per vendor: :meth:`set_lifetime`).
        refresh_lifetime: seconds a refresh token lives.

    Example:
        >>> from auth_sessions.testing import Incoming, VendorModel
        >>> model = VendorModel()
        >>> import json
        >>> client_id, secret = model.credentials("sohar")
        >>> body = json.dumps({"client_id": client_id, "client_secret": secret}).encode()
        >>> request = Incoming("POST", "application/json", {}, body, "/sohar/oauth/token")
        >>> reply = model.handle(request)
        >>> reply.status, reply.payload()["token_type"]
        (200, 'Bearer')
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        token_lifetime: float = 3600.0,
        refresh_lifetime: float = 86400.0,
    ) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._vendors: Dict[str, _Vendor] = {
            name: _Vendor(
                spec,
                client_id=f"{name}-client",
                client_secret=f"{name}-secret-{secrets.token_hex(8)}",
                lifetime=token_lifetime,
                refresh_lifetime=refresh_lifetime,
                unit=spec.expiry_units[0],
            )
            for name, spec in SPECS.items()
        }
        self._routes = sorted(self._vendors.values(), key=lambda s: -len(s.spec.prefix))
        self._issued: Set[str] = set()
        self.skew = 0.0
        self.send_date = True

    # ------------------------------------------------------------------ what it serves

    def vendors(self) -> List[str]:
        """The vendor names this fake serves."""
        return list(self._vendors)

    def spec(self, vendor: str) -> VendorSpec:
        """How ``vendor`` is described: its prefix, paths and quirks."""
        return self._vendor(vendor).spec

    def credentials(self, vendor: str) -> Tuple[str, str]:
        """The (client_id, client_secret) the fake accepts for ``vendor``."""
        state = self._vendor(vendor)
        return state.client_id, state.client_secret

    # ------------------------------------------------------------------ controls

    def set_metadata(
        self, vendor: str, *, at: Tuple[str, ...] = ("rfc8414", "oidc"), **fields: Any
    ) -> None:
        """Change ``vendor``'s metadata document: ``fields`` replace its members (None
        removes one; ``issuer="https://other"`` makes it lie), ``at`` says which addresses
        publish it (``"rfc8414"``, ``"oidc"``; the others answer 404)."""
        with self._lock:
            state = self._vendor(vendor)
            state.metadata, state.metadata_at = dict(fields), tuple(at)

    def require_dpop_nonce(
        self, vendor: str, *, token: Optional[str] = None, api: Optional[str] = None
    ) -> None:
        """Require DPoP proofs to carry ``token`` (at the token endpoint) and ``api`` (at
        the API) as their nonce; a proof without it gets a ``use_dpop_nonce`` challenge
        with the nonce. None: no nonce required there. Call again to rotate them."""
        with self._lock:
            self._vendor(vendor).dpop_nonces = {"token": token, "api": api}

    def assertions(self, vendor: str) -> List[Dict[str, Any]]:
        """The claims of the client assertions ``vendor`` accepted, oldest first."""
        with self._lock:
            return [dict(claims) for claims in self._vendor(vendor).assertions]

    def register_client_key(self, vendor: str, key: Any) -> None:
        """Accept ``private_key_jwt`` assertions signed by ``key``'s private half (a PEM
        public key, or a ``cryptography`` key object, private or public)."""
        from ._assertions import public_key

        with self._lock:
            self._vendor(vendor).client_keys.append(public_key(key))

    def set_lifetime(
        self, vendor: str, seconds: float, refresh_seconds: Optional[float] = None
    ) -> None:
        """Lifetime of tokens issued from now on (and of refresh tokens)."""
        with self._lock:
            state = self._vendor(vendor)
            state.lifetime = seconds
            if refresh_seconds is not None:
                state.refresh_lifetime = refresh_seconds

    def set_expiry_unit(self, vendor: str, unit: str) -> None:
        """How ``vendor`` writes absolute expiries, for vendors that write them in more than
        one unit (``spec(vendor).expiry_units``, the first being the default)."""
        with self._lock:
            state = self._vendor(vendor)
            if unit not in state.spec.expiry_units:
                units = ", ".join(state.spec.expiry_units)
                raise ValueError(f"{state.spec.name} writes expiries in {units}, not {unit!r}")
            state.unit = unit

    def set_server_clock(self, skew: float = 0.0, *, send_date: bool = True) -> None:
        """Make the fake's own clock ``skew`` seconds off: its ``Date`` header and the
        absolute expiries it writes move; the tokens' real lives do not.
        ``send_date=False`` leaves the ``Date`` header out."""
        with self._lock:
            self.skew = float(skew)
            self.send_date = send_date

    def revoke_tokens(self, vendor: Optional[str] = None) -> None:
        """Forget every access token issued (for ``vendor``, or all): they now get 401."""
        with self._lock:
            for state in self._select(vendor):
                state.tokens.clear()

    def revoke_refresh_tokens(self, vendor: Optional[str] = None) -> None:
        """Forget every refresh token issued (for ``vendor``, or all): refresh grants get 401."""
        with self._lock:
            for state in self._select(vendor):
                state.refresh.clear()

    def grant_scope(self, vendor: str, rule: Optional[Callable[[str], str]]) -> None:
        """Answer token requests with a ``scope`` field: ``rule(asked scope)`` (narrow or
        widen it, as RFC 6749 section 3.3 lets a server). None: no scope field."""
        with self._lock:
            self._vendor(vendor).grant = rule

    def fail_api_calls(
        self, vendor: str, count: int = 1, *, status: int = 401, retry_after: Optional[str] = None
    ) -> None:
        """Answer the next ``count`` API calls to ``vendor`` with ``status``, token or not
        (with the vendor's own delay header when ``retry_after`` is given)."""
        with self._lock:
            self._vendor(vendor).api_failures.extend([(status, retry_after)] * count)

    def fail_first_attempts(self, vendor: str, every: int, *, status: int = 401) -> None:
        """Answer ``status`` to every ``every``-th distinct request, on its first attempt only.

        Requests are told apart by their ``X-Request-Id`` header; a replay of a failed request
        (same id) is served normally. ``every=0`` switches it off.
        """
        with self._lock:
            state = self._vendor(vendor)
            state.fail_every = (every, status) if every else None
            state.seen_ids.clear()

    def inject_token_fault(self, vendor: str, kind: str, *, count: int = 1, **options: Any) -> None:
        """Make the next ``count`` token (or refresh) requests to ``vendor`` misbehave.

        ``kind`` is one of :data:`~auth_sessions.testing.FAULTS`; ``options`` are the
        fault's own: ``status``, ``retry_after`` and ``body`` for ``"status"``; ``body`` for
        ``"body"``; ``delay`` for ``"delay"``; ``gate`` and ``arrived`` (threading.Events)
        for ``"hold"``, which answers only once the test sets ``gate``.
        """
        faults = [make_fault(kind, **options) for _ in range(count)]
        with self._lock:
            self._vendor(vendor).faults.extend(faults)

    # ------------------------------------------------------------------ what it saw

    def counts(self, vendor: str) -> Counters:
        """A snapshot of ``vendor``'s server-side counters."""
        with self._lock:
            return Counters(**vars(self._vendor(vendor).counters))

    def api_log(self, vendor: str) -> List[Tuple[str, str, Optional[str], str]]:
        """(method, path, Authorization header or None, body sha256) of each API call."""
        with self._lock:
            return list(self._vendor(vendor).api_log)

    def token_log(self, vendor: str) -> List[str]:
        """The request path (with any query string) of each token or refresh request."""
        with self._lock:
            return list(self._vendor(vendor).token_log)

    def token_times(self, vendor: str) -> List[float]:
        """When each token or refresh request arrived (``time.monotonic()``)."""
        with self._lock:
            return list(self._vendor(vendor).token_times)

    def api_times(self, vendor: str) -> List[float]:
        """When each API call arrived (``time.monotonic()``)."""
        with self._lock:
            return list(self._vendor(vendor).api_times)

    def api_ports(self, vendor: str) -> List[int]:
        """The client source port of each API call: which connection carried it."""
        with self._lock:
            return list(self._vendor(vendor).api_ports)

    def issued_secrets(self) -> Set[str]:
        """Every client secret, access token and refresh token this fake knows (leak scans)."""
        with self._lock:
            found: Set[str] = set()
            for state in self._vendors.values():
                found.add(state.client_secret)
                found.update(state.tokens)
                found.update(state.refresh)
            return found | self._issued

    def reset_counts(self) -> None:
        """Zero every counter and clear the logs."""
        with self._lock:
            for state in self._vendors.values():
                state.counters = Counters()
        self.clear_logs()

    def clear_logs(self) -> None:
        """Forget the API and token logs (counters stay), e.g. during a long benchmark."""
        with self._lock:
            for state in self._vendors.values():
                logs = (state.api_log, state.token_log, state.api_times, state.token_times)
                for log in (*logs, state.api_ports):
                    log.clear()

    # ------------------------------------------------------------------ answering

    def date_header(self) -> Optional[str]:
        """The ``Date`` header the fake sends now (from its possibly skewed clock), or None."""
        if not self.send_date:
            return None
        return email.utils.formatdate(self.clock() + self.skew, usegmt=True)

    def handle(self, req: Incoming) -> Reply:
        """Answer one request: a token or refresh grant, a redirect, or a protected API call."""
        parts = urlsplit(req.path)
        if parts.path == "/_stats":  # every vendor's counters, for a test in another process
            with self._lock:
                stats = {name: asdict(s.counters) for name, s in self._vendors.items()}
            return Reply.json(200, stats)
        if parts.path.startswith(_RFC8414):  # the path-inserted metadata address
            state, sub = self._route(parts.path[len(_RFC8414) :])
            return self._metadata(state, req, "rfc8414" if sub == "/" else "")
        state, sub = self._route(parts.path)
        if state is None:
            return Reply.json(404, {"message": "no such vendor"})
        spec = state.spec
        if sub == "/redirect":
            query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
            return Reply.json(
                302, {"message": "moved"}, {"Location": unquote(query.get("to", "/"))}
            )
        if sub == "/.well-known/openid-configuration":
            return self._metadata(state, req, "oidc")
        if sub == spec.token_path or (spec.refresh is not None and sub == spec.refresh.path):
            if req.method != "POST":
                return Reply.json(405, spec.error_body(405, "method not allowed"))
            return self._token(state, sub != spec.token_path, req)
        return self._api(state, req, sub)

    def _vendor(self, name: str) -> _Vendor:
        try:
            return self._vendors[name.lower()]
        except KeyError:
            raise ValueError(
                f"unknown fake vendor {name!r}; one of {', '.join(self._vendors)}"
            ) from None

    def _select(self, vendor: Optional[str]) -> List[_Vendor]:
        return [self._vendor(vendor)] if vendor else list(self._vendors.values())

    def _route(self, path: str) -> Tuple[Optional[_Vendor], str]:
        for state in self._routes:
            prefix = state.spec.prefix
            if path == prefix or path.startswith(prefix + "/"):
                return state, path[len(prefix) :] or "/"
        return None, path

    def _token(self, state: _Vendor, refreshing: bool, req: Incoming) -> Reply:
        with self._lock:
            state.token_log.append(req.path)
            state.token_times.append(time.monotonic())
            if refreshing:
                state.counters.refreshes += 1
            else:
                state.counters.token_requests += 1
            fault = state.faults.popleft() if state.faults else None
            if fault is not None:
                fault.arrive()
        if fault is not None:
            reply = fault.respond(
                FaultContext(state.spec, lambda: self._good(state), self._stopping)
            )
            if reply is not None:
                return reply
        with self._lock:
            try:
                jkt = self._token_proof(state, req)
                if refreshing:
                    self._check_refresh(state, req)
                else:
                    self._check_credentials(state, req)
            except _Challenge as challenge:
                state.counters.dpop_nonce_challenges += 1
                return challenge.reply
            except Reject as rejected:
                state.counters.token_rejected += 1
                return Reply.json(rejected.status, rejected.body)
            asked = " ".join(parse_qs(req.body.decode("utf-8", "replace")).get("scope", []))
            body = self._issue(state, asked)
            if jkt is not None:  # bound to the proof's key (RFC 9449 section 5)
                body["token_type"] = "DPoP"
                state.bound[str(body.get("access_token"))] = jkt
            return Reply.json(200, body)

    def _token_proof(self, state: _Vendor, req: Incoming) -> Optional[str]:
        """The jkt of a token request's DPoP proof (None without one); a bad proof is a
        400 ``invalid_dpop_proof``, a missing nonce a ``use_dpop_nonce`` challenge."""
        proof = {k.lower(): v for k, v in req.headers.items()}.get("dpop")
        if proof is None or not state.spec.client_methods:
            return None
        from ._assertions import NonceMissing, check_proof

        nonce = state.dpop_nonces.get("token")
        url = self._issuer(state, req) + urlsplit(req.path).path[len(state.spec.prefix) :]
        try:
            return check_proof(proof, method="POST", url=url, seen=state.proof_jtis, nonce=nonce)
        except NonceMissing:
            body = {"error": "use_dpop_nonce", "error_description": "use the DPoP-Nonce"}
            raise _Challenge(Reply.json(400, body, {"DPoP-Nonce": str(nonce)})) from None
        except ValueError as exc:
            state.counters.dpop_rejected += 1
            raise Reject(
                400, {"error": "invalid_dpop_proof", "error_description": str(exc)}
            ) from None

    def _api_proof(self, state: _Vendor, req: Incoming, scheme: str, token: str) -> Optional[Reply]:
        """None when a DPoP-bound token came with a good proof (or the token is not bound);
        else the 401 to answer."""
        jkt = state.bound.get(token)
        if jkt is None and scheme == "Bearer":
            return None
        lower = {k.lower(): v for k, v in req.headers.items()}
        proof, nonce = lower.get("dpop"), state.dpop_nonces.get("api")
        problem = "a DPoP-bound token needs the DPoP scheme and a proof"
        if jkt is not None and scheme == "DPoP" and proof is not None:
            from ._assertions import NonceMissing, check_proof

            url = f"{req.scheme}://{lower.get('host', '')}{urlsplit(req.path).path}"
            try:
                check_proof(proof, method=req.method, url=url, seen=state.proof_jtis,
                            nonce=nonce, token=token, jkt=jkt)  # fmt: skip
                return None
            except NonceMissing:
                state.counters.dpop_nonce_challenges += 1
                challenge = 'DPoP error="use_dpop_nonce", error_description="use the nonce"'
                headers = {"WWW-Authenticate": challenge, "DPoP-Nonce": str(nonce)}
                return Reply.json(401, {"error": "use_dpop_nonce"}, headers)
            except ValueError as exc:
                problem = str(exc)
        state.counters.dpop_rejected += 1
        headers = {
            "WWW-Authenticate": f'DPoP error="invalid_dpop_proof", error_description="{problem}"'
        }
        return Reply.json(401, {"error": "invalid_dpop_proof", "detail": problem}, headers)

    def _good(self, state: _Vendor) -> Dict[str, Any]:
        with self._lock:
            return self._issue(state, "")

    def _issue(self, state: _Vendor, asked: str) -> Dict[str, Any]:
        spec, now = state.spec, self.clock()
        token = f"{spec.name}-at-{secrets.token_urlsafe(18)}"
        expires = now + state.lifetime
        state.tokens[token] = expires
        self._issued.add(token)
        refresh = refresh_expires = None
        if spec.refresh is not None:
            refresh = f"{spec.name}-rt-{secrets.token_urlsafe(18)}"
            refresh_expires = now + state.refresh_lifetime
            state.refresh[refresh] = (refresh_expires, False)
            self._issued.add(refresh)
            refresh_expires += self.skew
        skew = self.skew
        issued = Issued(token, now + skew, expires + skew, refresh, refresh_expires, state.unit)
        body = spec.token_body(issued)
        if state.grant is not None:
            body["scope"] = state.scopes[token] = state.grant(asked)
        return body

    def _check_credentials(self, state: _Vendor, req: Incoming) -> None:
        spec = state.spec
        if spec.client_methods:
            self._method_listed(state, req)
            if self._other_method(state, req):
                return
        if spec.credentials(req) != (state.client_id, state.client_secret):
            raise Reject(401, spec.error_body(401, "invalid client credentials"))

    def _metadata(self, state: Optional[_Vendor], req: Incoming, where: str) -> Reply:
        """The authorization server metadata of a vendor that has it (RFC 8414 / OIDC)."""
        if state is None or not state.spec.client_methods:
            return Reply.json(404, {"message": "no metadata here"})
        with self._lock:
            state.counters.metadata_requests += 1
            if where not in state.metadata_at:
                return Reply.json(404, {"error": "not_found"})
            issuer = self._issuer(state, req)
            document: Dict[str, Any] = {
                "issuer": issuer,
                "token_endpoint": issuer + state.spec.token_path,
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": list(CLIENT_METHODS),
                "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
            }
            for name, value in state.metadata.items():
                if value is None:
                    document.pop(name, None)
                else:
                    document[name] = value
        return Reply.json(200, document)

    @staticmethod
    def _issuer(state: _Vendor, req: Incoming) -> str:
        host = {k.lower(): v for k, v in req.headers.items()}.get("host", "")
        return f"{req.scheme}://{host}{state.spec.prefix}"

    def _method_listed(self, state: _Vendor, req: Incoming) -> None:
        """Refuse a client authentication method the metadata does not list."""
        listed = state.metadata.get("token_endpoint_auth_methods_supported")
        if listed is None:
            return
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        headers = {k.lower(): v for k, v in req.headers.items()}
        if "client_assertion" in form:
            used = "client_assertion"  # either JWT method: the signature check tells them apart
            allowed = {"client_secret_jwt", "private_key_jwt"} & set(listed)
        else:
            used = (
                "client_secret_basic"
                if headers.get("authorization", "").startswith("Basic ")
                else "client_secret_post"
                if "client_secret" in form
                else "tls_client_auth"
            )
            allowed = {used} & set(listed)
            if used == "tls_client_auth":
                allowed = {"tls_client_auth", "self_signed_tls_client_auth"} & set(listed)
        if not allowed:
            raise Reject(401, state.spec.error_body(401, f"{used} is not allowed here"))

    def _other_method(self, state: _Vendor, req: Incoming) -> bool:
        """True when a client assertion or a TLS client certificate authenticated ``req``
        (RFC 7523, RFC 8705); raises :class:`Reject` when one was tried and failed."""
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        if "client_assertion" in form or "client_assertion_type" in form:
            from ._assertions import check_assertion

            host = {k.lower(): v for k, v in req.headers.items()}.get("host", "")
            check_assertion(
                form,
                client_id=state.client_id,
                secret=state.client_secret,
                keys=state.client_keys,
                audiences={
                    f"{req.scheme}://{host}{urlsplit(req.path).path}",
                    self._issuer(state, req),
                },
                seen=state.jtis,
                log=state.assertions,
            )
            return True
        authorization = any(k.lower() == "authorization" for k in req.headers)
        if "client_secret" in form or authorization or not req.peer_cert:
            return False
        if form.get("client_id") != [state.client_id]:
            raise Reject(401, state.spec.error_body(401, "unknown client_id"))
        return True  # the TLS layer verified the certificate against client_ca

    def _check_refresh(self, state: _Vendor, req: Incoming) -> None:
        spec = state.spec
        assert spec.refresh is not None
        name = spec.refresh.field
        try:
            data = json.loads(req.body.decode("utf-8")) if req.body else None
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict) or set(data) != {name} or not isinstance(data[name], str):
            raise Reject(400, spec.error_body(400, f"body must be {{{name}}}"))
        known = state.refresh.get(data[name])
        if known is None:
            raise Reject(401, spec.error_body(401, "Invalid refresh token"))
        expires, used = known
        if used:
            state.counters.refresh_reuse += 1
            raise Reject(401, spec.error_body(401, "Refresh token already used"))
        if self.clock() >= expires:
            raise Reject(401, spec.error_body(401, "Refresh token expired"))
        state.refresh[data[name]] = (expires, True)

    def _api(self, state: _Vendor, req: Incoming, path: str) -> Reply:
        spec = state.spec
        lower = {k.lower(): v for k, v in req.headers.items()}
        header = lower.get("authorization")
        digest = hashlib.sha256(req.body).hexdigest()
        with self._lock:
            counters = state.counters
            counters.api_calls += 1
            state.api_log.append((req.method, path, header, digest))
            state.api_ports.append(req.port)
            state.api_times.append(time.monotonic())
            if header is not None:
                counters.authorization_seen += 1
            forced = state.api_failures.popleft() if state.api_failures else None
            request_id = lower.get("x-request-id")
            first_attempt = request_id is not None and request_id not in state.seen_ids
            if forced is None and state.fail_every and first_attempt:
                state.seen_ids.add(str(request_id))
                if len(state.seen_ids) % state.fail_every[0] == 0:
                    forced = (state.fail_every[1], None)
            if forced is not None:
                status, retry_after = forced
                if status == 401:
                    counters.unauthorized += 1
                headers = spec.retry_headers(status, retry_after)
                return Reply.json(status, spec.error_body(status, "forced failure"), headers)
            scheme, _, token = (header or "").partition(" ")
            token = token if scheme in ("Bearer", "DPoP") else ""
            expires = state.tokens.get(token) if token else None
            if expires is not None and (scheme == "DPoP" or token in state.bound):
                refused = self._api_proof(state, req, scheme, token)
                if refused is not None:
                    return refused
            now = self.clock()
            if expires is None or now >= expires:
                late: Dict[str, str] = {}
                if expires is not None:  # how late it came: X-Fake-Expired-By (seconds)
                    counters.expired_presented += 1
                    late["X-Fake-Expired-By"] = f"{now - expires:.3f}"
                counters.unauthorized += 1
                return Reply.json(401, spec.error_body(401, "Unauthorized"), late)
            for name, value in spec.api_headers.items():
                if lower.get(name.lower()) != value:
                    message = f"header {name}: {value} is required"
                    return Reply.json(400, spec.error_body(400, message))
        echo = {
            "vendor": spec.name,
            "method": req.method,
            "path": path,
            "body_sha256": digest,
            "body_length": len(req.body),
            "scope": state.scopes.get(token or ""),
        }
        return Reply.json(200, echo)
