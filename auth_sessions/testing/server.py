"""``FakeVendors``: all five vendors (and a generic OAuth2 provider) on one loopback server."""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import os
import secrets
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Set, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

from ..auth import TokenAuth
from ..sessions import VendorSession, for_vendor
from ..stores.memory import MemoryTokenStore
from ._vendors import SPECS, Incoming, Reject, VendorSpec

__all__ = ["FAULTS", "Counters", "FakeVendors"]

FAULTS = (
    "status",  # answer `status` with the vendor's error body (and Retry-After if given)
    "html",  # 200 with an HTML page
    "empty",  # 200 with no body
    "invalid_json",  # 200 with broken JSON
    "not_object",  # 200 with a JSON array
    "body",  # 200 with the JSON value given as `body`
    "missing_field",  # 200 with the token field left out
    "huge",  # 200 with a body over 1 MiB
    "delay",  # wait `delay` seconds, then answer normally
    "hold",  # wait until the test sets `gate` (a threading.Event), then answer normally
    "drop",  # close the connection without answering
    "drop_mid",  # send the headers and half a body, then close
)


LOG_SIZE = 10_000
"""The API and token logs keep the latest this many entries (long soaks stay small)."""


@dataclass
class Counters:
    """Server-side counts for one vendor (a snapshot; read with :meth:`FakeVendors.counts`)."""

    token_requests: int = 0
    token_rejected: int = 0
    refreshes: int = 0
    refresh_reuse: int = 0
    api_calls: int = 0
    unauthorized: int = 0
    expired_presented: int = 0
    authorization_seen: int = 0


@dataclass
class _Fault:
    kind: str
    status: int = 503
    retry_after: Optional[str] = None
    body: Any = None
    delay: float = 0.0
    gate: Optional[threading.Event] = None
    arrived: Optional[threading.Event] = None


@dataclass
class _Vendor:
    spec: VendorSpec
    client_id: str
    client_secret: str
    lifetime: float = 3600.0
    refresh_lifetime: float = 86400.0
    manis_millis: bool = True
    tokens: Dict[str, float] = field(default_factory=dict)
    refresh: Dict[str, Tuple[float, bool]] = field(default_factory=dict)
    faults: Deque[_Fault] = field(default_factory=deque)
    api_failures: Deque[Tuple[int, Optional[str]]] = field(default_factory=deque)
    counters: Counters = field(default_factory=Counters)
    api_log: Deque[Tuple[str, str, Optional[str], str]] = field(
        default_factory=lambda: deque(maxlen=LOG_SIZE)
    )
    token_log: Deque[str] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    token_times: Deque[float] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    fail_every: Optional[Tuple[int, int]] = None
    seen_ids: Set[str] = field(default_factory=set)
    grant: Optional[Callable[[str], str]] = None
    scopes: Dict[str, str] = field(default_factory=dict)


