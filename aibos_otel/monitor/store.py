"""The monitor's SQLite store: error groups, alerts, silences and the notification outbox.

WAL mode with ``synchronous=NORMAL``: a committed transaction survives the process being
killed (``kill -9``), which is what "an acknowledged batch is never lost" needs; only a power
loss can drop the last commits. The schema is versioned with ``PRAGMA user_version`` and
upgraded by the ordered migrations below, each in its own transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aibos_otel.fingerprint import group_fingerprint
from aibos_otel.policy.model import DEFAULT_MAX_ERROR_GROUPS

MAX_TRACE_IDS = 10
MAX_CACHED_GROUPS = 10_000  # raised to the error-group cap + 1 (every group cached), up to the next
MAX_CACHED_GROUPS_CEILING = 100_001
OVERFLOW_FINGERPRINT = "overflow"
"""The one group that occurrences of new fingerprints are counted into past the error-group cap."""
OVERFLOW_TYPE = "ErrorGroupCapReached"
_UPDATE_GROUP = (
    "UPDATE error_groups SET count=count+?, first_seen_ns=?, last_seen_ns=?, "
    "services=COALESCE(?, services), environments=COALESCE(?, environments), trace_ids=?, "
    "status='open', resolved_at_ns=NULL, regressions=regressions+?"
)
_UPDATE_SAMPLE = ", exc_type=?, message=?, stacktrace=? WHERE fingerprint=?"
MAX_LIST_VALUES = 20
SAMPLE_STACK_LIMIT = 16_384

MIGRATIONS: tuple[str, ...] = (
    # 1: error groups
    """
    CREATE TABLE error_groups (
        fingerprint TEXT PRIMARY KEY,
        exc_type TEXT NOT NULL,
        message TEXT NOT NULL,
        stacktrace TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_seen_ns INTEGER NOT NULL,
        last_seen_ns INTEGER NOT NULL,
        services TEXT NOT NULL,
        environments TEXT NOT NULL,
        trace_ids TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        resolved_at_ns INTEGER,
        regressions INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX error_groups_last_seen ON error_groups (last_seen_ns DESC);
    """,
    # 2: alerts (one row per episode), silences, notification outbox
    """
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        rule TEXT NOT NULL,
        labels TEXT NOT NULL,
        annotations TEXT NOT NULL,
        state TEXT NOT NULL,
        value REAL NOT NULL,
        active_at_ns INTEGER NOT NULL,
        fired_at_ns INTEGER,
        resolved_at_ns INTEGER,
        updated_at_ns INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX alerts_state ON alerts (state);
    CREATE INDEX alerts_key ON alerts (key);
    CREATE TABLE silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at_ns INTEGER NOT NULL,
        ends_at_ns INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        comment TEXT NOT NULL,
        created_at_ns INTEGER NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        alert_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at_ns INTEGER NOT NULL,
        next_attempt_ns INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending',
        last_error TEXT NOT NULL DEFAULT '',
        sent_at_ns INTEGER
    );
    CREATE INDEX outbox_due ON outbox (status, channel, next_attempt_ns);
    """,
    # 3: error groups per service. Every group keeps its row; it gains the exception's own
    # fingerprint, and a group seen in exactly one service takes that service's group key
    # (aibos_group_fingerprint: aibos_otel.fingerprint.group_fingerprint, registered on the
    # connection), so its next occurrences under the default `errors.group_by: service` count
    # into it. A group seen in several services keeps its key: it stays listed, as it was, and
    # their next occurrences open one group per service (with `group_by: fleet` it continues).
    """
    ALTER TABLE error_groups ADD COLUMN exception_fingerprint TEXT NOT NULL DEFAULT '';
    UPDATE error_groups SET exception_fingerprint = fingerprint;
    UPDATE error_groups SET fingerprint = aibos_group_fingerprint(fingerprint, json_extract(services, '$[0]'))
        WHERE fingerprint != 'overflow' AND json_array_length(services) = 1;
    CREATE INDEX error_groups_exception ON error_groups (exception_fingerprint);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(slots=True)
class ErrorEvent:
    """One error occurrence (an error/fatal log record or an error span)."""

    fingerprint: str
    exc_type: str
    message: str
    stacktrace: str
    service: str
    environment: str
    trace_id: str
    time_ns: int
    exception_fingerprint: str = ""
    """The exception's own fingerprint (``aibos_otel.fingerprint``) when :attr:`fingerprint`, the
    group's, also holds the service (policy ``errors.group_by: service``); "" when they are one."""


