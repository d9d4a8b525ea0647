"""The monitor process: store, ingestor, receivers, rule engine, alerts, notifiers and API, wired."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from prometheus_client.registry import CollectorRegistry

from aibos_otel.monitor.api import make_api_server
from aibos_otel.monitor.httpserver import Server
from aibos_otel.monitor.ingest import Ingestor
from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.receiver_grpc import GrpcReceiver
from aibos_otel.monitor.receiver_http import make_http_receiver
from aibos_otel.monitor.settings import MonitorSettings
from aibos_otel.monitor.store import Store

log = logging.getLogger(__name__)


class Monitor:
    """Everything ``aibos-otel up`` runs. ``start()`` binds and serves; ``stop()`` undoes it."""

    def __init__(self, settings: MonitorSettings) -> None:
        self.settings = settings
        self.metrics = DerivedMetrics()
        self.metrics_registry: CollectorRegistry = self.metrics.registry()
        self.store = Store(settings.database)
        self.alerts: Any = None
        self.ingestor = Ingestor(self.store, self.metrics)
        self.ready = False
        self._grpc: GrpcReceiver | None = None
        self._http: Server | None = None
        self._api: Server | None = None
        self._stopping = threading.Event()
        self._ticker: threading.Thread | None = None

    # ports actually bound (after start)
    grpc_port: int | None = None
    http_port: int | None = None
    api_port: int | None = None

    def start(self) -> None:
        """Bind every listener and start serving. Raises ``OSError`` if a port is taken."""
        s = self.settings
        try:
            if s.grpc_port is not None:
                self._grpc = GrpcReceiver(s, self.ingestor, self.metrics)
                self.grpc_port = self._grpc.port
            if s.http_port is not None:
                self._http = make_http_receiver(s, self.ingestor, self.metrics)
                self.http_port = self._http.port
            if s.api_port is not None:
                self._api = make_api_server(self, s.host, s.api_port)
                self.api_port = self._api.port
        except BaseException:
            self.stop()
            raise
        if self._grpc:
            self._grpc.start()
        if self._http:
            self._http.start("otlp-http")
        if self._api:
            self._api.start("api")
        self._ticker = threading.Thread(target=self._tick_loop, name="monitor-tick", daemon=True)
        self._ticker.start()
        self.ready = True

    def _tick_loop(self) -> None:
        while not self._stopping.wait(self.settings.tick_seconds):
            try:
                self.tick()
            except Exception:
                log.exception("periodic evaluation failed")

    def tick(self) -> None:
        """Periodic work: window expiry, pending -> firing, escalation, repeats, resolves."""

    def refresh_gauges(self) -> None:
        """Update gauges that are read from state at scrape time."""
        self.metrics.gauges["error_groups"] = float(self.store.error_group_count())

    def alerts_api(
        self, method: str, parts: list[str], query: dict[str, str], body: Callable[[], Any] | None
    ) -> tuple[int, Any] | None:
        """Alert, rule and silence routes; ``None`` when the route is not one of them."""
        return None

    def addresses(self) -> dict[str, str]:
        """Where each listener is, for printing."""
        scheme = "https" if self.settings.tls_cert else "http"
        host = self.settings.host
        out: dict[str, str] = {}
        if self.grpc_port:
            out["otlp_grpc"] = f"{host}:{self.grpc_port}"
        if self.http_port:
            out["otlp_http"] = f"{scheme}://{host}:{self.http_port}/v1/logs"
        if self.api_port:
            out["api"] = f"http://{host}:{self.api_port}/"
            out["metrics"] = f"http://{host}:{self.api_port}/metrics"
        out["data"] = str(self.settings.database)
        return out

    def stop(self) -> None:
        """Stop listeners (in-flight exports finish), then the background work, then the store."""
        self.ready = False
        self._stopping.set()
        if self._grpc:
            self._grpc.stop()
            self._grpc = None
        for server in (self._http, self._api):
            if server is not None:
                server.stop()
        self._http = self._api = None
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
        self.store.close()
