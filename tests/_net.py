"""Real network parts for transport tests: a throwaway CA with server and client
certificates (openssl), and a counting forward proxy (CONNECT and absolute-form HTTP)."""

from __future__ import annotations

import base64
import contextlib
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlsplit

import pytest


@dataclass(frozen=True)
class Pki:
    ca: str
    server: Tuple[str, str]  # (cert, key) for 127.0.0.1, signed by ca
    client: Tuple[str, str]  # (cert, key) for mTLS, signed by ca


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_pki(folder: Path) -> Pki:
    """A CA of our own and two certificates it signed; nothing is trusted system-wide."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make test certificates")
    ca_key, ca = folder / "ca.key", folder / "ca.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout",
             str(ca_key), "-out", str(ca), "-subj", "/CN=auth-sessions test CA")  # fmt: skip
    pairs = {}
    for name, subject, ext in (
        ("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"),
        ("client", "/CN=test-client", "extendedKeyUsage=clientAuth"),
    ):
        key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
        extfile = folder / f"{name}.ext"
        extfile.write_text(ext + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
                 "-subj", subject)  # fmt: skip
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-days", "1", "-out", str(cert),
                 "-extfile", str(extfile))  # fmt: skip
        pairs[name] = (str(cert), str(key))
    return Pki(str(ca), pairs["server"], pairs["client"])


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _refused(self) -> bool:
        """Answer 407 when the proxy wants credentials and these are not them."""
        wanted = self.server.credentials
        given = self.headers.get("Proxy-Authorization", "")
        if wanted is None or given == "Basic " + base64.b64encode(wanted.encode()).decode():
            return False
        self.send_response(407, "Proxy Authentication Required")
        self.send_header("Proxy-Authenticate", 'Basic realm="corp"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return True

    def do_CONNECT(self) -> None:
        self.server.record("CONNECT", self.path)
        if self._refused():
            return
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self._pipe(self.connection, upstream)

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        with contextlib.closing(b):
            while True:
                ready, _, _ = select.select([a, b], [], [], 10)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)

    def _forward(self) -> None:
        """An absolute-form request (plain http through the proxy)."""
        self.server.record(self.command, self.path)
        if self._refused():
            return
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        import http.client

        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
        path = parts.path + ("?" + parts.query if parts.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        conn.request(self.command, path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = _forward


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, credentials: Optional[str] = None) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.credentials = credentials
        self.seen: List[Tuple[str, str]] = []
        self._lock = threading.Lock()

    def record(self, method: str, target: str) -> None:
        with self._lock:
            self.seen.append((method, target))

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@contextlib.contextmanager
def forward_proxy(credentials: Optional[str] = None) -> Iterator[Any]:
    """A forward proxy on loopback; ``.url`` to use it, ``.seen`` for what went through.
    With ``credentials`` ("user:password") it answers 407 to requests without them."""
    server = _ProxyServer(credentials)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


NET_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE",
           "CURL_CA_BUNDLE")  # fmt: skip
"""What requests reads from the environment for proxies and CA bundles."""


def serve_fake(*flags: str) -> Iterator[Tuple[Dict[str, str], List[str]]]:
    """Run ``auth-sessions fake`` with ``flags`` in a subprocess; yield the ``export`` lines
    it printed (name -> value) and its comment lines; stop it with Ctrl-C afterwards (it
    must exit 0)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "auth_sessions", "fake", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        exports: Dict[str, str] = {}
        comments: List[str] = []
        for line in process.stdout:
            if line.startswith("# Ctrl-C"):
                break
            if line.startswith("export "):
                name, _, value = line[7:].strip().partition("=")
                exports[name] = value.strip("'")
            else:
                comments.append(line.strip())
        yield exports, comments
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
