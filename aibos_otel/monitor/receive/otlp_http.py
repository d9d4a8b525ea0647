"""OTLP/HTTP receiver: ``POST /v1/logs``, ``/v1/traces``, ``/v1/metrics``.

Binary protobuf (``application/x-protobuf``) and OTLP/JSON (``application/json``), optionally
gzip- or deflate-compressed, framed by ``Content-Length`` or ``Transfer-Encoding: chunked`` (the
cap applies while the body is read: :mod:`aibos_otel.monitor.http_body`). Answers follow the
OTLP/HTTP spec: 200 with the export response (``partial_success`` when records were rejected),
400 with a ``google.rpc.Status`` for a malformed body, 413 for one over the size cap (as sent, or
once decompressed), 415 for another content type, 501 for a transfer coding other than chunked,
401 without the bearer token when one is configured, 503 when the batch could not be stored
(retryable).
"""

from __future__ import annotations

import logging

from google.protobuf.message import Message
from google.rpc import status_pb2  # type: ignore[import-untyped]

from aibos_otel.monitor.access import bearer_ok
from aibos_otel.monitor.http_body import BodyError, ClientGoneError, read_body
from aibos_otel.monitor.httpserver import Handler, Server
from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.otlp import (
    REQUEST_TYPES,
    OtlpDecodeError,
    OtlpTooLargeError,
    Signal,
    decompress,
    parse_json,
    parse_protobuf,
    to_json,
)
from aibos_otel.monitor.receive.dispatch import export_response, ingest
from aibos_otel.monitor.receive.ingest import Ingestor
from aibos_otel.monitor.settings import MonitorSettings

log = logging.getLogger(__name__)

_PATHS: dict[str, Signal] = {"/v1/logs": "logs", "/v1/traces": "traces", "/v1/metrics": "metrics"}
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# gRPC code numbers used in google.rpc.Status.code
_INVALID_ARGUMENT = 3
_RESOURCE_EXHAUSTED = 8
_UNAUTHENTICATED = 16
_UNAVAILABLE = 14
_RPC_CODES = {401: _UNAUTHENTICATED, 413: _RESOURCE_EXHAUSTED, 503: _UNAVAILABLE}


class OtlpHttpApp:
    """What the handler needs: settings, the ingestor, metrics."""

    def __init__(self, settings: MonitorSettings, ingestor: Ingestor, metrics: DerivedMetrics) -> None:
        self.settings = settings
        self.ingestor = ingestor
        self.metrics = metrics


class OtlpHandler(Handler):
    """Handles one OTLP/HTTP request."""

    _as_json = False

    @property
    def app(self) -> OtlpHttpApp:
        """The application this server serves."""
        app: OtlpHttpApp = self.server.app
        return app

    def _fail(self, status: int, reason: str, message: str, *, close: bool = False) -> None:
        self.app.metrics.count_receiver_error("http", reason)
        body = status_pb2.Status(code=_RPC_CODES.get(status, _INVALID_ARGUMENT), message=message)
        if self._as_json:
            self.send_body(status, to_json(body), JSON, close=close)
        else:
            self.send_body(status, body.SerializeToString(), PROTOBUF, close=close)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        """Only POST is an export; answer 405 so that a browser gets a clear reply."""
        self.send_body(405, b"use POST with an OTLP body\n", "text/plain", close=True)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        """Decode, ingest, answer."""
        app = self.app
        signal = _PATHS.get(self.path.split("?", 1)[0])
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        as_json = self._as_json = content_type == JSON
        if signal is None:
            self.send_body(
                404, b"unknown path; use /v1/logs, /v1/traces or /v1/metrics\n", "text/plain", close=True
            )
            return
        # Refused before the body is read (and the connection closed, the body unread): an
        # unauthenticated client cannot make the monitor read and buffer megabytes.
        if not bearer_ok(app.settings.bearer_token, self.headers.get("Authorization")):
            self._fail(401, "unauthenticated", "missing or wrong bearer token", close=True)
            return
        if content_type not in (PROTOBUF, JSON):
            self._fail(
                415,
                "content_type",
                f"Content-Type must be {PROTOBUF} or {JSON}, not {content_type or 'missing'}",
                close=True,
            )
            return
        try:
            body = read_body(self.headers, self.rfile, app.settings.max_message_bytes)
        except BodyError as exc:
            self._fail(exc.status, exc.reason, str(exc), close=True)  # the rest of the body is unread
            return
        except (ClientGoneError, OSError) as exc:
            log.debug("OTLP/HTTP client %s went away mid-body: %s", self.client_address[0], exc)
            self.close_connection = True
            return
        try:
            data = decompress(
                body, self.headers.get("Content-Encoding") or "", app.settings.max_message_bytes
            )
            request_type = REQUEST_TYPES[signal]
            message: Message = (
                parse_json(request_type, data) if as_json else parse_protobuf(request_type, data)
            )
        except OtlpTooLargeError as exc:
            self._fail(413, "oversize", str(exc))
            return
        except OtlpDecodeError as exc:
            self._fail(400, "malformed", str(exc))
            return
        try:
            result = ingest(app.ingestor, signal, message, None if as_json else data)
        except Exception:
            log.exception("ingest failed")
            self._fail(503, "internal", "the monitor could not store this batch; retry")
            return
        app.metrics.count_request("http", signal, result.accepted)
        response = export_response(signal, result)
        if as_json:
            self.send_body(200, to_json(response), JSON)
        else:
            self.send_body(200, response.SerializeToString(), PROTOBUF)


def make_http_receiver(settings: MonitorSettings, ingestor: Ingestor, metrics: DerivedMetrics) -> Server:
    """A bound (not yet started) OTLP/HTTP server."""
    server = Server(
        (settings.host, settings.http_port or 0), OtlpHandler, OtlpHttpApp(settings, ingestor, metrics)
    )
    if settings.tls_cert and settings.tls_key:
        server.use_tls(settings.tls_cert, settings.tls_key)
    return server
