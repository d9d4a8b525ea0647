"""Alert lifecycle: pending -> firing -> resolved, deduplication, escalation, repeats, silences.

An alert is identified by its *key* (rule name + group labels): while one is pending or
firing, more samples for the same key update it instead of opening another (dedup). Each
episode is one row in the ``alerts`` table, written together with the outbox rows of the
notifications it causes, in one transaction: after a crash, the alert is still firing, the
channels it already paged are remembered (no duplicate page), and undelivered notifications
are still in the outbox.

Notification plan: a rule's ``escalation`` steps (``after`` firing for that long, notify those
channels); ``escalation: immediate`` or no escalation means every channel at once. Channels
come from the rule (or the record's ``alert.channels``), else the first matching routes, else
the default channels. A channel already notified is notified again after ``repeat_interval``
(Alertmanager channels every minute, since Alertmanager resolves alerts that are not re-sent).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aibos_otel.alerting import (
    DEFAULT_SEVERITY,
    FATAL_SEVERITY,
    IMMEDIATE,
    NO_ESCALATION,
    STANDARD,
    STANDARD_DELAY_S,
)
from aibos_otel.fingerprint import normalize_message
from aibos_otel.monitor.evaluate.rules import Sample
from aibos_otel.monitor.evaluate.silence_spec import parse_silence
from aibos_otel.monitor.labels import ENVIRONMENT_LABELS
from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.notify.outbox import Outbox
from aibos_otel.monitor.receive.ingest import LogAlert
from aibos_otel.monitor.redact import redact_text
from aibos_otel.monitor.store import GroupChange, Store
from aibos_otel.policy.logql import parse_duration
from aibos_otel.policy.model import Policy, Rule
from aibos_otel.policy.templates import render
from aibos_otel.saferegex import SafePattern, UnsafePatternError, compile_anchored

log = logging.getLogger(__name__)

ALERTMANAGER_RESEND_NS = 60 * 10**9
STANDARD_ESCALATION_NS = STANDARD_DELAY_S * 10**9
PERSIST_EVERY_NS = 10 * 10**9
MAX_ACTIVE_SILENCES = 1000  # each is matched against every alert: a bound on that work
ACTIVE_STATES = ("pending", "firing")
CAP_ALERT = "AlertCapReached"
"""The one alert that new alert series are folded into past ``limits.active_alerts``."""
MAX_FOLDED_KEYS = 10_000  # folded series remembered (to count each once) per AlertCapReached episode


@dataclass
class Alert:
    """One alert episode."""

    id: str
    key: str
    rule: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str
    value: float
    active_at_ns: int
    updated_at_ns: int
    fired_at_ns: int | None = None
    resolved_at_ns: int | None = None
    last_seen_ns: int = 0
    source: str = "rule"  # rule | log | error_group | cap (AlertCapReached)
    steps: list[tuple[int, list[str]]] = field(default_factory=list)
    notified: dict[str, int] = field(default_factory=dict)
    for_ns: int = 0
    resolve_after_ns: int = 0  # log and error-group alerts resolve after this long without a new record
    silenced: bool = False
    stored: bool = field(default=False, compare=False)  # has a row in the store
    # A rule alert's annotation templates, rendered with its current value by
    # refresh_annotations() when the alert is read, stored or sent, not for every batch: the
    # value moves with each batch, and rendering plus redaction then cost more than the batch's
    # other alert work together.
    templates: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    rendered_value: float | None = field(default=None, compare=False, repr=False)

    def refresh_annotations(self) -> None:
        """Render the annotation templates with the current value, if it changed."""
        if self.templates and self.rendered_value != self.value:
            self.annotations = {
                k: redact_text(render(v, self.labels, self.value)) for k, v in self.templates.items()
            }
            self.rendered_value = self.value

    def data(self) -> str:
        """The JSON column."""
        return json.dumps(
            {
                "last_seen_ns": self.last_seen_ns,
                "source": self.source,
                "steps": self.steps,
                "notified": self.notified,
                "for_ns": self.for_ns,
                "resolve_after_ns": self.resolve_after_ns,
                "silenced": self.silenced,
            }
        )

    def public(self) -> dict[str, Any]:
        """The API view."""
        self.refresh_annotations()
        out = asdict(self)
        for private in ("steps", "stored", "templates", "rendered_value"):
            out.pop(private)
        out["channels_notified"] = sorted(out.pop("notified"))
        return out


def alert_key(rule: str, labels: Mapping[str, str]) -> str:
    """Identity of an alert for deduplication (also the PagerDuty dedup key)."""
    text = rule + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _row_to_alert(row: Any) -> Alert:
    data = json.loads(row["data"])
    return Alert(
        id=row["id"],
        key=row["key"],
        rule=row["rule"],
        labels=json.loads(row["labels"]),
        annotations=json.loads(row["annotations"]),
        state=row["state"],
        value=row["value"],
        active_at_ns=row["active_at_ns"],
        updated_at_ns=row["updated_at_ns"],
        fired_at_ns=row["fired_at_ns"],
        resolved_at_ns=row["resolved_at_ns"],
        last_seen_ns=data["last_seen_ns"],
        source=data["source"],
        steps=[(int(a), list(c)) for a, c in data["steps"]],
        notified={k: int(v) for k, v in data["notified"].items()},
        for_ns=data["for_ns"],
        resolve_after_ns=data["resolve_after_ns"],
        silenced=data.get("silenced", False),
        stored=True,
    )


def load_alerts(
    store: Store,
    *,
    include_resolved: bool = False,
    limit: int = 500,
    before: tuple[int, str] | None = None,
) -> list[Alert]:
    """Alerts from the store, newest first (ties by id, descending); ``before`` is the
    ``(active_at_ns, id)`` of the last alert of the previous page."""
    where: list[str] = [] if include_resolved else ["state IN ('pending', 'firing')"]
    params: list[object] = []
    if before is not None:
        where.append("(active_at_ns < ? OR (active_at_ns = ? AND id < ?))")
        params += [before[0], before[0], before[1]]
    sql = "SELECT * FROM alerts" + (" WHERE " + " AND ".join(where) if where else "")
    rows = store.query(sql + " ORDER BY active_at_ns DESC, id DESC LIMIT ?", (*params, limit))
    return [_row_to_alert(r) for r in rows]


class SilenceLimitError(ValueError):
    """Too many silences in force to add another."""


def _page_order(alert: Alert) -> tuple[int, str]:
    return (alert.active_at_ns, alert.id)


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes notifications for alerts whose labels match every matcher, between two times."""

    id: str
    matchers: tuple[tuple[str, str, bool], ...]  # (label, value, is_regex)
    starts_at_ns: int
    ends_at_ns: int
    created_by: str
    comment: str
    # Compiled regex matchers, in matcher order (None for equality). A silence's regex comes from
    # an API request and runs for every alert under the alert lock, so it runs on RE2 (linear
    # time): Python's ``re`` let ``(a+)+`` stall ingest for minutes.
    patterns: tuple[SafePattern | None, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        compiled = tuple(
            compile_anchored(value, what=f"silence matcher {name!r}") if is_regex else None
            for name, value, is_regex in self.matchers
        )
        object.__setattr__(self, "patterns", compiled)

    def active(self, now_ns: int) -> bool:
        """In force now?"""
        return self.starts_at_ns <= now_ns < self.ends_at_ns

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Do the labels match every matcher?"""
        for (name, value, _), pattern in zip(self.matchers, self.patterns, strict=True):
            actual = labels.get(name, "")
            if pattern is not None:
                if pattern.fullmatch(actual) is None:
                    return False
            elif actual != value:
                return False
        return True

    def public(self, now_ns: int) -> dict[str, Any]:
        """The API view."""
        return {
            "id": self.id,
            "matchers": [{"name": n, "value": v, "isRegex": r} for n, v, r in self.matchers],
            "starts_at_ns": self.starts_at_ns,
            "ends_at_ns": self.ends_at_ns,
            "created_by": self.created_by,
            "comment": self.comment,
            "status": "active"
            if self.active(now_ns)
            else ("pending" if now_ns < self.starts_at_ns else "expired"),
        }


class AlertManager:
    """Owns active alerts; called by the rule engine, the ingest path, the tick and the API."""

    def __init__(
        self,
        policy: Policy,
        store: Store,
        outbox: Outbox,
        metrics: DerivedMetrics,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.policy = policy
        self.store = store
        self.outbox = outbox
        self.metrics = metrics
        self.clock = clock
        self.started_ns = clock()
        self._lock = threading.RLock()
        self.max_active = policy.limits.active_alerts
        """The cap: past it, new alert series are folded into one ``AlertCapReached`` alert."""
        self.cap_key = alert_key(CAP_ALERT, {})
        self._folded: set[str] = set()  # keys folded in the current AlertCapReached episode
        self.active: dict[str, Alert] = {a.key: a for a in load_alerts(store, limit=self.max_active + 1)}
        self.silences: list[Silence] = self._load_silences()
        self._range_ns = {r.name: r.expr.range_agg.range_ns for r in policy.rules}
        # alerts of rules that are no longer in the policy (or disabled) can never clear: resolve them
        live = {r.name for r in policy.rules if r.enabled}
        orphans = [a for a in self.active.values() if a.source == "rule" and a.rule not in live]
        for alert in orphans:
            self._resolve(alert, self.started_ns)
        self._advance(orphans, self.started_ns)
        self._update_gauges()

    # -- inputs -----------------------------------------------------------------------------
    def on_samples(self, rule: Rule, samples: Sequence[Sample], now_ns: int, complete: bool) -> None:
        """Rule results: samples are the groups whose value passes the comparison."""
        with self._lock:
            changed: list[Alert] = []
            seen: set[str] = set()
            cap: Alert | None = None
            for sample in samples:
                key = alert_key(rule.name, sample.labels)
                seen.add(key)
                alert = self.active.get(key)
                if alert is None:
                    if not self._room():
                        cap = self._fold(key, now_ns)
                        continue
                    labels = {**rule.labels, **sample.labels, "alertname": rule.name}
                    alert = self._new_alert(key, rule.name, labels, "rule", now_ns)
                    alert.for_ns = rule.for_ns
                    alert.steps = self._plan(rule.channels, rule.escalation_steps(), labels)
                    self.active[key] = alert
                alert.value = sample.value
                alert.last_seen_ns = now_ns
                alert.templates = rule.annotations
                changed.append(alert)
            if complete:
                warm = now_ns - self.started_ns >= self._range_ns.get(rule.name, 0)
                for alert in list(self.active.values()):
                    if alert.source != "rule" or alert.rule != rule.name or alert.key in seen:
                        continue
                    if alert.state == "pending":
                        alert.state = "inactive"  # never fired: dropped without notice, as in Prometheus
                        alert.resolved_at_ns = now_ns
                        changed.append(alert)
                    elif warm:
                        # after a restart the window is empty until it has run for a whole range:
                        # an empty window then means "not seen yet", not "resolved"
                        self._resolve(alert, now_ns)
                        changed.append(alert)
            self._advance(self._with_cap(changed, cap), now_ns)

    def log_alerts(self, records: Sequence[LogAlert], now_ns: int) -> None:
        """Records carrying ``alert.*`` attributes fire at once with their own channels."""
        with self._lock:
            changed = []
            cap: Alert | None = None
            for rec in records:
                attrs = rec.attributes
                name = str(attrs.get("name") or "log-alert")
                level = rec.labels.get("level", "")
                severity = str(
                    attrs.get("severity") or (FATAL_SEVERITY if level == "fatal" else DEFAULT_SEVERITY)
                )
                group = {
                    k: rec.labels[k]
                    for k in ("service_name", *ENVIRONMENT_LABELS, "level")
                    if rec.labels.get(k)
                }
                group["severity"] = severity
                # "card 42 declined" and "card 43 declined" are one alert
                key = alert_key(name, {**group, "body": normalize_message(rec.body)})
                alert = self.active.get(key)
                if alert is None:
                    if not self._room():
                        cap = self._fold(key, now_ns)
                        continue
                    labels = {**group, "alertname": name}
                    alert = self._new_alert(key, name, labels, "log", now_ns)
                    alert.resolve_after_ns = self.policy.alerting.resolve_after_ns
                    channels = _as_names(attrs.get("channels"))
                    channels = [c for c in channels if self._usable(c)]  # unknown/disabled: skipped
                    steps = _record_escalation(channels, attrs.get("escalation"))
                    alert.steps = self._plan(channels or None, steps, labels)
                    self.active[key] = alert
                alert.value += 1
                alert.last_seen_ns = now_ns
                alert.annotations = {"summary": redact_text(rec.body)}
                changed.append(alert)
            self._advance(self._with_cap(changed, cap), now_ns)

    def error_group_changes(self, changes: Sequence[GroupChange], now_ns: int) -> None:
        """New and regressed error groups alert when the policy says so."""
        cfg = self.policy.alerting.error_groups
        with self._lock:
            changed = []
            cap: Alert | None = None
            for change in changes:
                if not {
                    "new": cfg.on_new,
                    "regression": cfg.on_regression,
                    "escalation": cfg.on_escalation,
                }.get(change.kind, False):
                    continue
                name = _ERROR_GROUP_ALERTS[change.kind]
                labels = {
                    "alertname": name,
                    "fingerprint": change.fingerprint,
                    "service_name": change.service,
                    "severity": cfg.severity,
                }
                if change.environment:
                    labels[ENVIRONMENT_LABELS[0]] = change.environment
                if change.release and change.kind == "regression":
                    labels["release"] = change.release  # a regression in a later release alerts again
                key = alert_key(name, labels)
                if key in self.active:
                    continue
                if not self._room():
                    cap = self._fold(key, now_ns)
                    continue
                alert = self._new_alert(key, name, labels, "error_group", now_ns)
                alert.resolve_after_ns = self.policy.alerting.resolve_after_ns
                alert.value = 1
                what = _ERROR_GROUP_WHAT[change.kind]
                alert.annotations = {
                    "summary": redact_text(
                        f"{what} in {change.service}: {change.exc_type or 'error'}: {change.message}"[:500]
                    ),
                    "fingerprint": change.fingerprint,
                }
                alert.steps = self._plan(cfg.channels, None, labels)
                self.active[key] = alert
                changed.append(alert)
            self._advance(self._with_cap(changed, cap), now_ns)

    def tick(self, now_ns: int) -> None:
        """Time-driven transitions: pending -> firing, escalation, repeats, quiet resolves, silences."""
        with self._lock:
            changed = []
            for alert in list(self.active.values()):
                if alert.resolve_after_ns and now_ns - alert.last_seen_ns >= alert.resolve_after_ns:
                    self._resolve(alert, now_ns)
                changed.append(alert)
            self._advance(changed, now_ns)
            if self.cap_key not in self.active:
                self._folded.clear()  # the AlertCapReached episode (if any) is over

    # -- lifecycle ----------------------------------------------------------------------------
    def _new_alert(self, key: str, rule: str, labels: dict[str, str], source: str, now_ns: int) -> Alert:
        return Alert(
            id=f"{key}-{now_ns}",
            key=key,
            rule=rule,
            labels=labels,
            annotations={},
            state="pending",
            value=0.0,
            active_at_ns=now_ns,
            updated_at_ns=now_ns,
            last_seen_ns=now_ns,
            source=source,
        )

    def _room(self) -> bool:
        """May another alert open? (``AlertCapReached`` itself does not count.)"""
        return len(self.active) - (self.cap_key in self.active) < self.max_active

    def _fold(self, key: str, now_ns: int) -> Alert:
        """Past the cap: count the series ``key`` into the ``AlertCapReached`` alert instead.

        Each series counts once per episode (up to ``MAX_FOLDED_KEYS`` remembered; beyond that
        every fold counts). The alert stays active while folds keep coming and resolves after
        ``resolve_after`` without one.
        """
        cap = self.active.get(self.cap_key)
        if cap is None:
            labels = {"alertname": CAP_ALERT, "severity": "warning"}
            cap = self._new_alert(self.cap_key, CAP_ALERT, labels, "cap", now_ns)
            cap.resolve_after_ns = self.policy.alerting.resolve_after_ns
            cap.steps = self._plan(None, None, labels)
            self.active[self.cap_key] = cap
            self._folded.clear()
        if key not in self._folded:
            if len(self._folded) < MAX_FOLDED_KEYS:
                self._folded.add(key)
            cap.value += 1
            self.metrics.count_overflow("active_alerts")
            self.metrics.count_notification("*", "dropped_alert_limit")  # the older name for it
        cap.last_seen_ns = now_ns
        return cap

    def _with_cap(self, changed: list[Alert], cap: Alert | None) -> list[Alert]:
        """``changed`` plus the ``AlertCapReached`` alert when this call folded series into it."""
        if cap is None:
            return changed
        cap.annotations = {
            "summary": (
                f"Active-alert cap reached ({self.max_active} alerts, policy limits.active_alerts): "
                f"{int(cap.value)} new alert series were folded into this alert instead of opening"
            )
        }
        return [*changed, cap]

    def _plan(
        self,
        channels: Sequence[str] | None,
        steps: Sequence[tuple[int, Sequence[str]]] | None,
        labels: Mapping[str, str],
    ) -> list[tuple[int, list[str]]]:
        if steps:
            return [(after, list(chans)) for after, chans in steps]
        if channels is not None and not any(self._usable(c) for c in channels):
            # e.g. a record asking for "pagerduty" on a monitor without one: route it instead
            # of dropping it on the floor
            channels = None
        if channels is None:
            routed: list[str] = []
            for route in self.policy.alerting.routes:
                if route.matches(labels):
                    routed.extend(c for c in route.channels if c not in routed)
                    if not route.continue_:
                        break
            channels = routed or list(self.policy.alerting.default_channels)
        return [(0, list(channels))]

    def _usable(self, channel: str) -> bool:
        spec = self.policy.channels.get(channel)
        return spec is not None and spec.enabled

    def _resolve(self, alert: Alert, now_ns: int) -> None:
        if alert.state == "firing":
            alert.state = "resolved"
        else:
            alert.state = "inactive"
        alert.resolved_at_ns = now_ns

    def _repeat_ns(self, channel: str) -> int:
        spec = self.policy.channels.get(channel)
        if spec is not None and spec.type == "alertmanager":
            return min(ALERTMANAGER_RESEND_NS, self.policy.alerting.repeat_interval_ns)
        return self.policy.alerting.repeat_interval_ns

    def is_silenced(self, labels: Mapping[str, str], now_ns: int) -> bool:
        """Does an active silence match?"""
        return any(s.active(now_ns) and s.matches(labels) for s in self.silences)

    def _advance(self, alerts: Iterable[Alert], now_ns: int) -> None:
        """Apply due transitions and notifications, then persist alerts and outbox rows together.

        A row is written when the alert is new, its state, silence or notified channels changed,
        or its stored copy is older than ``PERSIST_EVERY_NS`` (value and last-seen time only move
        on: writing them for every batch would cost a transaction per batch).
        """
        to_write: dict[str, Alert] = {}
        notes: list[tuple[str, Alert, str]] = []
        for alert in alerts:
            before = (alert.state, alert.silenced, len(notes), dict(alert.notified))
            self._transition(alert, now_ns, notes)
            after_state = (alert.state, alert.silenced, len(notes), alert.notified)
            if not alert.stored or before != after_state or now_ns - alert.updated_at_ns >= PERSIST_EVERY_NS:
                alert.updated_at_ns = now_ns
                to_write[alert.id] = alert
        if not to_write:
            return
        self._persist(to_write.values(), notes, now_ns)
        if notes:
            self.outbox.wake({c for c, _, _ in notes})
        self._update_gauges()

    def _transition(self, alert: Alert, now_ns: int, notes: list[tuple[str, Alert, str]]) -> None:
        """Pending -> firing once ``for`` has passed; the notifications now due go to ``notes``."""
        if alert.state == "pending" and now_ns - alert.active_at_ns >= alert.for_ns:
            alert.state = "firing"
            alert.fired_at_ns = now_ns
        alert.silenced = self.is_silenced(alert.labels, now_ns)
        # A silenced firing alert sends nothing; once the silence ends the due channels get it.
        if alert.state == "firing" and not alert.silenced:
            fired = alert.fired_at_ns or now_ns
            for after, channels in alert.steps:
                if now_ns - fired < after:
                    continue
                for channel in channels:
                    spec = self.policy.channels.get(channel)
                    if spec is None or not spec.enabled:
                        continue
                    last = alert.notified.get(channel)
                    if last is None or now_ns - last >= self._repeat_ns(channel):
                        notes.append((channel, alert, "firing"))
                        alert.notified[channel] = now_ns
        if alert.state in ("resolved", "inactive"):
            for channel in alert.notified:
                spec = self.policy.channels.get(channel)
                if spec is not None and spec.enabled and spec.send_resolved:
                    notes.append((channel, alert, "resolved"))
            self.active.pop(alert.key, None)

    def _persist(self, alerts: Iterable[Alert], notes: list[tuple[str, Alert, str]], now_ns: int) -> None:
        """Write the alerts and enqueue their notifications in one transaction."""
        with self.store.transaction() as db:
            for alert in alerts:
                alert.refresh_annotations()
                if alert.state == "inactive" and alert.fired_at_ns is None:
                    db.execute("DELETE FROM alerts WHERE id=?", (alert.id,))
                    continue
                db.execute(
                    "INSERT INTO alerts (id, key, rule, labels, annotations, state, value, active_at_ns, "
                    "fired_at_ns, resolved_at_ns, updated_at_ns, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT(id) DO UPDATE SET labels=excluded.labels, annotations=excluded.annotations, "
                    "state=excluded.state, value=excluded.value, fired_at_ns=excluded.fired_at_ns, "
                    "resolved_at_ns=excluded.resolved_at_ns, updated_at_ns=excluded.updated_at_ns, "
                    "data=excluded.data",
                    (
                        alert.id,
                        alert.key,
                        alert.rule,
                        json.dumps(alert.labels),
                        json.dumps(alert.annotations),
                        alert.state,
                        alert.value,
                        alert.active_at_ns,
                        alert.fired_at_ns,
                        alert.resolved_at_ns,
                        alert.updated_at_ns,
                        alert.data(),
                    ),
                )
                alert.stored = True
            for channel, alert, kind in notes:
                self.outbox.enqueue(
                    db,
                    channel=channel,
                    alert_id=alert.id,
                    kind=kind,
                    alert=alert.public(),
                    due_ns=now_ns + self.policy.alerting.group_wait_ns,
                )

    def _update_gauges(self) -> None:
        self.metrics.set_gauge("alerts_firing", sum(1 for a in self.active.values() if a.state == "firing"))
        self.metrics.set_gauge("alerts_pending", sum(1 for a in self.active.values() if a.state == "pending"))

    # -- silences -----------------------------------------------------------------------------
    def _load_silences(self) -> list[Silence]:
        rows = self.store.query("SELECT * FROM silences ORDER BY created_at_ns")
        out: list[Silence] = []
        for r in rows:
            try:
                out.append(
                    Silence(
                        r["id"],
                        tuple((m[0], m[1], bool(m[2])) for m in json.loads(r["matchers"])),
                        r["starts_at_ns"],
                        r["ends_at_ns"],
                        r["created_by"],
                        r["comment"],
                    )
                )
            except UnsafePatternError as exc:
                # stored by an older version that compiled with ``re``: skipped, not fatal
                log.warning("silence %s is not loaded: %s", r["id"], exc)
        return out

    def add_silence(self, spec: Mapping[str, Any], now_ns: int) -> Silence:
        """Create a silence from an API body; raises ``ValueError`` when it is invalid."""
        checked = parse_silence(spec, now_ns)
        matchers, starts, ends = list(checked.matchers), checked.starts_at_ns, checked.ends_at_ns
        with self._lock:
            active = sum(1 for s in self.silences if s.ends_at_ns > now_ns)
        if active >= MAX_ACTIVE_SILENCES:
            raise SilenceLimitError(
                f"{active} silences are in force; the limit is {MAX_ACTIVE_SILENCES}: expire some first"
            )
        silence = Silence(
            uuid.uuid4().hex,
            tuple(matchers),
            starts,
            ends,
            checked.created_by,
            checked.comment,
        )
        with self._lock:
            with self.store.transaction() as db:
                db.execute(
                    "INSERT INTO silences VALUES (?,?,?,?,?,?,?)",
                    (
                        silence.id,
                        json.dumps(matchers),
                        starts,
                        ends,
                        silence.created_by,
                        silence.comment,
                        now_ns,
                    ),
                )
            self.silences.append(silence)
        return silence

    def expire_silence(self, silence_id: str, now_ns: int) -> bool:
        """End a silence now; False when unknown."""
        with self._lock:
            for i, s in enumerate(self.silences):
                if s.id == silence_id:
                    ended = Silence(
                        s.id, s.matchers, s.starts_at_ns, min(s.ends_at_ns, now_ns), s.created_by, s.comment
                    )
                    self.silences[i] = ended
                    with self.store.transaction() as db:
                        db.execute("UPDATE silences SET ends_at_ns=? WHERE id=?", (ended.ends_at_ns, s.id))
                    return True
        return False

    def snapshot(self) -> list[Alert]:
        """Active alerts (pending and firing), newest first."""
        with self._lock:
            for alert in self.active.values():
                alert.refresh_annotations()
            return sorted(self.active.values(), key=_page_order, reverse=True)

    def page(self, limit: int, before: tuple[int, str] | None = None) -> tuple[list[dict[str, Any]], bool]:
        """One page of active alerts (API views), newest first, after the ``(active_at_ns, id)``
        ``before``; and whether more follow. Only the page's annotations are rendered."""
        with self._lock:
            ordered = sorted(self.active.values(), key=_page_order, reverse=True)
            if before is not None:
                ordered = [a for a in ordered if _page_order(a) < before]
            return [a.public() for a in ordered[:limit]], len(ordered) > limit


_ERROR_GROUP_ALERTS = {
    "new": "new-error-group",
    "regression": "error-regression",
    "escalation": "error-escalation",
}
_ERROR_GROUP_WHAT = {
    "new": "New error",
    "regression": "Error is back after being resolved",
    "escalation": "Error rate escalated above its baseline",
}


def _as_names(value: object) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return []


def _record_escalation(
    channels: list[str], escalation: object
) -> tuple[tuple[int, tuple[str, ...]], ...] | None:
    """The SDK's ``alert.escalation``: ``immediate`` (every channel now), ``none`` (the first
    channel only), ``standard`` or absent (the first channel now, the others after 10 minutes),
    or a duration such as ``5m`` (the first now, the others after that long).
    ``None`` means every channel at once (also when no channels were named: routing decides)."""
    if not channels or escalation == IMMEDIATE:
        return None
    first, rest = (channels[0],), tuple(channels[1:])
    if escalation == NO_ESCALATION or not rest:
        return ((0, first),)
    delay = STANDARD_ESCALATION_NS
    if isinstance(escalation, str) and escalation not in ("", STANDARD):
        # the SDK validates; an unknown value falls back to the standard delay
        with contextlib.suppress(ValueError):
            delay = parse_duration(escalation)
    return ((0, first), (delay, rest))
