"""The durable notification outbox and the workers that deliver it.

Notifications are rows in SQLite, written in the same transaction as the alert change that
caused them; a worker thread per channel takes the due rows, sends them (rows due together
for the same rule become one message where the channel allows), and marks them sent. A
failure is retried with exponential backoff (1 s doubling, capped at 5 min) for as long as it
takes: a channel that is down never blocks ingestion or the other channels, and never loses
the alert. A refusal that no retry can fix (an HTTP 4xx other than 408/429) marks the row
``failed`` with the reason, visible in ``/metrics`` and the store.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.store import Store

log = logging.getLogger(__name__)

BACKOFF_START_NS = 1_000_000_000
BACKOFF_MAX_NS = 300_000_000_000


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One pending notification."""

    id: int
    channel: str
    alert_id: str
    kind: str  # firing | resolved
    alert: Mapping[str, Any]
    attempts: int


class DeliveryError(Exception):
    """A send failed; ``retryable`` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


Sender = Callable[[list[OutboxItem]], None]


class Outbox:
    """Rows in the ``outbox`` table."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._wake: dict[str, threading.Event] = {}

    def enqueue(
        self,
        db: sqlite3.Connection,
        *,
        channel: str,
        alert_id: str,
        kind: str,
        alert: Mapping[str, Any],
        due_ns: int,
    ) -> None:
        """Add a notification inside the caller's transaction."""
        db.execute(
            "INSERT INTO outbox (channel, alert_id, kind, payload, created_at_ns, next_attempt_ns) "
            "VALUES (?,?,?,?,?,?)",
            (channel, alert_id, kind, json.dumps(alert), due_ns, due_ns),
        )

    def event(self, channel: str) -> threading.Event:
        """The event that wakes ``channel``'s worker."""
        return self._wake.setdefault(channel, threading.Event())

    def wake(self, channels: Iterable[str]) -> None:
        """Tell workers new rows are there."""
        for channel in channels:
            self.event(channel).set()

    def due(self, channel: str, now_ns: int, limit: int = 100) -> list[OutboxItem]:
        """Pending rows whose time has come, oldest first.

        A row waits while an older row of the same alert is still pending (say, a "firing"
        notification being retried), so a channel never hears "resolved" before "firing".
        """
        rows = self.store.query(
            "SELECT id, channel, alert_id, kind, payload, attempts, next_attempt_ns FROM outbox "
            "WHERE status='pending' AND channel=? ORDER BY id LIMIT ?",
            (channel, limit * 5),
        )
        out: list[OutboxItem] = []
        waiting: set[str] = set()
        for r in rows:
            if r["next_attempt_ns"] > now_ns or r["alert_id"] in waiting:
                waiting.add(r["alert_id"])
                continue
            out.append(
                OutboxItem(
                    r["id"], r["channel"], r["alert_id"], r["kind"], json.loads(r["payload"]), r["attempts"]
                )
            )
            if len(out) >= limit:
                break
        return out

    def next_due_ns(self, channel: str) -> int | None:
        """When the next pending row of ``channel`` is due."""
        row = self.store.query(
            "SELECT MIN(next_attempt_ns) FROM outbox WHERE status='pending' AND channel=?", (channel,)
        )[0]
        return int(row[0]) if row[0] is not None else None

    def mark_sent(self, ids: list[int], now_ns: int) -> None:
        """Delivered."""
        with self.store.transaction() as db:
            db.executemany(
                "UPDATE outbox SET status='sent', sent_at_ns=?, attempts=attempts+1 WHERE id=?",
                [(now_ns, i) for i in ids],
            )

    def mark_failed(self, items: list[OutboxItem], now_ns: int, error: str, retryable: bool) -> None:
        """Schedule a retry with backoff, or give up on a permanent refusal."""
        with self.store.transaction() as db:
            for item in items:
                if retryable:
                    delay = min(BACKOFF_START_NS * (2 ** min(item.attempts, 20)), BACKOFF_MAX_NS)
                    db.execute(
                        "UPDATE outbox SET attempts=attempts+1, next_attempt_ns=?, last_error=? WHERE id=?",
                        (now_ns + delay, error[:500], item.id),
                    )
                else:
                    db.execute(
                        "UPDATE outbox SET attempts=attempts+1, status='failed', last_error=? WHERE id=?",
                        (error[:500], item.id),
                    )

    def counts(self) -> dict[str, int]:
        """Rows by status."""
        return {r[0]: r[1] for r in self.store.query("SELECT status, COUNT(*) FROM outbox GROUP BY status")}


class Dispatcher:
    """One delivery thread per channel."""

    def __init__(
        self,
        outbox: Outbox,
        senders: Mapping[str, Sender],
        metrics: DerivedMetrics,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.outbox = outbox
        self.senders = dict(senders)
        self.metrics = metrics
        self.clock = clock
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start a worker per channel."""
        for channel in self.senders:
            thread = threading.Thread(
                target=self._run, args=(channel,), name=f"notify-{channel}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the workers (a send in progress finishes first)."""
        self._stop.set()
        for channel in self.senders:
            self.outbox.event(channel).set()
        for thread in self._threads:
            thread.join(timeout=15)
        self._threads.clear()

    def _run(self, channel: str) -> None:
        wake = self.outbox.event(channel)
        while not self._stop.is_set():
            wake.clear()
            try:
                self.deliver_due(channel)
                next_due = self.outbox.next_due_ns(channel)
            except Exception:
                log.exception("notification worker for %s failed; retrying", channel)
                next_due = self.clock() + BACKOFF_START_NS
            timeout = 5.0 if next_due is None else max(0.0, (next_due - self.clock()) / 1e9)
            wake.wait(min(timeout, 5.0))

    def deliver_due(self, channel: str) -> int:
        """Send every due row of ``channel`` now; returns how many were delivered."""
        items = self.outbox.due(channel, self.clock())
        delivered = 0
        for batch in _batches(items):
            try:
                self.senders[channel](batch)
            except DeliveryError as exc:
                outcome = "retry" if exc.retryable else "failed"
                log.warning("notification to %s failed (%s): %s", channel, outcome, exc)
                self.outbox.mark_failed(batch, self.clock(), str(exc), exc.retryable)
                for _ in batch:
                    self.metrics.count_notification(channel, outcome)
                continue
            except Exception as exc:  # a notifier bug: retry later rather than lose the alert
                log.exception("notifier %s crashed", channel)
                self.outbox.mark_failed(batch, self.clock(), repr(exc), True)
                for _ in batch:
                    self.metrics.count_notification(channel, "retry")
                continue
            self.outbox.mark_sent([i.id for i in batch], self.clock())
            for _ in batch:
                self.metrics.count_notification(channel, "sent")
            delivered += len(batch)
        return delivered


def _batches(items: list[OutboxItem]) -> list[list[OutboxItem]]:
    """Group rows of the same rule and kind (firing/resolved) into one message."""
    groups: dict[tuple[str, str], list[OutboxItem]] = {}
    for item in items:
        groups.setdefault((str(item.alert.get("rule")), item.kind), []).append(item)
    return list(groups.values())
