"""From decoded OTLP to everything the monitor derives: metrics, rule windows, error groups, alerts.

One pass over each batch. Work per record is kept small because most records are INFO and
match no rule: the label set is built once per (resource, level), the rules it matches are
cached per label set, and attributes are only scanned for ``exception.*`` and ``alert.*``.
Error groups are committed to SQLite before the export call returns, so an acknowledged batch
is never lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from aibos_otel.fingerprint import fingerprint, group_fingerprint
from aibos_otel.levels import LEVEL_BY_SEVERITY, level_for
from aibos_otel.monitor.labels import environment_of, resource_labels
from aibos_otel.monitor.metrics import BatchCounts, DerivedMetrics
from aibos_otel.monitor.otlp import any_text, any_value
from aibos_otel.monitor.receive.grouping import apply_rules, string_attributes, user_of
from aibos_otel.monitor.receive.scan import ScopeScan, scan_logs
from aibos_otel.monitor.redact import redact_text
from aibos_otel.monitor.releases import MAX_RELEASE_CHARS
from aibos_otel.monitor.store import ErrorEvent, GroupChange, Store
from aibos_otel.policy.errors_policy import GroupingRule

STATUS_CODE_ERROR = 2


_SCAN_FIRST = frozenset("ea")
_WARN = 13  # first WARN severity number
_N_SEVERITIES = len(LEVEL_BY_SEVERITY)


@dataclass(slots=True)
class LogAlert:
    """A record that carries ``alert.*`` attributes: it alerts at once, on its own terms."""

    labels: dict[str, str]
    attributes: dict[str, object]
    body: str
    time_ns: int


class RuleFeed(Protocol):
    """One rule's input for one label set (see ``aibos_otel.monitor.evaluate.rules``)."""

    presence_only: bool
    """Only whether records arrived matters (``absent_over_time`` without line filters): the
    ingest path offers it once per batch, at the batch's arrival, instead of once per record."""

    def offer(self, body: str, time_ns: int) -> None:
        """Offer one record of this label set to the rule."""


class RuleSink(Protocol):
    """What the ingest path needs from the rule engine."""

    generation: int
    """Changes when feeds handed out before may no longer count (the ingest path's cache drops them)."""

    def feeds_for(self, labels: dict[str, str]) -> Sequence[RuleFeed]:
        """The rules whose stream selector matches ``labels`` (cached by the engine)."""

    def after_batch(self, now_ns: int) -> None:
        """Evaluate what the batch touched."""


class AlertSink(Protocol):
    """What the ingest path needs from the alert lifecycle."""

    def log_alerts(self, alerts: Sequence[LogAlert], now_ns: int) -> None:
        """Records with ``alert.*`` attributes."""

    def error_group_changes(self, changes: Sequence[GroupChange], now_ns: int) -> None:
        """New and regressed error groups."""


