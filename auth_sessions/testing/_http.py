"""HTTP plumbing for the fake vendors: a threaded loopback server that feeds a
:class:`~.model.VendorModel` and writes its :class:`~.faults.Reply` objects.

Thread-safe: one thread per connection; :meth:`Front.stop` closes open connections and joins
every thread the server started.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List, Optional, Set, Tuple

from ._vendors import Incoming
from .faults import Reply
from .model import VendorModel

__all__ = ["Front"]


class Front:
    """``model`` served on 127.0.0.1 (https with ``tls=(certfile, keyfile)``; with
    ``client_ca`` as well, only to clients holding a certificate that CA signed)."""

    def __init__(
        self,
        model: VendorModel,
        *,
        port: int = 0,
        tls: Optional[Tuple[str, str]] = None,
        client_ca: Optional[str] = None,
    ) -> None:
        self.model = model
        self.scheme = "https" if tls else "http"
        self._server = _Server(("127.0.0.1", port), _Handler, model)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            if client_ca is not None:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(client_ca)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-vendors"
        )
        self._thread.daemon = True
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    request_queue_size = 128  # a burst of 64 threads must not be reset by a short backlog
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], handler: Any, model: VendorModel) -> None:
        self.model = model
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
        """Connections reset by clients or by :meth:`Front.stop` are not news."""

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
        """As the stdlib does, but ``Date`` comes from the model's (possibly skewed) clock."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())
        date = self.server.model.date_header()
        if date is not None:
            self.send_header("Date", date)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: List[bytes] = []
            while True:  # size line, data, CRLF; a zero size ends it, then trailers
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
        req = Incoming(
            method=self.command,
            content_type=self.headers.get("Content-Type", ""),
            headers=dict(self.headers.items()),
            body=self._read_body(),
            path=self.path,
            port=int(self.client_address[1]),
            peer_cert=bool(getattr(self.connection, "getpeercert", lambda: None)()),
            scheme="https" if hasattr(self.connection, "getpeercert") else "http",
        )
        self._write(self.server.model.handle(req))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def _write(self, reply: Reply) -> None:
        if reply.drop:
            self._cut()
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        length = reply.declared_length if reply.declared_length is not None else len(reply.body)
        self.send_header("Content-Length", str(length))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.trickle is not None:
            self._trickle(reply.body, reply.trickle)
        elif self.command != "HEAD":
            self.wfile.write(reply.body)
        if length > len(reply.body):
            self.wfile.flush()
            self._cut()

    def _trickle(self, body: bytes, interval: float) -> None:
        stopping = self.server.model._stopping
        try:
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                if stopping.wait(interval):
                    break
        except OSError:
            pass  # the client gave up: what the fault is for
        self.close_connection = True

    def _cut(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)