class FakeVendors:
    """Fake Sohar, Cair, Orum, Cobee, Manis and OAuth2 token endpoints and APIs on loopback.

    Each token endpoint validates requests as its vendor's spec says (method, path, content
    type, exact body keys, Manis headers, no Authorization) and answers the spec's shapes.
    Any other path under a vendor's base URL is a protected API that accepts only live
    Bearer tokens of that vendor and echoes what it received (method, path, body digest).

    Thread-safe: controls may be called from any thread while requests are served.

    Args:
        clock: epoch-seconds clock used for token expiry (share one with the auth objects
            under test to move time without sleeping).
        token_lifetime: seconds an access token lives (per vendor: :meth:`set_lifetime`).
        refresh_lifetime: seconds a Cair refresh token lives.
        tls: (certfile, keyfile) to serve https instead of http.
        client_ca: with ``tls``, require a client certificate signed by this CA file (mTLS).

    Example:
        >>> from auth_sessions.testing import FakeVendors
        >>> with FakeVendors() as fake:
        ...     session = fake.session("cobee")
        ...     session.get("/employees").status_code
        ...     fake.counts("cobee").token_requests
        200
        1
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        tls: Optional[Tuple[str, str]] = None,
        client_ca: Optional[str] = None,
        token_lifetime: float = 3600.0,
        refresh_lifetime: float = 86400.0,
    ) -> None:
        self.clock = clock
        self._tls = tls
        self._client_ca = client_ca
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._vendors: Dict[str, _Vendor] = {
            name: _Vendor(
                spec,
                client_id=f"{name}-client",
                client_secret=f"{name}-secret-{secrets.token_hex(8)}",
                lifetime=token_lifetime,
                refresh_lifetime=refresh_lifetime,
            )
            for name, spec in SPECS.items()
        }
        self.store = MemoryTokenStore(timer=clock)
        self._issued: Set[str] = set()
        self.skew = 0.0
        self.send_date = True
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, port: int = 0) -> FakeVendors:
        """Bind ``port`` (default: an ephemeral one) on 127.0.0.1; serve in a background thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", port), _Handler, self)
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._tls)
            if self._client_ca is not None:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(self._client_ca)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-vendors"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection and join every server thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeVendors:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeVendors(url={self.url if self._server else None!r})"

    # ------------------------------------------------------------------ addresses and helpers

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` when started with ``tls=``)."""
        if self._server is None:
            raise RuntimeError(
                "FakeVendors is not running: call start() or use it as a context manager"
            )
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def base_url(self, vendor: str) -> str:
        """The base URL to give ``vendor``'s session (Cobee's keeps ``/api/v3``)."""
        return self.url + self._vendor(vendor).spec.prefix

    def token_url(self, vendor: str) -> str:
        """The full token endpoint URL of ``vendor``."""
        return self.base_url(vendor) + self._vendor(vendor).spec.token_path

    def vendors(self) -> List[str]:
        """The vendor names this fake serves."""
        return list(self._vendors)

    def credentials(self, vendor: str) -> Tuple[str, str]:
        """The (client_id, client_secret) the fake accepts for ``vendor``."""
        state = self._vendor(vendor)
        return state.client_id, state.client_secret

    @contextlib.contextmanager
    def environ(self, *vendors: str) -> Iterator[Dict[str, str]]:
        """Set ``<VENDOR>_CLIENT_ID``, ``_CLIENT_SECRET`` and ``_BASE_URL`` to this fake for
        ``vendors`` (default: every vendor configured by env vars alone), restoring the
        previous values afterwards; yields what was set.

        Example:
            >>> import auth_sessions
            >>> with FakeVendors() as fake, fake.environ("cobee"):
            ...     auth_sessions.for_vendor("cobee").get("/employees").status_code
            200
        """
        names = vendors or self.env_vendors()
        exported = {k: v for name in names for k, v in self.env_vars(name).items()}
        saved = {name: os.environ.get(name) for name in exported}
        os.environ.update(exported)
        try:
            yield exported
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def env_vendors(self) -> Tuple[str, ...]:
        """The vendors a session can be built for from env vars alone."""
        return tuple(n for n, s in self._vendors.items() if not s.spec.token_url_option)

    def env_vars(self, vendor: str) -> Dict[str, str]:
        """``{"COBEE_CLIENT_ID": ..., "COBEE_CLIENT_SECRET": ..., "COBEE_BASE_URL": ...}``."""
        client_id, client_secret = self.credentials(vendor)
        prefix = self._vendor(vendor).spec.name.upper()
        return {
            f"{prefix}_CLIENT_ID": client_id,
            f"{prefix}_CLIENT_SECRET": client_secret,
            f"{prefix}_BASE_URL": self.base_url(vendor),
        }

    def session_kwargs(self, vendor: str, **overrides: Any) -> Dict[str, Any]:
        """Keyword arguments for :func:`auth_sessions.for_vendor` pointing at this fake."""
        client_id, client_secret = self.credentials(vendor)
        kwargs: Dict[str, Any] = {
            "client_id": client_id,
            "client_secret": client_secret,
            "base_url": self.base_url(vendor),
            "token_store": self.store,
        }
        if self._vendor(vendor).spec.token_url_option:
            kwargs["token_url"] = self.token_url(vendor)
        if self.clock is not time.time:
            kwargs["clock"] = self.clock
        kwargs.update(overrides)
        return kwargs

    def session(self, vendor: str, **overrides: Any) -> VendorSession:
        """A :class:`~auth_sessions.VendorSession` for ``vendor`` against this fake.

        Uses this fake's own token store (``fake.store``) unless ``token_store=`` is given.
        """
        return for_vendor(vendor, **self.session_kwargs(vendor, **overrides))

    def auth(self, vendor: str, **overrides: Any) -> TokenAuth:
        """The auth object of :meth:`session`, for ``requests.get(..., auth=...)``."""
        return self.session(vendor, **overrides).auth

    # ------------------------------------------------------------------ controls

    def set_lifetime(
        self, vendor: str, seconds: float, refresh_seconds: Optional[float] = None
    ) -> None:
        """Lifetime of tokens issued from now on (and of Cair refresh tokens)."""
        with self._lock:
            state = self._vendor(vendor)
            state.lifetime = seconds
            if refresh_seconds is not None:
                state.refresh_lifetime = refresh_seconds

    def set_manis_expiry_unit(self, unit: str) -> None:
        """``"ms"`` (default) or ``"s"``: how Manis writes ``expiresAt``."""
        with self._lock:
            self._vendor("manis").manis_millis = unit == "ms"

    def set_server_clock(self, skew: float = 0.0, *, send_date: bool = True) -> None:
        """Make the fake's own clock ``skew`` seconds off: its ``Date`` header and the
        absolute expiries it writes (Cair, Manis) move; the tokens' real lives do not.
        ``send_date=False`` leaves the ``Date`` header out."""
        with self._lock:
            self.skew = float(skew)
            self.send_date = send_date

    def revoke_tokens(self, vendor: Optional[str] = None) -> None:
        """Forget every access token issued (for ``vendor``, or all): they now get 401."""
        with self._lock:
            for state in self._select(vendor):
                state.tokens.clear()

    def revoke_refresh_tokens(self, vendor: str = "cair") -> None:
        """Forget every refresh token issued: refresh grants now get 401."""
        with self._lock:
            self._vendor(vendor).refresh.clear()

    def fail_api_calls(
        self, vendor: str, count: int = 1, *, status: int = 401, retry_after: Optional[str] = None
    ) -> None:
        """Answer the next ``count`` API calls to ``vendor`` with ``status``, token or not."""
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

    def token_times(self, vendor: str) -> List[float]:
        """When each token or refresh request arrived (``time.monotonic()``)."""
        with self._lock:
            return list(self._vendor(vendor).token_times)

    def token_log(self, vendor: str) -> List[str]:
        """The request path (with any query string) of each token or refresh request."""
        with self._lock:
            return list(self._vendor(vendor).token_log)

    def inject_token_fault(
        self,
        vendor: str,
        kind: str,
        *,
        count: int = 1,
        status: int = 503,
        retry_after: Optional[str] = None,
        body: Any = None,
        delay: float = 0.0,
        gate: Optional[threading.Event] = None,
        arrived: Optional[threading.Event] = None,
    ) -> None:
        """Make the next ``count`` token (or refresh) requests to ``vendor`` misbehave.

        ``kind`` is one of :data:`FAULTS`. For ``"status"``, ``body`` replaces the vendor's
        error body. For ``"hold"``, the answer waits until ``gate`` is set (or the fake
        stops): a window the test opens and closes itself, not a timing guess; ``arrived``,
        if given, is set when the held request has come in.
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        if kind == "hold" and gate is None:
            raise ValueError("a 'hold' fault needs gate=threading.Event()")
        with self._lock:
            fault = _Fault(kind, status, retry_after, body, delay, gate, arrived)
            self._vendor(vendor).faults.extend([fault] * count)

    def counts(self, vendor: str) -> Counters:
        """A snapshot of ``vendor``'s server-side counters."""
        with self._lock:
            return Counters(**vars(self._vendor(vendor).counters))

    def api_log(self, vendor: str) -> List[Tuple[str, str, Optional[str], str]]:
        """(method, path, Authorization header or None, body sha256) of each API call."""
        with self._lock:
            return list(self._vendor(vendor).api_log)

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
                state.api_log.clear()
                state.token_log.clear()

    # ------------------------------------------------------------------ request handling

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
        for state in sorted(self._vendors.values(), key=lambda s: -len(s.spec.prefix)):
            prefix = state.spec.prefix
            if path == prefix or path.startswith(prefix + "/"):
                return state, path[len(prefix) :] or "/"
        return None, path

    def grant_scope(self, vendor: str, rule: Optional[Callable[[str], str]]) -> None:
        """Answer token requests with a ``scope`` field: ``rule(asked scope)`` (narrow or
        widen it, as RFC 6749 section 3.3 lets a server). None: no scope field."""
        with self._lock:
            self._vendor(vendor).grant = rule

    def _issue(
        self, state: _Vendor, now: float, with_refresh: bool, asked: str = ""
    ) -> Dict[str, Any]:
        name = state.spec.name
        token = f"{name}-at-{secrets.token_urlsafe(18)}"
        expires = now + state.lifetime
        state.tokens[token] = expires
        refresh = refresh_expires = None
        if with_refresh:
            refresh = f"{name}-rt-{secrets.token_urlsafe(18)}"
            refresh_expires = now + state.refresh_lifetime
            state.refresh[refresh] = (refresh_expires, False)
        self._issued.add(token)
        if refresh:
            self._issued.add(refresh)
        skew = self.skew
        shifted = None if refresh_expires is None else refresh_expires + skew
        body = state.spec.token_body(token, now + skew, expires + skew, refresh, shifted)
        if name == "manis" and not state.manis_millis:
            body["expiresAt"] = int(expires + skew)
        if state.grant is not None:
            body["scope"] = state.scopes[token] = state.grant(asked)
        return body

    def handle_token(
        self, state: _Vendor, sub: str, req: Incoming
    ) -> Tuple[int, Dict[str, str], Any]:
        """Answer a token or refresh request: (status, headers, JSON body or a _Fault)."""
        spec = state.spec
        refreshing = spec.refresh_path is not None and sub == spec.refresh_path
        with self._lock:
            counters = state.counters
            state.token_log.append(req.path)
            state.token_times.append(time.monotonic())
            if refreshing:
                counters.refreshes += 1
            else:
                counters.token_requests += 1
            if state.faults:
                fault = state.faults.popleft()
                if fault.kind == "status":
                    headers = {spec.retry_header: fault.retry_after} if fault.retry_after else {}
                    body = fault.body
                    if body is None:
                        body = spec.error_body(fault.status, "injected fault")
                    return fault.status, headers, body
                if fault.kind not in ("delay", "hold"):
                    return 200, {}, fault
                delay, gate = fault.delay, fault.gate
                if fault.arrived is not None:
                    fault.arrived.set()
            else:
                delay, gate = 0.0, None
        if delay:
            self._stopping.wait(delay)
        while gate is not None and not gate.wait(0.05) and not self._stopping.is_set():
            pass  # held until the test opens the gate (checking for stop() meanwhile)
        with self._lock:
            now = self.clock()
            try:
                if refreshing:
                    self._check_refresh(state, req, now)
                else:
                    client_id, client_secret = spec.credentials(req)
                    if (client_id, client_secret) != (state.client_id, state.client_secret):
                        raise Reject(401, spec.error_body(401, "invalid client credentials"))
            except Reject as rejected:
                state.counters.token_rejected += 1
                return rejected.status, {}, rejected.body
            asked = " ".join(parse_qs(req.body.decode("utf-8", "replace")).get("scope", []))
            return 200, {}, self._issue(state, now, spec.refresh_path is not None, asked)

    def _check_refresh(self, state: _Vendor, req: Incoming, now: float) -> None:
        spec = state.spec
        data = json.loads(req.body.decode("utf-8") or "null") if req.body else None
        if (
            not isinstance(data, dict)
            or set(data) != {"refreshToken"}
            or not isinstance(data["refreshToken"], str)
        ):
            raise Reject(400, spec.error_body(400, "body must be {refreshToken}"))
        known = state.refresh.get(data["refreshToken"])
        if known is None:
            raise Reject(401, spec.error_body(401, "Invalid refresh token"))
        expires, used = known
        if used:
            state.counters.refresh_reuse += 1
            raise Reject(401, spec.error_body(401, "Refresh token already used"))
        if now >= expires:
            raise Reject(401, spec.error_body(401, "Refresh token expired"))
        state.refresh[data["refreshToken"]] = (expires, True)

    def handle_api(
        self, state: _Vendor, req: Incoming, path: str
    ) -> Tuple[int, Dict[str, str], Any]:
        """Answer a protected API call."""
        lower = {k.lower(): v for k, v in req.headers.items()}
        header = lower.get("authorization")
        digest = hashlib.sha256(req.body).hexdigest()
        with self._lock:
            counters = state.counters
            counters.api_calls += 1
            state.api_log.append((req.method, path, header, digest))
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
                headers = {"Retry-After": retry_after} if retry_after else {}
                return status, headers, state.spec.error_body(status, "forced failure")
            token = header[7:] if header and header.startswith("Bearer ") else None
            expires = state.tokens.get(token) if token else None
            if expires is None or self.clock() >= expires:
                if expires is not None:
                    counters.expired_presented += 1
                counters.unauthorized += 1
                return 401, {}, state.spec.error_body(401, "Unauthorized")
            for name, value in state.spec.api_headers.items():
                if lower.get(name.lower()) != value:
                    return (
                        400,
                        {},
                        state.spec.error_body(400, f"header {name}: {value} is required"),
                    )
        echo = {
            "vendor": state.spec.name,
            "method": req.method,
            "path": path,
            "body_sha256": digest,
            "body_length": len(req.body),
            "scope": state.scopes.get(token or ""),
        }
        return 200, {}, echo


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    request_queue_size = 128  # a burst of 64 threads must not be reset by a short backlog
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], handler: Any, fake: FakeVendors) -> None:
        self.fake = fake
        self._conns: Set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._conns_lock:
                self._conns.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections reset by clients or by :meth:`FakeVendors.stop` are not news."""

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_response(self, code: int, message: Optional[str] = None) -> None:
        """As the stdlib does, but ``Date`` comes from the fake's (possibly skewed) clock."""
        fake = self.server.fake
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())
        if fake.send_date:
            self.send_header("Date", email.utils.formatdate(fake.clock() + fake.skew, usegmt=True))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: List[bytes] = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        fake = self.server.fake
        body = self._read_body()
        req = Incoming(
            method=self.command,
            content_type=self.headers.get("Content-Type", ""),
            headers=dict(self.headers.items()),
            body=body,
            path=self.path,
        )
        parts = urlsplit(self.path)
        state, sub = fake._route(parts.path)
        if state is None:
            self._send(404, {}, {"message": "no such vendor"})
            return
        spec = state.spec
        if sub == "/redirect":
            target = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get(
                "to", "/"
            )
            self._send(302, {"Location": unquote(target)}, {"message": "moved"})
            return
        if sub in (spec.token_path, spec.refresh_path):
            if self.command != "POST":
                self._send(405, {}, spec.error_body(405, "method not allowed"))
                return
            status, headers, payload = fake.handle_token(state, sub, req)
        else:
            status, headers, payload = fake.handle_api(state, req, sub)
        if isinstance(payload, _Fault):
            self._send_fault(payload, state)
        else:
            self._send(status, headers, payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def _send(
        self,
        status: int,
        headers: Dict[str, str],
        payload: Any,
        raw: Optional[bytes] = None,
        content_type: str = "application/json",
    ) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_fault(self, fault: _Fault, state: _Vendor) -> None:
        kind = fault.kind
        if kind == "html":
            self._send(200, {}, None, b"<html><body>Service maintenance</body></html>", "text/html")
        elif kind == "empty":
            self._send(200, {}, None, b"")
        elif kind == "invalid_json":
            self._send(200, {}, None, b'{"access_token": ')
        elif kind == "not_object":
            self._send(200, {}, [1, 2, 3])
        elif kind == "body":
            self._send(200, {}, fault.body)
        elif kind == "missing_field":
            fake = self.server.fake
            with fake._lock:
                good = fake._issue(state, fake.clock(), state.spec.refresh_path is not None)
            good.pop(next(iter(good)))
            self._send(200, {}, good)
        elif kind == "huge":
            self._send(200, {}, None, b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}')
        elif kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "drop_mid":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "400")
            self.end_headers()
            self.wfile.write(b'{"access_token": "abc", ')
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