@dataclass(slots=True)
class IngestResult:
    """What to tell the client: how many items were rejected and why (OTLP partial success)."""

    rejected: int = 0
    message: str = ""
    accepted: int = 0


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every record of one (resource, level) shares: its labels and the rules it feeds."""

    labels: dict[str, str]
    feeds: Sequence[RuleFeed]
    """Rules that need every record (counts, rates, line filters)."""
    presence: Sequence[RuleFeed]
    """Rules that need one offer per batch (:attr:`RuleFeed.presence_only`)."""
    level: str
    is_error: bool
    warn_or_above: bool
    """Exceptions on records of this level make error groups (not on TRACE..INFO, as in Sentry)."""


@dataclass(slots=True)
class _Resource:
    """What every batch from one resource (by its attributes) shares; cached across batches."""

    base: dict[str, str]
    service: str
    environment: str
    metric_service: str
    release: str
    """``service.version`` (the release error groups count by)."""
    plans: dict[int, _Plan] = field(default_factory=dict)  # by severity number


_RESOURCE_CACHE_SIZE = 1024
_BUDGET_CHECK_EVERY = 63  # look at the clock every 64 records: cheap, and fine-grained enough


@dataclass(slots=True)
class _Exception:
    type: str = ""
    message: str = ""
    stacktrace: str = ""
    fingerprint: str = ""


@dataclass(slots=True)
class _Batch:
    """What one logs batch collects while its records are worked (``Ingestor.ingest_logs``)."""

    receive_ns: int
    counts: BatchCounts = field(default_factory=BatchCounts)
    result: IngestResult = field(default_factory=IngestResult)
    errors: list[ErrorEvent] = field(default_factory=list)
    log_alerts: list[LogAlert] = field(default_factory=list)
    present: set[RuleFeed] = field(default_factory=set)
    """Presence-only feeds this batch reached."""
    deadline: float = 0.0
    over_budget: int = 0
    read_users: bool = True
    """Whether error records may carry a user id: False when the request's bytes hold no
    ``user.id`` (``enduser.id`` contains it too), so the common batch reads no attributes for it."""


@dataclass
class Ingestor:
    """Turns export requests into derived state; thread-safe (one batch at a time)."""

    store: Store
    metrics: DerivedMetrics
    rules: RuleSink | None = None
    alerts: AlertSink | None = None
    clock: Callable[[], int] = time.time_ns
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while a batch is derived; the periodic evaluation takes it too."""
    native_scan: bool = True
    """Use the Rust scan when it is installed (tests turn it off to check both give one answer)."""
    budget_seconds: float = 5.0
    """Longest one logs batch may hold :attr:`lock` for its per-record work (rules, error groups,
    alerts). Every step is bounded on its own (RE2 patterns, capped groups), but a batch of 16 MB
    of error records on a busy machine could still hold the lock long enough for exports behind it
    to time out; past the budget the rest of the batch is counted but not evaluated, and the client
    is told how many (``partial_success``) and why."""
    per_service_groups: bool = True
    """Error groups per ``service.name`` (policy ``errors.group_by: service``, the default);
    ``False`` groups one exception across the fleet."""
    grouping: Sequence[GroupingRule] = ()
    """The policy's grouping rules (``errors.grouping``)."""
    grouping_attributes: bool = False
    """Some grouping rule matches on attributes (``Errors.rules_need_attributes``)."""
    _resources: dict[bytes, _Resource] = field(default_factory=dict, repr=False)
    _rules_generation: int = -1

    def ingest_logs(self, request: ExportLogsServiceRequest, raw: bytes | None = None) -> IngestResult:
        """Derive everything from one logs export request.

        :func:`aibos_otel.monitor.receive.scan.scan_logs` counts every record and finds the few that need
        a step of their own: records that feed a rule, WARN and above (error groups; exceptions on
        TRACE..INFO records do not make error groups, as in Sentry's logging integration), and
        records with ``alert.*`` attributes. ``raw`` is the serialised request when the caller has
        it (the scan reads it).
        """
        batch = _Batch(self.clock())
        batch.read_users = raw is None or b"user.id" in raw
        with self.lock:
            batch.deadline = time.monotonic() + self.budget_seconds
            scans = scan_logs(request, raw, batch.receive_ns, batch.counts, use_native=self.native_scan)
            if self.rules is not None and self.rules.generation != self._rules_generation:
                self._resources.clear()  # their plans hold rule feeds that may have been dropped
                self._rules_generation = self.rules.generation
            resource_index = -1
            resource: _Resource | None = None
            for scan in scans:
                rl = request.resource_logs[scan.resource]
                if resource is None or scan.resource != resource_index:
                    resource_index = scan.resource
                    resource = self._resource(rl.resource)
                worked = self._triage(scan, resource, batch)
                if not worked:
                    continue  # the common case: INFO records without alert.*, feeding no rule
                todo = sorted(set(worked))
                if batch.over_budget:
                    batch.over_budget += len(todo)
                    continue
                sl = rl.scope_logs[scan.scope]
                self._work(sl.log_records, todo, scan, resource, batch, module=sl.scope.name)
            self._finish(batch)
        return batch.result

    def _triage(self, scan: ScopeScan, resource: _Resource, batch: _Batch) -> list[int]:
        """Count one scope's records by level; the indices of those that need a step of their own."""
        result, plans = batch.result, resource.plans
        by_service_level, metric_service = batch.counts.by_service_level, resource.metric_service
        if scan.rejected:
            result.rejected += scan.rejected
            result.message = "trace_id must be 16 bytes and span_id 8 bytes (or empty)"
        worked: list[int] = []
        for sev, indices in scan.by_severity.items():
            result.accepted += len(indices)
            if not 0 < sev < _N_SEVERITIES:
                worked += indices  # the level comes from the text, record by record
                continue
            plan = plans.get(sev)
            if plan is None:
                plan = plans[sev] = self._plan(resource.base, LEVEL_BY_SEVERITY[sev])
            by_service_level[(metric_service, plan.level)] += len(indices)
            batch.present.update(plan.presence)
            if plan.feeds or plan.is_error or scan.alerts is None:
                worked += indices
            elif sev >= _WARN and scan.exceptions is None:
                worked += indices  # any of them may carry an exception
        if scan.alerts:
            worked += scan.alerts
        if scan.exceptions:
            worked += scan.exceptions.keys()
        return worked

    def _work(
        self,
        records: Sequence[LogRecord],
        todo: list[int],
        scan: ScopeScan,
        resource: _Resource,
        batch: _Batch,
        *,
        module: str,
    ) -> None:
        """The step of its own for each record in ``todo``: rule feeds, error events, log alerts."""
        plans, base, receive_ns = resource.plans, resource.base, batch.receive_ns
        errors, log_alerts, deadline = batch.errors, batch.log_alerts, batch.deadline
        exceptions = scan.exceptions
        alert_set = None if scan.alerts is None else set(scan.alerts)
        for done, i in enumerate(todo):
            if not done & _BUDGET_CHECK_EVERY and time.monotonic() > deadline:
                batch.over_budget += len(todo) - done
                return
            lr = records[i]
            sev = lr.severity_number
            t = lr.time_unix_nano or lr.observed_time_unix_nano
            ts = t if 0 < t < receive_ns else receive_ns  # never in the future
            plan = plans.get(sev)
            if plan is None:
                plan = self._plan(base, level_for(sev, lr.severity_text))
                batch.counts.by_service_level[(resource.metric_service, plan.level)] += 1
                batch.present.update(plan.presence)
            body: str | None = None
            if plan.feeds:
                body = any_text(lr.body)
                for feed in plan.feeds:
                    feed.offer(body, ts)
            maybe_alert = alert_set is None or i in alert_set
            if not (maybe_alert or plan.warn_or_above):
                continue
            exc: _Exception | None = None
            alert_attrs: dict[str, object] | None = None
            if maybe_alert or exceptions is None:
                exc, alert_attrs = _scan_attributes(lr.attributes)
            elif i in exceptions:
                texts = exceptions[i]
                exc = _Exception(*texts) if texts is not None else _scan_attributes(lr.attributes)[0]
            if exc is not None and not plan.warn_or_above:
                exc = None
            if exc is not None or plan.is_error:
                if body is None:
                    body = any_text(lr.body)
                errors.append(
                    self._log_error(
                        lr, exc or _Exception(), body, resource=resource, batch=batch, ts=ts, module=module
                    )
                )
            if alert_attrs:
                if body is None:
                    body = any_text(lr.body)
                log_alerts.append(LogAlert(plan.labels, alert_attrs, body, ts))

    def _log_error(
        self,
        lr: LogRecord,
        exc: _Exception,
        body: str,
        *,
        resource: _Resource,
        batch: _Batch,
        ts: int,
        module: str,
    ) -> ErrorEvent:
        """The error event of one log record: its group (grouping rules), release and user."""
        event = _error_event(
            exc,
            body,
            resource.service,
            resource.environment,
            per_service=self.per_service_groups,
            trace_id=lr.trace_id,
            time_ns=ts,
        )
        event.release = resource.release
        if batch.read_users:
            event.user = user_of(lr.attributes)
        if self.grouping:
            self._regroup(event, module, lr.attributes)
        return event

    def _regroup(self, event: ErrorEvent, module: str, attributes: Sequence[KeyValue]) -> None:
        """Apply the policy's grouping rules to an occurrence (its group, then per service)."""
        fields = {
            "type": event.exc_type,
            "message": event.message,
            "module": module,
            "service": event.service,
        }
        attrs = string_attributes(attributes) if self.grouping_attributes else {}
        fp, rule = apply_rules(self.grouping, event.exception_fingerprint, fields, attrs)
        if rule:
            event.exception_fingerprint = fp
            event.fingerprint = group_fingerprint(fp, event.service) if self.per_service_groups else fp

    def _finish(self, batch: _Batch) -> None:
        """What a batch changes as a whole: error groups, metrics, rules, alerts."""
        result, receive_ns = batch.result, batch.receive_ns
        if batch.over_budget:
            result.rejected += batch.over_budget
            result.accepted -= batch.over_budget
            result.message = (
                f"the monitor's per-batch time budget ({self.budget_seconds:g} s) ran out: "
                f"{batch.over_budget} records were counted but not evaluated (rules, error groups, "
                "alerts); send smaller batches"
            )
            self.metrics.count_over_budget(batch.over_budget)
        changes = self.store.record_errors(_redact_samples(batch.errors)) if batch.errors else []
        self.metrics.add_batch(batch.counts, receive_ns / 1e9)
        for feed in batch.present:
            feed.offer("", receive_ns)
        if self.rules is not None:
            self.rules.after_batch(receive_ns)
        if self.alerts is not None:
            if batch.log_alerts:
                self.alerts.log_alerts(batch.log_alerts, receive_ns)
            if changes:
                self.alerts.error_group_changes(changes, receive_ns)

    def _resource(self, resource: Resource) -> _Resource:
        key = resource.SerializeToString(deterministic=True)
        found = self._resources.get(key)
        if found is None:
            base = resource_labels((kv.key, any_value(kv.value)) for kv in resource.attributes)
            service = base["service_name"]
            if len(self._resources) >= _RESOURCE_CACHE_SIZE:
                self._resources.clear()
            release = next(
                (any_text(kv.value) for kv in resource.attributes if kv.key == "service.version"), ""
            )[:MAX_RELEASE_CHARS]
            found = self._resources[key] = _Resource(
                base, service, environment_of(base), self.metrics.service_label(service), release
            )
        return found

    def _plan(self, base: dict[str, str], level: str) -> _Plan:
        labels = dict(base, level=level)
        feeds = self.rules.feeds_for(labels) if self.rules else ()
        return _Plan(
            labels,
            tuple(f for f in feeds if not f.presence_only),
            tuple(f for f in feeds if f.presence_only),
            level,
            level in ("error", "fatal"),
            level in ("warn", "error", "fatal"),
        )

    def ingest_traces(self, request: ExportTraceServiceRequest) -> IngestResult:
        """Error spans feed error groups; other spans are only counted."""
        receive_ns = self.clock()
        errors: list[ErrorEvent] = []
        result = IngestResult()
        for rs in request.resource_spans:
            base = resource_labels((kv.key, any_value(kv.value)) for kv in rs.resource.attributes)
            release = next(
                (any_text(kv.value) for kv in rs.resource.attributes if kv.key == "service.version"), ""
            )[:MAX_RELEASE_CHARS]
            for ss in rs.scope_spans:
                for span in ss.spans:
                    result.accepted += 1
                    exc: _Exception | None = None
                    for event in span.events:
                        if event.name == "exception":
                            exc, _ = _scan_attributes(event.attributes)
                    if exc is None and span.status.code != STATUS_CODE_ERROR:
                        continue
                    err = _error_event(
                        exc or _Exception(message=span.status.message or span.name),
                        span.name,
                        base["service_name"],
                        environment_of(base),
                        per_service=self.per_service_groups,
                        trace_id=span.trace_id,
                        time_ns=min(span.end_time_unix_nano or receive_ns, receive_ns),
                    )
                    err.release = release
                    err.user = user_of(span.attributes)
                    if self.grouping:
                        self._regroup(err, ss.scope.name, span.attributes)
                    errors.append(err)
        if errors:
            with self.lock:
                changes = self.store.record_errors(_redact_samples(errors))
                if changes and self.alerts is not None:
                    self.alerts.error_group_changes(changes, receive_ns)
        return result

    def ingest_metrics(self, request: ExportMetricsServiceRequest) -> IngestResult:
        """Metrics are accepted and counted (data points); nothing is derived from them yet."""
        result = IngestResult()
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    kind = metric.WhichOneof("data")
                    if kind is not None:
                        result.accepted += len(getattr(metric, kind).data_points)
        return result


