"""JSON API, ``/metrics``, health checks and the web page, all on the API port.

Routes:
``GET /healthz`` (process is up), ``GET /readyz`` (receivers bound and the store open),
``GET /metrics`` (Prometheus text), ``GET /api/errors`` (``?limit=``, ``?cursor=``,
``?status=open|resolved``), ``GET /api/errors/{fingerprint}``, ``POST /api/errors/{fingerprint}/resolve``,
``GET /api/alerts`` (active; ``?state=all`` for history; ``?limit=``, ``?cursor=``), ``GET /api/rules``,
``GET|POST /api/silences``, ``DELETE /api/silences/{id}``, ``GET /api/stats``, ``GET /`` (page).
"""

from __future__ import annotations

import json
import time
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from aibos_otel.monitor.httpserver import Handler, Server
from aibos_otel.monitor.paging import PageError, decode_cursor, encode_cursor, parse_limit
from aibos_otel.monitor.receiver_grpc import bearer_ok

if TYPE_CHECKING:
    from aibos_otel.monitor.server import Monitor

MAX_BODY = 1024 * 1024


class ApiError(Exception):
    """An error with an HTTP status, answered as ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ApiHandler(Handler):
    """Routes API requests to the monitor."""

    @property
    def monitor(self) -> Monitor:
        """The running monitor."""
        monitor: Monitor = self.server.app
        return monitor

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        try:
            if method != "GET" and not bearer_ok(
                self.monitor.settings.bearer_token, self.headers.get("Authorization")
            ):
                # with --token, changes (resolve, silences) need it too; reading stays open
                raise ApiError(401, "missing or wrong bearer token")
            if method == "GET" and url.path in ("/", "/index.html"):
                page = resources.files("aibos_otel.monitor").joinpath("page.html").read_bytes()
                self.send_body(200, page, "text/html; charset=utf-8")
            elif method == "GET" and url.path == "/healthz":
                self.send_json(200, {"status": "ok"})
            elif method == "GET" and url.path == "/readyz":
                ready = self.monitor.ready
                self.send_json(200 if ready else 503, {"status": "ready" if ready else "starting"})
            elif method == "GET" and url.path == "/metrics":
                self.monitor.refresh_gauges()
                self.send_body(200, generate_latest(self.monitor.metrics_registry), CONTENT_TYPE_LATEST)
            elif parts[:1] == ["api"]:
                self.send_json(*self._api(method, parts[1:], query))
            else:
                raise ApiError(404, f"no such route: {method} {url.path}")
        except ApiError as exc:
            self.send_json(exc.status, {"error": str(exc)})

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError(413, "body too large")
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"invalid JSON: {exc}") from None

    def _api(self, method: str, parts: list[str], query: dict[str, str]) -> tuple[int, Any]:
        m = self.monitor
        store = m.store
        if parts == ["errors"] and method == "GET":
            try:
                limit, before = parse_limit(query), decode_cursor("errors", query)
            except PageError as exc:
                raise ApiError(400, str(exc)) from None
            groups = store.error_groups(limit=limit + 1, status=query.get("status"), before=before)
            last = groups[limit - 1] if len(groups) > limit else None
            return 200, {
                "errors": groups[:limit],
                "next_cursor": None
                if last is None
                else encode_cursor("errors", last["last_seen_ns"], last["fingerprint"]),
            }
        if len(parts) == 2 and parts[0] == "errors" and method == "GET":
            group = store.error_group(parts[1])
            if group is None:
                raise ApiError(404, f"no error group {parts[1]}")
            return 200, group
        if len(parts) == 3 and parts[0] == "errors" and parts[2] == "resolve" and method == "POST":
            if not store.resolve_error_group(parts[1], time.time_ns()):
                raise ApiError(404, f"no error group {parts[1]}")
            return 200, store.error_group(parts[1])
        if parts == ["stats"] and method == "GET":
            rate, error_ratio = m.metrics.recent_rates()
            return 200, {
                "records_by_level": m.metrics.records_by_level(),
                "records_per_second": rate,
                "error_ratio": error_ratio,
                "error_groups": store.error_group_count(),
            }
        handled = m.alerts_api(method, parts, query, self._body if method in ("POST", "PUT") else None)
        if handled is not None:
            return handled
        raise ApiError(404, f"no such route: {method} /api/{'/'.join(parts)}")

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        """GET and HEAD."""
        self._route("GET")

    do_HEAD = do_GET  # noqa: N815 - http.server naming

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        """Actions (resolve, create silence)."""
        self._route("POST")

    def do_DELETE(self) -> None:  # noqa: N802 - http.server naming
        """Expire a silence."""
        self._route("DELETE")


def make_api_server(monitor: Monitor, host: str, port: int) -> Server:
    """A bound (not yet started) API server."""
    return Server((host, port), ApiHandler, monitor)
