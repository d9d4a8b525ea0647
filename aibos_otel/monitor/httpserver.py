"""A small threaded HTTP server on the standard library, shared by OTLP/HTTP and the API.

Why ``http.server`` and not a framework: the monitor needs a handful of routes, runs its
other work on threads (grpcio's pool, the notifier workers), and must not pull a web stack
into the install. ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive is enough for OTLP/HTTP
batches and a JSON API; the gRPC receiver carries the bulk traffic.
"""

from __future__ import annotations

import json
import logging
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class Server(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that knows its application object and shuts down cleanly."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: Any) -> None:
        super().__init__(address, handler)
        self.app = app
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0)."""
        return int(self.server_address[1])

    def use_tls(self, cert: Path, key: Path) -> None:
        """Serve HTTPS with this certificate and key.

        The handshake runs on the connection's own thread (see :meth:`Handler.setup`), under the
        handler's timeout: done in ``accept()``, as ``wrap_socket`` on the listening socket does,
        one client that connects and sends nothing would stop the server accepting anyone else.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(cert), str(key))
        self._tls = context

    _tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[Any, Any]:
        """Accept a connection; with TLS, wrap it without handshaking yet."""
        sock, address = self.socket.accept()
        if self._tls is not None:
            sock = self._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke (reset, failed TLS handshake, timeout) is one debug line, never a
        traceback: clients do that all the time. Anything else is a bug worth its traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # ConnectionResetError, BrokenPipeError, TimeoutError, SSLError
            log.debug("connection from %s ended: %s", client_address[0], error or type(error).__name__)
            return
        log.error("request from %s failed", client_address[0], exc_info=True)

    def start(self, name: str) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class Handler(BaseHTTPRequestHandler):
    """Base handler: HTTP/1.1, quiet logs, JSON helpers."""

    protocol_version = "HTTP/1.1"
    server: Server
    timeout = 30  # seconds a client may sit idle or trickle a body

    def setup(self) -> None:
        """Set the idle timeout, then finish a TLS handshake under it."""
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        """Access logs are off: the monitor's own metrics count requests and errors."""

    def send_body(self, status: int, body: bytes, content_type: str, *, close: bool = False) -> None:
        """Send a complete response."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, payload: Any, *, close: bool = False) -> None:
        """Send a JSON response."""
        body = json.dumps(payload, default=str).encode("utf-8")
        self.send_body(status, body, "application/json", close=close)