def _error_event(
    exc: _Exception,
    fallback_message: str,
    service: str,
    environment: str,
    *,
    per_service: bool,
    trace_id: bytes,
    time_ns: int,
) -> ErrorEvent:
    """One occurrence; the exception's fingerprint is computed here when the sender did not set
    one, and the group's includes ``service.name`` unless the policy groups fleet-wide."""
    message = exc.message or fallback_message
    exception_fingerprint = exc.fingerprint or fingerprint(exc.type, exc.stacktrace, message)
    return ErrorEvent(
        fingerprint=group_fingerprint(exception_fingerprint, service)
        if per_service
        else exception_fingerprint,
        exception_fingerprint=exception_fingerprint,
        exc_type=exc.type,
        message=message,
        stacktrace=exc.stacktrace,
        service=service,
        environment=environment,
        trace_id=trace_id.hex(),
        time_ns=time_ns,
    )


def _redact_samples(events: list[ErrorEvent]) -> list[ErrorEvent]:
    """Redact the occurrence of each group that the store keeps as its sample (the newest).

    Defence in depth: the SDK redacts before sending, but other clients may not. Only one
    event per fingerprint per batch is redacted, so the cost does not grow with the error rate.
    """
    newest: dict[str, ErrorEvent] = {}
    for ev in events:
        current = newest.get(ev.fingerprint)
        if current is None or ev.time_ns >= current.time_ns:
            newest[ev.fingerprint] = ev
    for ev in newest.values():
        ev.message = redact_text(ev.message)
        ev.stacktrace = redact_text(ev.stacktrace)
    return events


def _scan_attributes(attributes: Sequence[KeyValue]) -> tuple[_Exception | None, dict[str, object] | None]:
    exc: _Exception | None = None
    alert: dict[str, object] | None = None
    for kv in attributes:
        key = kv.key
        if key[:1] not in _SCAN_FIRST:  # most attributes: one cheap test, no prefix compare
            continue
        if key.startswith("exception."):
            exc = exc or _Exception()
            name = key[10:]
            if name == "type":
                exc.type = any_text(kv.value)
            elif name == "message":
                exc.message = any_text(kv.value)
            elif name == "stacktrace":
                exc.stacktrace = any_text(kv.value)
            elif name == "fingerprint":
                exc.fingerprint = any_text(kv.value)
        elif key.startswith("alert."):
            alert = alert or {}
            alert[key[6:]] = any_value(kv.value)
    return exc, alert