@dataclass(slots=True)
class _GroupDelta:
    event: ErrorEvent
    count: int = 0
    first_ns: int = 0
    last_ns: int = 0
    services: set[str] = field(default_factory=set)
    environments: set[str] = field(default_factory=set)
    trace_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _GroupRow:
    """The columns of an ``error_groups`` row that an update merges into (decoded)."""

    count: int
    first_seen_ns: int
    last_seen_ns: int
    services: list[str]
    environments: list[str]
    trace_ids: list[str]
    status: str


@dataclass(frozen=True, slots=True)
class GroupChange:
    """A group that is new, or seen again after it was resolved (a regression)."""

    fingerprint: str
    kind: str  # "new" | "regression"
    exc_type: str
    message: str
    service: str
    environment: str


def overflow_message(cap: int, folded: int) -> str:
    """The overflow group's message: the cap and how many occurrences it holds."""
    return (
        f"error-group cap reached ({cap} groups, policy limits.error_groups): {folded} occurrence(s) "
        "of new error groups were folded into this group"
    )


def _fold(into: _GroupDelta | None, d: _GroupDelta) -> _GroupDelta:
    """Add one fingerprint's occurrences to the overflow delta."""
    if into is None:
        return _GroupDelta(
            d.event, d.count, d.first_ns, d.last_ns, set(d.services), set(d.environments), list(d.trace_ids)
        )
    into.count += d.count
    into.first_ns = min(into.first_ns, d.first_ns)
    if d.last_ns >= into.last_ns:
        into.last_ns = d.last_ns
        into.event = d.event
    if len(into.services) < MAX_LIST_VALUES:
        into.services |= d.services
    if len(into.environments) < MAX_LIST_VALUES:
        into.environments |= d.environments
    into.trace_ids = (into.trace_ids + [t for t in d.trace_ids if t not in into.trace_ids])[-MAX_TRACE_IDS:]
    return into


def _merge_list(old: Sequence[str], new: Sequence[str], limit: int) -> list[str]:
    merged = list(old)
    for item in new:
        if item and item not in merged:
            merged.append(item)
    return merged[-limit:]


