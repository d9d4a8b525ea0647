"""JSON API, ``/metrics``, health checks and the web page, all on the API port.

Routes:
``GET /healthz`` (process is up), ``GET /readyz`` (receivers bound and the store open),
``GET /metrics`` (Prometheus text), ``GET /api/errors`` (``?limit=``, ``?cursor=``,
``?status=open|resolved``), ``GET /api/errors/{fingerprint}``, ``POST /api/errors/{fingerprint}/resolve``,
``GET /api/alerts`` (active; ``?state=all`` for history; ``?limit=``, ``?cursor=``), ``GET /api/rules``,
``GET|POST /api/silences``, ``DELETE /api/silences/{id}``, ``GET /api/stats``, ``GET /`` (page).
"""

from __future__ import annotations

import logging
import time
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from aibos_otel.monitor.access import AccessDeniedError, allowed_authorities, bearer_ok, check_same_origin
from aibos_otel.monitor.http_body import BodyError, ClientGoneError, read_body
from aibos_otel.monitor.httpserver import Handler, Server
from aibos_otel.monitor.jsonlimits import API_MAX_DEPTH, JsonLimitError, loads_bounded
from aibos_otel.monitor.paging import PageError, decode_cursor, encode_cursor, parse_limit

if TYPE_CHECKING:
    from aibos_otel.monitor.server import Monitor

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
API_BODY_DEADLINE_S = 10.0  # an API body is a small JSON document
# receiver-error metric reasons by answer status
_REASONS = {
    400: "malformed",
    401: "unauthenticated",
    403: "cross_origin",
    405: "method",
    413: "oversize",
    415: "content_type",
    421: "host",
    429: "limit",
}


class ApiError(Exception):
    """An error with an HTTP status, answered as ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ApiHandler(Handler):
    """Routes API requests to the monitor."""

    server: ApiServer

    @property
    def monitor(self) -> Monitor:
        """The running monitor."""
        monitor: Monitor = self.server.app
        return monitor

    def _route(self, method: str) -> None:
        try:
            self._check_access(method)
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, max_num_fields=20).items()}
            parts = [p for p in url.path.split("/") if p]
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
        except (ApiError, AccessDeniedError) as exc:
            if exc.status != 404:
                self.monitor.metrics.count_receiver_error("api", _REASONS.get(exc.status, "bad_request"))
            self.send_json(exc.status, {"error": str(exc)}, close=exc.status in (400, 413, 501))
        except Exception:  # a bug, not the client's fault: answer, keep serving, say where
            log.exception("API request %s %s failed", method, self.path[:200])
            self.monitor.metrics.count_receiver_error("api", "internal")
            self.send_json(500, {"error": "internal error; see the monitor's log"}, close=True)

    def _check_access(self, method: str) -> None:
        settings = self.monitor.settings
        if settings.bearer_token is not None:
            if method not in ("GET", "HEAD") and not bearer_ok(
                settings.bearer_token, self.headers.get("Authorization")
            ):
                # with --token, changes (resolve, silences) need it; reading stays open
                raise ApiError(401, "missing or wrong bearer token")
            return
        # No token: only loopback (see access.check_listen_address); keep browsers of other
        # origins and re-pointed DNS names out.
        check_same_origin(method, self.headers, self.server.authorities)

    def _body(self) -> Any:
        try:
            raw = read_body(self.headers, self.rfile, MAX_BODY, deadline_s=API_BODY_DEADLINE_S)
        except BodyError as exc:
            raise ApiError(exc.status, str(exc)) from None
        except ClientGoneError as exc:
            raise ApiError(400, f"body incomplete: {exc}") from None
        try:
            return loads_bounded(raw or b"{}", max_depth=API_MAX_DEPTH)
        except JsonLimitError as exc:
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

    def do_OPTIONS(self) -> None:  # noqa: N802 - http.server naming
        """CORS preflight: answered, and denied (no ``Access-Control-Allow-*``), so no page of
        another origin gets to send JSON or a token here."""
        self.monitor.metrics.count_receiver_error("api", "cross_origin")
        self.send_json(403, {"error": "cross-origin requests are not allowed"}, close=True)

    def _not_allowed(self) -> None:
        self.monitor.metrics.count_receiver_error("api", "method")
        self.send_json(405, {"error": f"method {self.command} not allowed"}, close=True)

    do_PUT = do_PATCH = do_TRACE = do_CONNECT = _not_allowed  # noqa: N815 - http.server naming


class ApiServer(Server):
    """The API's server: knows which ``Host`` values name it (see ``access``)."""

    authorities: frozenset[str] = frozenset()


def make_api_server(monitor: Monitor, host: str, port: int) -> Server:
    """A bound (not yet started) API server, on TLS when the monitor has a certificate."""
    server = ApiServer((host, port), ApiHandler, monitor)
    server.authorities = allowed_authorities(host, server.port)
    settings = monitor.settings
    if settings.tls_cert and settings.tls_key:
        server.use_tls(settings.tls_cert, settings.tls_key)
    return server
