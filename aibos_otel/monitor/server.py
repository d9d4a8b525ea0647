"""The monitor process: store, ingestor, receivers, rule engine, alerts, notifiers and API, wired."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client.registry import CollectorRegistry

from aibos_otel.monitor import redact
from aibos_otel.monitor.access import check_listen_address
from aibos_otel.monitor.alerts import AlertManager, SilenceLimitError, load_alerts
from aibos_otel.monitor.api import ApiError, make_api_server
from aibos_otel.monitor.httpserver import Server
from aibos_otel.monitor.ingest import Ingestor
from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.notifiers import make_sender
from aibos_otel.monitor.outbox import Dispatcher, Outbox
from aibos_otel.monitor.paging import PageError, decode_cursor, encode_cursor, parse_limit
from aibos_otel.monitor.receiver_grpc import GrpcReceiver
from aibos_otel.monitor.receiver_http import make_http_receiver
from aibos_otel.monitor.rules import RuleEngine
from aibos_otel.monitor.settings import MonitorSettings
from aibos_otel.monitor.store import Store
from aibos_otel.policy.model import GROUP_BY_SERVICE, Policy, load_policy

log = logging.getLogger(__name__)

HISTORY_KEEP_NS = 30 * 86_400 * 10**9  # resolved alert episodes and delivered notifications
PRUNE_EVERY_NS = 3600 * 10**9


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
            from aibos_otel.monitor.metrics_otlp import start_push

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

    def refresh_gauges(self) -> None:
        """Update gauges that are read from state at scrape time."""
        self.metrics.set_gauge("error_groups", self.store.error_group_count())

    def alerts_api(
        self, method: str, parts: list[str], query: dict[str, str], body: Callable[[], Any] | None
    ) -> tuple[int, Any] | None:
        """Alert, rule and silence routes; ``None`` when the route is not one of them."""
        now = time.time_ns()
        if parts == ["alerts"] and method == "GET":
            try:
                limit, before = parse_limit(query), decode_cursor("alerts", query)
            except PageError as exc:
                raise ApiError(400, str(exc)) from None
            if query.get("state") == "all":
                found = load_alerts(self.store, include_resolved=True, limit=limit + 1, before=before)
                page, more = [a.public() for a in found[:limit]], len(found) > limit
            else:
                page, more = self.alerts.page(limit, before)
            last = page[-1] if more else None
            return 200, {
                "alerts": page,
                "next_cursor": None
                if last is None
                else encode_cursor("alerts", last["active_at_ns"], last["id"]),
            }
        if parts == ["rules"] and method == "GET":
            active = self.alerts.snapshot()
            rules = []
            for rule in self.policy.rules:
                mine = [a for a in active if a.rule == rule.name]
                state = next(
                    (s for s in ("firing", "pending") if any(a.state == s for a in mine)), "inactive"
                )
                rules.append(
                    {
                        "name": rule.name,
                        "expr": rule.expr_text,
                        "for_ns": rule.for_ns,
                        "labels": dict(rule.labels),
                        "annotations": dict(rule.annotations),
                        "channels": list(rule.channels or ()),
                        "enabled": rule.enabled,
                        "state": state,
                        "active": len(mine),
                    }
                )
            return 200, {"rules": rules, "policy": self.policy.origin}
        if parts == ["silences"] and method == "GET":
            return 200, {"silences": [s.public(now) for s in self.alerts.silences]}
        if parts == ["silences"] and method == "POST" and body is not None:
            spec = body()
            if not isinstance(spec, dict):
                raise ApiError(400, "a silence is a JSON object")
            try:
                silence = self.alerts.add_silence(spec, now)
            except SilenceLimitError as exc:
                raise ApiError(429, str(exc)) from None
            except ValueError as exc:
                raise ApiError(400, str(exc)) from None
            return 200, silence.public(now)
        if len(parts) == 2 and parts[0] == "silences" and method == "DELETE":
            if not self.alerts.expire_silence(parts[1], now):
                raise ApiError(404, f"no silence {parts[1]}")
            return 200, {"id": parts[1], "status": "expired"}
        return None

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