class Store:
    """One SQLite database in the data directory, shared by the monitor's threads."""

    def __init__(
        self,
        path: Path,
        *,
        max_error_groups: int = DEFAULT_MAX_ERROR_GROUPS,
        on_overflow: Callable[[int], None] | None = None,
    ) -> None:
        """``max_error_groups``: the cap (``limits.error_groups``); ``on_overflow(n)`` is called
        after a batch folded ``n`` occurrences into the overflow group."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.create_function("aibos_group_fingerprint", 2, group_fingerprint, deterministic=True)
        # Write-through copy of the error_groups rows that ingest merges into: each batch then
        # updates its groups without reading and JSON-decoding them first. This store is the
        # table's only writer; entries are dropped when a group is resolved or pruned.
        self._groups: dict[str, _GroupRow] = {}
        self.max_error_groups = max_error_groups
        self._max_cached = min(max(MAX_CACHED_GROUPS, max_error_groups + 1), MAX_CACHED_GROUPS_CEILING)
        self._on_overflow = on_overflow
        self.migrate()
        # Groups other than the overflow group, and whether that one exists: the cap check on
        # the ingest path reads these instead of counting rows. Recounted after a prune.
        self._real_groups = 0
        self._has_overflow = False
        self._recount()

    # -- plumbing ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements in one ``BEGIN IMMEDIATE`` transaction under the store's lock."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        with self._lock:
            return list(self._db.execute(sql, params))

    def schema_version(self) -> int:
        """The schema version the database is at."""
        return int(self.query("PRAGMA user_version")[0][0])

    def migrate(self) -> None:
        """Apply every migration the database has not seen yet."""
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} has schema version {current}; this aibos-otel knows up to {SCHEMA_VERSION}"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction() as db:
                for statement in MIGRATIONS[version - 1].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={version}")

    def _recount(self) -> None:
        with self._lock:
            self._real_groups = int(
                self._db.execute(
                    "SELECT COUNT(*) FROM error_groups WHERE fingerprint != ?", (OVERFLOW_FINGERPRINT,)
                ).fetchone()[0]
            )
            self._has_overflow = (
                self._db.execute(
                    "SELECT 1 FROM error_groups WHERE fingerprint = ?", (OVERFLOW_FINGERPRINT,)
                ).fetchone()
                is not None
            )

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        with self._lock:
            self._db.close()

    def prune(self, now_ns: int, keep_ns: int, error_groups_keep_ns: int = 0) -> int:
        """Delete delivered or failed notifications and resolved alert episodes older than
        ``keep_ns``, and error groups not seen for ``error_groups_keep_ns`` (0: keep forever)."""
        cutoff = now_ns - keep_ns
        with self.transaction() as db:
            self._groups.clear()
            groups = 0
            if error_groups_keep_ns:
                groups = db.execute(
                    "DELETE FROM error_groups WHERE last_seen_ns < ?", (now_ns - error_groups_keep_ns,)
                ).rowcount
            sent = db.execute(
                "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND created_at_ns < ?", (cutoff,)
            ).rowcount
            alerts = db.execute(
                "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at_ns < ?", (cutoff,)
            ).rowcount
            if groups:
                self._recount()
        return int(sent + alerts + groups)

    # -- error groups -----------------------------------------------------------------------
    def record_errors(self, events: Sequence[ErrorEvent]) -> list[GroupChange]:
        """Add occurrences to their groups in one transaction; return new and regressed groups."""
        deltas: dict[str, _GroupDelta] = {}
        for ev in events:
            delta = deltas.get(ev.fingerprint)
            if delta is None:
                delta = deltas[ev.fingerprint] = _GroupDelta(ev, first_ns=ev.time_ns, last_ns=ev.time_ns)
            delta.count += 1
            delta.first_ns = min(delta.first_ns, ev.time_ns)
            if ev.time_ns >= delta.last_ns:
                delta.last_ns = ev.time_ns
                delta.event = ev  # the newest occurrence is the sample
            delta.services.add(ev.service)
            delta.environments.add(ev.environment)
            if ev.trace_id and ev.trace_id not in delta.trace_ids:
                delta.trace_ids.append(ev.trace_id)
        try:
            return self._merge_groups(deltas)
        except BaseException:
            self._groups.clear()  # the transaction rolled back: the cached rows may be ahead of it
            raise

    def _merge_groups(self, deltas: dict[str, _GroupDelta]) -> list[GroupChange]:
        """Merge each fingerprint into its group; past the cap, new fingerprints go to the
        overflow group (existing groups keep counting)."""
        changes: list[GroupChange] = []
        folded: _GroupDelta | None = None
        added = 0
        with self.transaction() as db:
            for fp, d in deltas.items():
                row = None if fp == OVERFLOW_FINGERPRINT else self._group_row(db, fp)
                if row is None and (
                    fp == OVERFLOW_FINGERPRINT or self._real_groups + added >= self.max_error_groups
                ):
                    folded = _fold(folded, d)
                    continue
                added += row is None
                self._merge_one(db, fp, d, row, changes)
            if folded is not None:
                row = self._group_row(db, OVERFLOW_FINGERPRINT)
                newest = folded.event
                folded.event = replace(
                    newest,
                    fingerprint=OVERFLOW_FINGERPRINT,
                    exception_fingerprint=OVERFLOW_FINGERPRINT,
                    exc_type=OVERFLOW_TYPE,
                    message=overflow_message(self.max_error_groups, (row.count if row else 0) + folded.count),
                    stacktrace=(
                        f"newest folded occurrence: {newest.exc_type or 'error'}: {newest.message}\n"
                        f"{newest.stacktrace}"
                    ),
                )
                self._merge_one(db, OVERFLOW_FINGERPRINT, folded, row, changes, always_sample=True)
        self._real_groups += added
        if folded is not None:
            self._has_overflow = True
            if self._on_overflow is not None:
                self._on_overflow(folded.count)
        return changes

    def _merge_one(
        self,
        db: sqlite3.Connection,
        fp: str,
        d: _GroupDelta,
        row: _GroupRow | None,
        changes: list[GroupChange],
        *,
        always_sample: bool = False,
    ) -> None:
        ev = d.event
        stack = ev.stacktrace[:SAMPLE_STACK_LIMIT]
        if row is None:
            row = _GroupRow(
                d.count,
                d.first_ns,
                d.last_ns,
                sorted(d.services)[:MAX_LIST_VALUES],
                sorted(d.environments)[:MAX_LIST_VALUES],
                d.trace_ids[-MAX_TRACE_IDS:],
                "open",
            )
            db.execute(
                "INSERT INTO error_groups (fingerprint, exc_type, message, stacktrace, count, "
                "first_seen_ns, last_seen_ns, services, environments, trace_ids, exception_fingerprint) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    fp,
                    ev.exc_type,
                    ev.message,
                    stack,
                    row.count,
                    row.first_seen_ns,
                    row.last_seen_ns,
                    json.dumps(row.services),
                    json.dumps(row.environments),
                    json.dumps(row.trace_ids),
                    ev.exception_fingerprint or fp,
                ),
            )
            self._remember(fp, row)
            changes.append(GroupChange(fp, "new", ev.exc_type, ev.message, ev.service, ev.environment))
            return
        regressed = row.status == "resolved"
        newer = always_sample or d.last_ns >= row.last_seen_ns
        services = _merge_list(row.services, sorted(d.services), MAX_LIST_VALUES)
        environments = _merge_list(row.environments, sorted(d.environments), MAX_LIST_VALUES)
        trace_ids = _merge_list(row.trace_ids, d.trace_ids, MAX_TRACE_IDS)
        # The cached copy is updated in place: it is this row, as the UPDATE leaves it.
        row.count += d.count
        row.first_seen_ns = min(row.first_seen_ns, d.first_ns)
        row.last_seen_ns = max(row.last_seen_ns, d.last_ns)
        row.status = "open"
        params: tuple[object, ...] = (
            d.count,
            row.first_seen_ns,
            row.last_seen_ns,
            None if services == row.services else json.dumps(services),
            None if environments == row.environments else json.dumps(environments),
            json.dumps(trace_ids),
            1 if regressed else 0,
        )
        row.services, row.environments, row.trace_ids = services, environments, trace_ids
        if newer:  # the newest occurrence becomes the sample
            db.execute(_UPDATE_GROUP + _UPDATE_SAMPLE, (*params, ev.exc_type, ev.message, stack, fp))
        else:
            db.execute(_UPDATE_GROUP + " WHERE fingerprint=?", (*params, fp))
        self._remember(fp, row)
        if regressed:
            changes.append(GroupChange(fp, "regression", ev.exc_type, ev.message, ev.service, ev.environment))

    def _group_row(self, db: sqlite3.Connection, fingerprint: str) -> _GroupRow | None:
        row = self._groups.get(fingerprint)
        if row is not None:
            return row
        found = db.execute(
            "SELECT count, first_seen_ns, last_seen_ns, services, environments, trace_ids, status "
            "FROM error_groups WHERE fingerprint=?",
            (fingerprint,),
        ).fetchone()
        if found is None:
            return None
        return _GroupRow(
            found["count"],
            found["first_seen_ns"],
            found["last_seen_ns"],
            json.loads(found["services"]),
            json.loads(found["environments"]),
            json.loads(found["trace_ids"]),
            found["status"],
        )

    def _remember(self, fingerprint: str, row: _GroupRow) -> None:
        if len(self._groups) >= self._max_cached and fingerprint not in self._groups:
            self._groups.clear()
        self._groups[fingerprint] = row

    def error_groups(
        self, *, limit: int = 100, status: str | None = None, before: tuple[int, str] | None = None
    ) -> list[dict[str, Any]]:
        """Groups, most recently seen first (ties by fingerprint, descending); ``before`` is the
        ``(last_seen_ns, fingerprint)`` of the last group of the previous page."""
        sql = "SELECT * FROM error_groups"
        where: list[str] = []
        params: list[Any] = []
        if status:
            where.append("status=?")
            params.append(status)
        if before is not None:
            where.append("(last_seen_ns < ? OR (last_seen_ns = ? AND fingerprint < ?))")
            params += [before[0], before[0], before[1]]
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY last_seen_ns DESC, fingerprint DESC LIMIT ?"
        params.append(limit)
        return [_group_dict(row) for row in self.query(sql, params)]

    def error_group(self, fingerprint: str) -> dict[str, Any] | None:
        """One group by fingerprint, or ``None``."""
        rows = self.query("SELECT * FROM error_groups WHERE fingerprint=?", (fingerprint,))
        return _group_dict(rows[0]) if rows else None

    def resolve_error_group(self, fingerprint: str, now_ns: int) -> bool:
        """Mark a group resolved; the next occurrence is a regression. False if unknown."""
        with self.transaction() as db:
            self._groups.pop(fingerprint, None)
            cur = db.execute(
                "UPDATE error_groups SET status='resolved', resolved_at_ns=? WHERE fingerprint=?",
                (now_ns, fingerprint),
            )
            return cur.rowcount > 0

    def error_group_count(self) -> int:
        """How many groups exist (the overflow group included); kept in memory, not counted."""
        with self._lock:
            return self._real_groups + self._has_overflow


def _group_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "fingerprint": row["fingerprint"],
        "exception_fingerprint": row["exception_fingerprint"] or row["fingerprint"],
        "type": row["exc_type"],
        "message": row["message"],
        "stacktrace": row["stacktrace"],
        "count": row["count"],
        "first_seen_ns": row["first_seen_ns"],
        "last_seen_ns": row["last_seen_ns"],
        "services": json.loads(row["services"]),
        "environments": json.loads(row["environments"]),
        "trace_ids": json.loads(row["trace_ids"]),
        "status": row["status"],
        "resolved_at_ns": row["resolved_at_ns"],
        "regressions": row["regressions"],
    }
