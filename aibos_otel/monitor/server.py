"""The monitor process: store, ingestor, receivers, rule engine, alerts, notifiers and API, wired.

Wiring only: what each part does lives in its module; the API's routes are ``api.ROUTES``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from prometheus_client.registry import CollectorRegistry

from aibos_otel.monitor import redact
from aibos_otel.monitor.access import check_listen_address
from aibos_otel.monitor.audit_events import emit_transition
from aibos_otel.monitor.evaluate.alerts import AlertManager
from aibos_otel.monitor.evaluate.rules import RuleEngine
from aibos_otel.monitor.httpserver import Server
from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.notify.notifiers import make_sender
from aibos_otel.monitor.notify.outbox import Dispatcher, Outbox
from aibos_otel.monitor.receive.ingest import Ingestor
from aibos_otel.monitor.receive.otlp_grpc import GrpcReceiver
from aibos_otel.monitor.receive.otlp_http import make_http_receiver
from aibos_otel.monitor.serve.api import make_api_server
from aibos_otel.monitor.settings import MonitorSettings
from aibos_otel.monitor.store import Store
from aibos_otel.policy.errors_policy import GROUP_BY_SERVICE
from aibos_otel.policy.model import Policy, load_policy

log = logging.getLogger(__name__)

HISTORY_KEEP_NS = 30 * 86_400 * 10**9  # resolved alert episodes and delivered notifications
PRUNE_EVERY_NS = 3600 * 10**9
AGE_EVERY_NS = 60 * 10**9  # ignores that ran out and new groups that are no longer new


class Monitor:
    """Everything ``aibos-otel up`` runs. ``start()`` binds and serves; ``stop()`` undoes it."""

    def __init__(self, settings: MonitorSettings, policy: Policy | None = None) -> None:
        check_listen_address(
            settings.host, settings.bearer_token, allow_unauthenticated=settings.allow_unauthenticated
        )
        self.settings = settings
        self.policy = policy if policy is not None else load_policy(None)
        self.metrics = DerivedMetrics()
        self.metrics_registry: CollectorRegistry = self.metrics.registry()
        self.store = Store(
            settings.database,
            max_error_groups=self.policy.limits.error_groups,
            on_overflow=lambda n: self.metrics.count_overflow("error_groups", n),
            errors=self.policy.errors,
            on_transition=emit_transition,
        )
        self.outbox = Outbox(self.store)
        self.alerts = AlertManager(self.policy, self.store, self.outbox, self.metrics)
        self.rules = RuleEngine(self.policy.rules, self.alerts.on_samples)
        self.ingestor = Ingestor(
            self.store,
            self.metrics,
            self.rules,
            self.alerts,
            native_scan=settings.native_scan,
            budget_seconds=settings.batch_budget_seconds,
            per_service_groups=self.policy.errors.group_by == GROUP_BY_SERVICE,
            grouping=self.policy.errors.grouping,
            grouping_attributes=self.policy.errors.rules_need_attributes,
        )
        self.dispatcher = Dispatcher(
            self.outbox,
            {c.name: make_sender(c) for c in self.policy.channels.values() if c.enabled},
            self.metrics,
        )
        self.ready = False
        self._grpc: GrpcReceiver | None = None
        self._http: Server | None = None
        self._api: Server | None = None
        self._stopping = threading.Event()
        self._ticker: threading.Thread | None = None
        self._stop_push: Callable[[], None] | None = None
        self._last_prune_ns = 0
        self._last_age_ns = 0

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
        redact.warm_up()
        self.dispatcher.start()
        if self._grpc:
            self._grpc.start()
        if self._http:
            self._http.start("otlp-http")
        if self._api:
            self._api.start("api")
        if s.metrics_otlp_endpoint:
            from aibos_otel.monitor.serve.metrics_otlp import start_push

            self._stop_push = start_push(self.metrics, s.metrics_otlp_endpoint, s.metrics_otlp_interval)
        self._ticker = threading.Thread(target=self._tick_loop, name="monitor-tick", daemon=True)
        self._ticker.start()
        self.ready = True

    def _tick_loop(self) -> None:
        while not self._stopping.wait(self.settings.tick_seconds):
            try:
                self.tick()
            except Exception:
                log.exception("periodic evaluation failed")

    def tick(self, now_ns: int | None = None) -> None:
        """Periodic work: window expiry, pending -> firing, escalation, repeats, resolves."""
        now = now_ns if now_ns is not None else time.time_ns()
        with self.ingestor.lock:
            self.rules.evaluate_all(now)
        self.alerts.tick(now)
        if now - self._last_prune_ns >= PRUNE_EVERY_NS:
            self._last_prune_ns = now
            # error groups follow the policy's retention for the error level (fatal if longer)
            retention = self.policy.retention_ns
            keep_groups = max(retention.get("error", 0), retention.get("fatal", 0))
            self.store.prune(now, HISTORY_KEEP_NS, keep_groups)
        if now - self._last_age_ns >= AGE_EVERY_NS:
            self._last_age_ns = now
            with self.ingestor.lock:  # the store's cached rows change with the ingest path's
                self.store.age_groups(now)

    def refresh_gauges(self) -> None:
        """Update gauges that are read from state at scrape time."""
        self.metrics.set_gauge("error_groups", self.store.error_group_count())

    def addresses(self) -> dict[str, str]:
        """Where each listener is, for printing."""
        scheme = "https" if self.settings.tls_cert else "http"
        host = f"[{self.settings.host}]" if ":" in self.settings.host else self.settings.host
        out: dict[str, str] = {}
        if self.grpc_port:
            # OTLP exporters read the scheme of a gRPC endpoint as "TLS or not"
            out["otlp_grpc"] = f"{scheme}://{host}:{self.grpc_port}"
        if self.http_port:
            out["otlp_http"] = f"{scheme}://{host}:{self.http_port}/v1/logs"
        if self.api_port:
            out["api"] = f"{scheme}://{host}:{self.api_port}/"
            out["metrics"] = f"{scheme}://{host}:{self.api_port}/metrics"
        out["data"] = str(self.settings.database)
        return out

    def stop(self) -> None:
        """Stop listeners (in-flight exports finish), then the background work, then the store."""
        self.ready = False
        self._stopping.set()
        if self._stop_push is not None:
            self._stop_push()  # one last push while the receivers may still be up
            self._stop_push = None
        if self._grpc:
            self._grpc.stop()
            self._grpc = None
        for server in (self._http, self._api):
            if server is not None:
                server.stop()
        self._http = self._api = None
        self.dispatcher.stop()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
        self.store.close()
