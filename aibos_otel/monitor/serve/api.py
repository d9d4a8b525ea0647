"""JSON API, ``/metrics``, health checks and the web page, all on the API port.

Every route is one row of :data:`ROUTES` (method, path pattern, handler); a handler sees the
monitor only through :class:`MonitorView`, the narrow part of it the API needs, so this module
does not import the monitor it serves (``server.py`` wires the two).

Routes:
``GET /healthz`` (process is up), ``GET /readyz`` (receivers bound and the store open),
``GET /metrics`` (Prometheus text), ``GET /api/errors`` (``?limit=``, ``?cursor=``,
``?status=open|resolved|ignored``, ``?state=``, ``?service=``, ``?environment=``, ``?release=``,
``?q=``, ``?sort=last_seen|first_seen|count|users``), ``GET /api/errors/{fingerprint}``,
``POST /api/errors/{fingerprint}/resolve|ignore|reopen|merge|unmerge``, ``POST /api/errors/bulk``
(``serve/group_actions.py``),
``GET /api/alerts`` (active; ``?state=all`` for history; ``?limit=``, ``?cursor=``), ``GET /api/rules``,
``GET|POST /api/silences``, ``DELETE /api/silences/{id}``, ``GET /api/stats``, ``GET /`` (page).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlsplit

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from aibos_otel.monitor.access import AccessDeniedError, allowed_authorities, bearer_ok, check_same_origin
from aibos_otel.monitor.evaluate.alerts import SilenceLimitError, load_alerts
from aibos_otel.monitor.groupquery import FilterError, GroupFilter
from aibos_otel.monitor.http_body import BodyError, ClientGoneError, read_body
from aibos_otel.monitor.httpserver import Handler, Server
from aibos_otel.monitor.jsonlimits import API_MAX_DEPTH, JsonLimitError, loads_bounded
from aibos_otel.monitor.serve import group_actions
from aibos_otel.monitor.serve.paging import PageError, decode_cursor, encode_cursor, parse_limit

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from aibos_otel.monitor.evaluate.alerts import AlertManager
    from aibos_otel.monitor.metrics import DerivedMetrics
    from aibos_otel.monitor.settings import MonitorSettings
    from aibos_otel.monitor.store import Store
    from aibos_otel.policy.model import Policy

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


class MonitorView(Protocol):
    """What the API reads and changes of the running monitor (``server.Monitor`` is one)."""

    settings: MonitorSettings
    policy: Policy
    store: Store
    alerts: AlertManager
    metrics: DerivedMetrics
    metrics_registry: CollectorRegistry

    @property
    def ready(self) -> bool:
        """Receivers bound and the store open."""
        ...

    def refresh_gauges(self) -> None:
        """Update the gauges read from state at scrape time."""
        ...


@dataclass(frozen=True)
class Request:
    """What a route handler is given: the path's variable segments, the query, the body."""

    monitor: MonitorView
    params: tuple[str, ...]
    query: dict[str, str]
    body: Callable[[], Any]
    """Reads and parses the JSON body (bounded; raises :class:`ApiError`)."""


@dataclass(frozen=True)
class Raw:
    """A reply that is not JSON: bytes and their content type."""

    body: bytes
    content_type: str


Reply = tuple[int, Any]
"""A status and the JSON document, or a :class:`Raw` body."""

_ANY = "*"  # a path segment that matches any one segment, passed to the handler in order


@dataclass(frozen=True)
class Route:
    """One row of the route table."""

    method: str
    pattern: tuple[str, ...]
    handle: Callable[[Request], Reply]

    def match(self, method: str, parts: list[str]) -> tuple[str, ...] | None:
        """The variable segments when the request is this route, else None."""
        if method != self.method or len(parts) != len(self.pattern):
            return None
        if any(want not in (_ANY, got) for want, got in zip(self.pattern, parts, strict=True)):
            return None
        return tuple(got for want, got in zip(self.pattern, parts, strict=True) if want == _ANY)


def _page(request: Request) -> Reply:
    page = resources.files("aibos_otel.monitor.serve").joinpath("page.html").read_bytes()
    return 200, Raw(page, "text/html; charset=utf-8")


def _healthz(request: Request) -> Reply:
    return 200, {"status": "ok"}


def _readyz(request: Request) -> Reply:
    ready = request.monitor.ready
    return (200 if ready else 503), {"status": "ready" if ready else "starting"}


def _metrics(request: Request) -> Reply:
    request.monitor.refresh_gauges()
    return 200, Raw(generate_latest(request.monitor.metrics_registry), CONTENT_TYPE_LATEST)


def _paging(kind: str, query: dict[str, str]) -> tuple[int, tuple[int, str] | None]:
    try:
        return parse_limit(query), decode_cursor(kind, query)
    except PageError as exc:
        raise ApiError(400, str(exc)) from None


def _errors(request: Request) -> Reply:
    try:
        filters = GroupFilter.from_query(request.query)
    except FilterError as exc:
        raise ApiError(400, str(exc)) from None
    limit, before = _paging(filters.cursor_kind(), request.query)
    groups = request.monitor.store.error_groups(limit=limit + 1, before=before, filters=filters)
    last = groups[limit - 1] if len(groups) > limit else None
    cursor = (
        None
        if last is None
        else encode_cursor(filters.cursor_kind(), filters.sort_key(last), last["fingerprint"])
    )
    return 200, {"errors": groups[:limit], "next_cursor": cursor}


def _error_group(request: Request) -> Reply:
    [fingerprint] = request.params
    group = request.monitor.store.error_group(fingerprint)
    if group is None:
        raise ApiError(404, f"no error group {fingerprint[:128]}")
    return 200, group


def _object_body(request: Request) -> dict[str, Any]:
    body = request.body()
    if not isinstance(body, dict):
        raise ApiError(400, "the body is a JSON object")
    return body


def _group_action(action: str) -> Callable[[Request], Reply]:
    def handle(request: Request) -> Reply:
        [fingerprint] = request.params
        store = request.monitor.store
        try:
            done = group_actions.apply(store, action, [fingerprint], _object_body(request))
        except group_actions.ActionError as exc:
            raise ApiError(400, str(exc)) from None
        if not done["changed"]:
            raise ApiError(404, f"no error group {fingerprint[:128]}")
        return 200, store.error_group(fingerprint)

    return handle


def _bulk(request: Request) -> Reply:
    body = _object_body(request)
    try:
        ids = group_actions.ids_of(body)
        action = body.get("action")
        if action not in group_actions.ACTIONS:
            raise group_actions.ActionError(f"action must be one of {', '.join(group_actions.ACTIONS)}")
        return 200, group_actions.apply(request.monitor.store, str(action), ids, body)
    except group_actions.ActionError as exc:
        raise ApiError(400, str(exc)) from None


def _merge(request: Request) -> Reply:
    [target] = request.params
    body = _object_body(request)
    try:
        ids, actor = group_actions.ids_of(body), group_actions.actor_of(body)
    except group_actions.ActionError as exc:
        raise ApiError(400, str(exc)) from None
    store = request.monitor.store
    if store.error_group(target) is None:
        raise ApiError(404, f"no error group {target[:128]}")
    merged = store.merge_groups(target, ids, actor, time.time_ns())
    return 200, {"merged": merged, "group": store.error_group(target)}


def _unmerge(request: Request) -> Reply:
    [source] = request.params
    try:
        actor = group_actions.actor_of(_object_body(request))
    except group_actions.ActionError as exc:
        raise ApiError(400, str(exc)) from None
    target = request.monitor.store.unmerge_group(source, actor, time.time_ns())
    if target is None:
        raise ApiError(404, f"{source[:128]} is not a merged error group")
    return 200, {"unmerged": source, "from": target}


def _stats(request: Request) -> Reply:
    monitor = request.monitor
    rate, error_ratio = monitor.metrics.recent_rates()
    return 200, {
        "records_by_level": monitor.metrics.records_by_level(),
        "records_per_second": rate,
        "error_ratio": error_ratio,
        "error_groups": monitor.store.error_group_count(),
    }


def _alerts(request: Request) -> Reply:
    limit, before = _paging("alerts", request.query)
    monitor = request.monitor
    if request.query.get("state") == "all":
        found = load_alerts(monitor.store, include_resolved=True, limit=limit + 1, before=before)
        page, more = [a.public() for a in found[:limit]], len(found) > limit
    else:
        page, more = monitor.alerts.page(limit, before)
    last = page[-1] if more else None
    cursor = None if last is None else encode_cursor("alerts", last["active_at_ns"], last["id"])
    return 200, {"alerts": page, "next_cursor": cursor}


def _rules(request: Request) -> Reply:
    monitor = request.monitor
    active = monitor.alerts.snapshot()
    rules = []
    for rule in monitor.policy.rules:
        mine = [a for a in active if a.rule == rule.name]
        state = next((s for s in ("firing", "pending") if any(a.state == s for a in mine)), "inactive")
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
    return 200, {"rules": rules, "policy": monitor.policy.origin}


def _silences(request: Request) -> Reply:
    now = time.time_ns()
    return 200, {"silences": [s.public(now) for s in request.monitor.alerts.silences]}


def _add_silence(request: Request) -> Reply:
    spec = request.body()
    if not isinstance(spec, dict):
        raise ApiError(400, "a silence is a JSON object")
    now = time.time_ns()
    try:
        silence = request.monitor.alerts.add_silence(spec, now)
    except SilenceLimitError as exc:
        raise ApiError(429, str(exc)) from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return 200, silence.public(now)


def _expire_silence(request: Request) -> Reply:
    [silence_id] = request.params
    if not request.monitor.alerts.expire_silence(silence_id, time.time_ns()):
        raise ApiError(404, f"no silence {silence_id}")
    return 200, {"id": silence_id, "status": "expired"}


ROUTES: tuple[Route, ...] = (
    Route("GET", (), _page),
    Route("GET", ("index.html",), _page),
    Route("GET", ("healthz",), _healthz),
    Route("GET", ("readyz",), _readyz),
    Route("GET", ("metrics",), _metrics),
    Route("GET", ("api", "errors"), _errors),
    Route("GET", ("api", "errors", _ANY), _error_group),
    Route("POST", ("api", "errors", "bulk"), _bulk),
    Route("POST", ("api", "errors", _ANY, "resolve"), _group_action("resolve")),
    Route("POST", ("api", "errors", _ANY, "ignore"), _group_action("ignore")),
    Route("POST", ("api", "errors", _ANY, "reopen"), _group_action("reopen")),
    Route("POST", ("api", "errors", _ANY, "merge"), _merge),
    Route("POST", ("api", "errors", _ANY, "unmerge"), _unmerge),
    Route("GET", ("api", "stats"), _stats),
    Route("GET", ("api", "alerts"), _alerts),
    Route("GET", ("api", "rules"), _rules),
    Route("GET", ("api", "silences"), _silences),
    Route("POST", ("api", "silences"), _add_silence),
    Route("DELETE", ("api", "silences", _ANY), _expire_silence),
)
"""Every route of the API port, in one table."""


def find_route(method: str, parts: list[str]) -> tuple[Route, tuple[str, ...]]:
    """The route of ``method`` and the path's segments, and its variable segments; 404 if none."""
    for route in ROUTES:
        params = route.match(method, parts)
        if params is not None:
            return route, params
    raise ApiError(404, f"no such route: {method} /{'/'.join(parts)}")


class ApiHandler(Handler):
    """Serves :data:`ROUTES` for the monitor."""

    server: ApiServer

    @property
    def monitor(self) -> MonitorView:
        """The running monitor."""
        monitor: MonitorView = self.server.app
        return monitor

    def _route(self, method: str) -> None:
        try:
            self._check_access(method)
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, max_num_fields=20).items()}
            parts = [p for p in url.path.split("/") if p]
            route, params = find_route(method, parts)
            status, reply = route.handle(Request(self.monitor, params, query, self._body))
            if isinstance(reply, Raw):
                self.send_body(status, reply.body, reply.content_type)
            else:
                self.send_json(status, reply)
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


def make_api_server(monitor: MonitorView, host: str, port: int) -> Server:
    """A bound (not yet started) API server, on TLS when the monitor has a certificate."""
    server = ApiServer((host, port), ApiHandler, monitor)
    server.authorities = allowed_authorities(host, server.port)
    settings = monitor.settings
    if settings.tls_cert and settings.tls_key:
        server.use_tls(settings.tls_cert, settings.tls_key)
    return server
