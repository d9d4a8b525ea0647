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
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aibos_otel.fingerprint import group_fingerprint
from aibos_otel.monitor.groupquery import GroupFilter
from aibos_otel.monitor.grouprows import (
    MAX_RELEASES,
    OTHER_RELEASES,
    GroupRow,
    group_dict,
    load_row,
    trim_hours,
)
from aibos_otel.monitor.groupstate import (
    HOUR_NS,
    IGNORED,
    NEW,
    ONGOING,
    REGRESSED,
    RESOLVED,
    SYSTEM_ACTOR,
    EscalationTracker,
    after_occurrences,
    status_of,
)
from aibos_otel.monitor.releases import newest
from aibos_otel.monitor.usercount import EXACT_LIMIT, UserCounter, user_hash
from aibos_otel.policy.errors_policy import Errors
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
    "last_release=?"
)
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
    # 4: error-group states, releases, affected users, histogram, merges, transitions. Every
    # group keeps its row and counts: 'resolved' stays resolved, a group that regressed before
    # is 'regressed', every other open group is 'ongoing' (it has been seen before this version).
    """
    ALTER TABLE error_groups ADD COLUMN state TEXT NOT NULL DEFAULT 'ongoing';
    UPDATE error_groups SET state = CASE WHEN status = 'resolved' THEN 'resolved'
        WHEN regressions > 0 THEN 'regressed' ELSE 'ongoing' END;
    ALTER TABLE error_groups ADD COLUMN state_detail TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE error_groups ADD COLUMN first_release TEXT NOT NULL DEFAULT '';
    ALTER TABLE error_groups ADD COLUMN last_release TEXT NOT NULL DEFAULT '';
    ALTER TABLE error_groups ADD COLUMN releases TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE error_groups ADD COLUMN histogram TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE error_groups ADD COLUMN hour INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE error_groups ADD COLUMN hour_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE error_groups ADD COLUMN release_now TEXT NOT NULL DEFAULT '';
    ALTER TABLE error_groups ADD COLUMN release_now_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE error_groups ADD COLUMN user_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE error_groups ADD COLUMN merged_into TEXT NOT NULL DEFAULT '';
    ALTER TABLE error_groups ADD COLUMN merged_count INTEGER NOT NULL DEFAULT 0;
    UPDATE error_groups SET hour = last_seen_ns / 3600000000000, hour_count = 0;
    CREATE INDEX error_groups_state ON error_groups (state, last_seen_ns DESC);
    CREATE TABLE error_group_transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        fingerprint TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        at_ns INTEGER NOT NULL
    );
    CREATE INDEX error_group_transitions_group ON error_group_transitions (fingerprint, id);
    CREATE TABLE error_group_users (fingerprint TEXT PRIMARY KEY, users BLOB NOT NULL);
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
    release: str = ""
    """``service.version`` of the sender ("" when it sets none)."""
    user: str = ""
    """``enduser.id`` or ``user.id`` of the record ("" when none)."""


@dataclass(slots=True)
class _GroupDelta:
    event: ErrorEvent
    count: int = 0
    first_ns: int = 0
    last_ns: int = 0
    services: set[str] = field(default_factory=set)
    environments: set[str] = field(default_factory=set)
    trace_ids: list[str] = field(default_factory=list)
    releases: Counter[str] = field(default_factory=Counter)
    hours: Counter[int] = field(default_factory=Counter)
    users: set[int] = field(default_factory=set)
    first_release: str = ""
    """The release of the earliest occurrence."""


@dataclass(frozen=True, slots=True)
class GroupChange:
    """A group that is new, seen again after it was resolved (a regression), or escalating."""

    fingerprint: str
    kind: str  # "new" | "regression" | "escalation"
    exc_type: str
    message: str
    service: str
    environment: str
    release: str = ""


def overflow_message(cap: int, folded: int) -> str:
    """The overflow group's message: the cap and how many occurrences it holds."""
    return (
        f"error-group cap reached ({cap} groups, policy limits.error_groups): {folded} occurrence(s) "
        "of new error groups were folded into this group"
    )


def _fold(into: _GroupDelta | None, d: _GroupDelta) -> _GroupDelta:
    """Add one fingerprint's occurrences to the overflow delta."""
    if into is None:
        into = _GroupDelta(d.event, 0, d.first_ns, d.last_ns)
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
    into.releases.update(d.releases)
    into.hours.update(d.hours)
    if len(into.users) <= EXACT_LIMIT:
        into.users |= d.users
    return into


def _merge_list(old: Sequence[str], new: Sequence[str], limit: int) -> list[str]:
    merged = list(old)
    for item in new:
        if item and item not in merged:
            merged.append(item)
    return merged[-limit:]


def _merge_releases(old: dict[str, int], new: Counter[str]) -> dict[str, int]:
    merged = dict(old)
    for release, n in new.items():
        key = release if release in merged or len(merged) < MAX_RELEASES else OTHER_RELEASES
        merged[key] = merged.get(key, 0) + n
    return merged


def _save_users(db: sqlite3.Connection, fp: str, users: UserCounter) -> None:
    db.execute(
        "INSERT INTO error_group_users (fingerprint, users) VALUES (?, ?) "
        "ON CONFLICT (fingerprint) DO UPDATE SET users=excluded.users",
        (fp, users.to_bytes()),
    )


_USER_HASHES: dict[str, int] = {}
_USER_HASH_CACHE = 50_000


def _user_hash(user: str) -> int:
    """:func:`user_hash`, remembered: active users recur, and BLAKE2b is the costly part."""
    h = _USER_HASHES.get(user)
    if h is None:
        if len(_USER_HASHES) >= _USER_HASH_CACHE:
            _USER_HASHES.clear()
        h = _USER_HASHES[user] = user_hash(user)
    return h


def _deltas(events: Sequence[ErrorEvent], redirect: dict[str, str]) -> dict[str, _GroupDelta]:
    deltas: dict[str, _GroupDelta] = {}
    for ev in events:
        fp = redirect.get(ev.fingerprint, ev.fingerprint)
        delta = deltas.get(fp)
        if delta is None:
            delta = deltas[fp] = _GroupDelta(
                ev, first_ns=ev.time_ns, last_ns=ev.time_ns, first_release=ev.release
            )
        delta.count += 1
        if ev.time_ns < delta.first_ns:
            delta.first_ns, delta.first_release = ev.time_ns, ev.release
        if ev.time_ns >= delta.last_ns:
            delta.last_ns = ev.time_ns
            delta.event = ev  # the newest occurrence is the sample
        delta.services.add(ev.service)
        delta.environments.add(ev.environment)
        if ev.trace_id and ev.trace_id not in delta.trace_ids:
            delta.trace_ids.append(ev.trace_id)
        releases, hours, hour = delta.releases, delta.hours, ev.time_ns // HOUR_NS
        releases[ev.release] = releases.get(ev.release, 0) + 1
        hours[hour] = hours.get(hour, 0) + 1
        if ev.user:
            delta.users.add(_user_hash(ev.user))
    return deltas


class Store:
    """One SQLite database in the data directory, shared by the monitor's threads."""

    def __init__(
        self,
        path: Path,
        *,
        max_error_groups: int = DEFAULT_MAX_ERROR_GROUPS,
        on_overflow: Callable[[int], None] | None = None,
        errors: Errors | None = None,
        on_transition: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """``max_error_groups``: the cap (``limits.error_groups``); ``on_overflow(n)`` is called
        after a batch folded ``n`` occurrences into the overflow group; ``errors``: the policy's
        ``errors`` section (``new_for``, escalation); ``on_transition(t)`` after each committed
        state change of a group (the audit event)."""
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
        self._groups: dict[str, GroupRow] = {}
        self.errors = errors or Errors()
        esc = self.errors.escalation
        self._escalation = EscalationTracker(
            esc.factor, esc.window_ns, esc.min_events, esc.baseline_ns, esc.enabled
        )
        self._on_transition: Callable[[dict[str, Any]], None] = on_transition or (lambda t: None)
        self._redirect: dict[str, str] = {}
        self.max_error_groups = max_error_groups
        self._max_cached = min(max(MAX_CACHED_GROUPS, max_error_groups + 1), MAX_CACHED_GROUPS_CEILING)
        self._on_overflow = on_overflow
        self.migrate()
        # Groups other than the overflow group, and whether that one exists: the cap check on
        # the ingest path reads these instead of counting rows. Recounted after a prune.
        self._real_groups = 0
        self._has_overflow = False
        self._recount()
        self._load_redirects()

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
                for table in ("error_group_transitions", "error_group_users"):
                    db.execute(
                        f"DELETE FROM {table} WHERE fingerprint NOT IN (SELECT fingerprint FROM error_groups)"
                    )
                self._recount()
                self._load_redirects()
        return int(sent + alerts + groups)

    # -- error groups -----------------------------------------------------------------------
    def record_errors(self, events: Sequence[ErrorEvent]) -> list[GroupChange]:
        """Add occurrences to their groups in one transaction; return new, regressed and
        escalating groups. State changes the occurrences cause are recorded as transitions."""
        deltas = _deltas(events, self._redirect)
        transitions: list[dict[str, Any]] = []
        try:
            changes = self._merge_groups(deltas, transitions)
        except BaseException:
            self._groups.clear()  # the transaction rolled back: the cached rows may be ahead of it
            raise
        for t in transitions:
            self._on_transition(t)
        return changes

    def _merge_groups(
        self, deltas: dict[str, _GroupDelta], transitions: list[dict[str, Any]]
    ) -> list[GroupChange]:
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
                self._merge_one(db, fp, d, row, changes=changes, transitions=transitions)
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
                self._merge_one(
                    db,
                    OVERFLOW_FINGERPRINT,
                    folded,
                    row,
                    changes=changes,
                    transitions=transitions,
                    always_sample=True,
                )
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
        row: GroupRow | None,
        *,
        changes: list[GroupChange],
        transitions: list[dict[str, Any]],
        always_sample: bool = False,
    ) -> None:
        ev = d.event
        if row is None:
            self._insert_group(db, fp, d)
            changes.append(
                GroupChange(fp, "new", ev.exc_type, ev.message, ev.service, ev.environment, ev.release)
            )
            return
        self._update_group(db, fp, d, row, always_sample)
        change = after_occurrences(
            row.state,
            row.detail,
            count_after=row.count,
            releases=d.releases,
            first_seen_ns=row.first_seen_ns,
            now_ns=d.last_ns,
            new_for_ns=self.errors.new_for_ns,
        )
        escalating = self._escalation.observe(fp, d.count, d.last_ns, row.first_seen_ns, row.hours)
        if escalating and row.state == IGNORED and row.detail.get("mode") == "escalating":
            change = (ONGOING, "escalating while ignored until it escalates", "")
        if change is not None:
            to_state, reason, release = change
            if to_state == REGRESSED:
                changes.append(
                    GroupChange(
                        fp, "regression", ev.exc_type, ev.message, ev.service, ev.environment, release
                    )
                )
            transitions.append(
                self._set_state(
                    db,
                    fp,
                    row,
                    to_state,
                    detail={},
                    actor=SYSTEM_ACTOR,
                    reason=reason,
                    now_ns=d.last_ns,
                    release=release,
                )
            )
        if escalating:
            changes.append(
                GroupChange(fp, "escalation", ev.exc_type, ev.message, ev.service, ev.environment, ev.release)
            )

    def _insert_group(self, db: sqlite3.Connection, fp: str, d: _GroupDelta) -> None:
        ev = d.event
        users = UserCounter()
        users.add(d.users)
        hour = max(d.hours)
        past = {h: n for h, n in d.hours.items() if h != hour}
        releases = _merge_releases({}, d.releases)
        first_release = d.first_release
        row = GroupRow(
            d.count,
            d.first_ns,
            d.last_ns,
            sorted(d.services)[:MAX_LIST_VALUES],
            sorted(d.environments)[:MAX_LIST_VALUES],
            d.trace_ids[-MAX_TRACE_IDS:],
            NEW,
            {},
            releases,
            first_release,
            ev.release,
            past,
            hour,
            d.hours[hour],
            users,
            users.count(),
            ev.release,
            0,
        )
        db.execute(
            "INSERT INTO error_groups (fingerprint, exc_type, message, stacktrace, count, "
            "first_seen_ns, last_seen_ns, services, environments, trace_ids, exception_fingerprint, "
            "state, releases, first_release, last_release, histogram, hour, hour_count, user_count, "
            "release_now) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                fp,
                ev.exc_type,
                ev.message,
                ev.stacktrace[:SAMPLE_STACK_LIMIT],
                row.count,
                row.first_seen_ns,
                row.last_seen_ns,
                json.dumps(row.services),
                json.dumps(row.environments),
                json.dumps(row.trace_ids),
                ev.exception_fingerprint or fp,
                NEW,
                json.dumps(releases),
                first_release,
                ev.release,
                json.dumps(past),
                hour,
                row.hour_count,
                row.user_count,
                ev.release,
            ),
        )
        if d.users:
            _save_users(db, fp, users)
        self._remember(fp, row)

    def _update_group(
        self, db: sqlite3.Connection, fp: str, d: _GroupDelta, row: GroupRow, always_sample: bool
    ) -> None:
        ev = d.event
        newer = always_sample or d.last_ns >= row.last_seen_ns
        services = _merge_list(row.services, sorted(d.services), MAX_LIST_VALUES)
        environments = _merge_list(row.environments, sorted(d.environments), MAX_LIST_VALUES)
        row.trace_ids = _merge_list(row.trace_ids, d.trace_ids, MAX_TRACE_IDS)
        # The cached copy is updated in place: it is this row, as the UPDATE leaves it.
        row.count += d.count
        row.first_seen_ns = min(row.first_seen_ns, d.first_ns)
        row.last_seen_ns = max(row.last_seen_ns, d.last_ns)
        if newer:
            row.last_release = ev.release
        sets = [_UPDATE_GROUP]
        params: list[object] = [
            d.count,
            row.first_seen_ns,
            row.last_seen_ns,
            None if services == row.services else json.dumps(services),
            None if environments == row.environments else json.dumps(environments),
            json.dumps(row.trace_ids),
            row.last_release,
        ]
        row.releases = _merge_releases(row.releases, d.releases)
        if len(d.releases) == 1 and row.release_now in d.releases:  # the common case: one integer
            row.release_now_count += d.count
            sets.append(", release_now_count=?")
            params.append(row.release_now_count)
        else:
            row.release_now, row.release_now_count = ev.release, 0
            sets.append(", releases=?, release_now=?, release_now_count=0")
            params += [json.dumps(row.releases), row.release_now]
        row.services, row.environments = services, environments
        if set(d.hours) == {row.hour}:  # the common case: this hour's bucket, two integers
            row.hour_count += d.count
        else:
            hours = row.hours()
            for h, n in d.hours.items():
                hours[h] = hours.get(h, 0) + n
            row.hour = max(hours)
            row.hour_count = hours.pop(row.hour)
            row.past_hours = trim_hours(hours, row.hour)
            sets.append(", histogram=?")
            params.append(json.dumps(row.past_hours))
        sets.append(", hour=?, hour_count=?")
        params += [row.hour, row.hour_count]
        if d.users and row.users.add(d.users):
            # the sketch (up to 16 KiB) lives in a table of its own, written only when it
            # changed: SQLite rewrites a whole record on UPDATE, so it stays out of this row
            row.user_count = row.users.count()
            sets.append(", user_count=?")
            params.append(row.user_count)
            _save_users(db, fp, row.users)
        if newer:  # the newest occurrence becomes the sample
            sets.append(", exc_type=?, message=?, stacktrace=?")
            params += [ev.exc_type, ev.message, ev.stacktrace[:SAMPLE_STACK_LIMIT]]
        db.execute("".join(sets) + " WHERE fingerprint=?", (*params, fp))
        self._remember(fp, row)

    def _set_state(
        self,
        db: sqlite3.Connection,
        fp: str,
        row: GroupRow,
        to_state: str,
        *,
        detail: dict[str, Any],
        actor: str,
        reason: str,
        now_ns: int,
        release: str = "",
    ) -> dict[str, Any]:
        """Move a group to ``to_state`` and record the transition (inside the caller's transaction)."""
        transition = {
            "fingerprint": fp,
            "from_state": row.state,
            "to_state": to_state,
            "actor": actor,
            "reason": reason,
            "detail": dict(detail, **({"release": release} if release else {})),
            "at_ns": now_ns,
        }
        db.execute(
            "UPDATE error_groups SET state=?, status=?, state_detail=?, resolved_at_ns=?, "
            "regressions=regressions+? WHERE fingerprint=?",
            (
                to_state,
                status_of(to_state),
                json.dumps(detail),
                now_ns if status_of(to_state) == "resolved" else None,
                1 if to_state == REGRESSED else 0,
                fp,
            ),
        )
        db.execute(
            "INSERT INTO error_group_transitions (fingerprint, from_state, to_state, actor, reason, "
            "detail, at_ns) VALUES (?,?,?,?,?,?,?)",
            (fp, row.state, to_state, actor, reason, json.dumps(transition["detail"]), now_ns),
        )
        row.state, row.detail = to_state, detail
        return transition

    def change_state(
        self, fp: str, to_state: str, *, detail: dict[str, Any], actor: str, reason: str, now_ns: int
    ) -> dict[str, Any] | None:
        """A person's action: move a group to ``to_state`` (with its ``detail``); the transition,
        or ``None`` for an unknown group. The ``release``/``after`` of a resolve in a release
        come from the caller (``group_actions``)."""
        with self.transaction() as db:
            row = self._group_row(db, self._redirect.get(fp, fp))
            if row is None:
                return None
            fp = self._redirect.get(fp, fp)
            transition = self._set_state(
                db, fp, row, to_state, detail=detail, actor=actor, reason=reason, now_ns=now_ns
            )
            self._remember(fp, row)
        self._on_transition(transition)
        return transition

    def _group_row(self, db: sqlite3.Connection, fingerprint: str) -> GroupRow | None:
        row = self._groups.get(fingerprint)
        if row is not None:
            return row
        return load_row(db, fingerprint)

    def _remember(self, fingerprint: str, row: GroupRow) -> None:
        if len(self._groups) >= self._max_cached and fingerprint not in self._groups:
            self._groups.clear()
        self._groups[fingerprint] = row

    def forget_group(self, fingerprint: str) -> None:
        """Drop a group's cached row (after a change made with SQL of its own)."""
        with self._lock:
            self._groups.pop(fingerprint, None)
            self._escalation.forget(fingerprint)

    def set_redirect(self, source: str, target: str | None) -> None:
        """Occurrences of ``source`` count into ``target`` (a merge); ``None`` ends that."""
        with self._lock:
            if target is None:
                self._redirect.pop(source, None)
            else:
                self._redirect[source] = target
                for fp, into in list(self._redirect.items()):
                    if into == source:
                        self._redirect[fp] = target

    def _load_redirects(self) -> None:
        rows = self.query("SELECT fingerprint, merged_into FROM error_groups WHERE merged_into != ''")
        self._redirect = {r["fingerprint"]: r["merged_into"] for r in rows}

    def error_groups(
        self,
        *,
        limit: int = 100,
        status: str | None = None,
        before: tuple[int, str] | None = None,
        filters: GroupFilter | None = None,
    ) -> list[dict[str, Any]]:
        """Groups (merged-away groups left out), most recently seen first unless ``filters``
        sorts otherwise (ties by fingerprint, descending); ``before`` is the sort key and
        fingerprint of the last group of the previous page."""
        f = filters or GroupFilter()
        if status:
            f = replace(f, status=status)
        sql, params = f.sql(before, limit)
        return [group_dict(row) for row in self.query(sql, params)]

    def error_group(self, fingerprint: str) -> dict[str, Any] | None:
        """One group by fingerprint with its histogram and last transitions, or ``None``."""
        rows = self.query("SELECT * FROM error_groups WHERE fingerprint=?", (fingerprint,))
        if not rows:
            return None
        group = group_dict(rows[0], detail=True)
        group["transitions"] = [
            {
                "from_state": t["from_state"],
                "to_state": t["to_state"],
                "actor": t["actor"],
                "reason": t["reason"],
                "detail": json.loads(t["detail"]),
                "at_ns": t["at_ns"],
            }
            for t in self.query(
                "SELECT * FROM error_group_transitions WHERE fingerprint=? ORDER BY id DESC LIMIT 50",
                (fingerprint,),
            )
        ]
        group["merged"] = [
            r["fingerprint"]
            for r in self.query(
                "SELECT fingerprint FROM error_groups WHERE merged_into=? LIMIT 100", (fingerprint,)
            )
        ]
        return group

    def resolve_error_group(self, fingerprint: str, now_ns: int, actor: str = "api") -> bool:
        """Mark a group resolved; the next occurrence is a regression. False if unknown."""
        return (
            self.change_state(fingerprint, RESOLVED, detail={}, actor=actor, reason="resolved", now_ns=now_ns)
            is not None
        )

    def error_group_count(self) -> int:
        """How many groups exist (the overflow group included); kept in memory, not counted."""
        with self._lock:
            return self._real_groups + self._has_overflow

    def merge_groups(self, target: str, sources: Sequence[str], actor: str, now_ns: int) -> list[str]:
        """Merge ``sources`` into ``target``: their counts add to it, they leave the list, and
        their next occurrences count into it. Returns the fingerprints merged (unknown, the
        target itself and groups merged already are skipped)."""
        merged: list[str] = []
        transitions: list[dict[str, Any]] = []
        with self.transaction() as db:
            if (
                db.execute(
                    "SELECT 1 FROM error_groups WHERE fingerprint=? AND merged_into=''", (target,)
                ).fetchone()
                is None
            ):
                return []
            for fp in dict.fromkeys(sources):
                found = db.execute(
                    "SELECT count, state FROM error_groups WHERE fingerprint=? AND merged_into=''", (fp,)
                ).fetchone()
                if fp in (target, OVERFLOW_FINGERPRINT) or found is None:
                    continue
                db.execute(
                    "UPDATE error_groups SET merged_into=?, merged_count=? WHERE fingerprint=?",
                    (target, found["count"], fp),
                )
                db.execute("UPDATE error_groups SET merged_into=? WHERE merged_into=?", (target, fp))
                db.execute(
                    "UPDATE error_groups SET count=count+? WHERE fingerprint=?", (found["count"], target)
                )
                transitions.append(
                    self._log_merge(
                        db, fp, found["state"], actor=actor, reason=f"merged into {target}", now_ns=now_ns
                    )
                )
                merged.append(fp)
            for fp in [*merged, target]:
                self._groups.pop(fp, None)
            for fp in merged:  # under the store's lock: no batch counts into a merged-away row
                self.set_redirect(fp, target)
        for t in transitions:
            self._on_transition(t)
        return merged

    def unmerge_group(self, source: str, actor: str, now_ns: int) -> str | None:
        """Undo :meth:`merge_groups` for ``source``: it is listed again with the count it had, and
        the group it was merged into loses that count (occurrences counted into the target since
        the merge stay there). Returns the target, or ``None`` if ``source`` is not merged."""
        with self.transaction() as db:
            found = db.execute(
                "SELECT merged_into, merged_count, state FROM error_groups "
                "WHERE fingerprint=? AND merged_into!=''",
                (source,),
            ).fetchone()
            if found is None:
                return None
            target = found["merged_into"]
            db.execute(
                "UPDATE error_groups SET merged_into='', merged_count=0 WHERE fingerprint=?", (source,)
            )
            db.execute(
                "UPDATE error_groups SET count=MAX(count-?, 0) WHERE fingerprint=?",
                (found["merged_count"], target),
            )
            transition = self._log_merge(
                db, source, found["state"], actor=actor, reason=f"unmerged from {target}", now_ns=now_ns
            )
            self._groups.pop(source, None)
            self._groups.pop(target, None)
            self.set_redirect(source, None)
        self._on_transition(transition)
        return str(target)

    def _log_merge(
        self, db: sqlite3.Connection, fp: str, state: str, *, actor: str, reason: str, now_ns: int
    ) -> dict[str, Any]:
        db.execute(
            "INSERT INTO error_group_transitions (fingerprint, from_state, to_state, actor, reason, "
            "detail, at_ns) VALUES (?,?,?,?,?,?,?)",
            (fp, state, state, actor, reason, "{}", now_ns),
        )
        action = "error_group.merge" if reason.startswith("merged") else "error_group.unmerge"
        return {
            "fingerprint": fp,
            "from_state": state,
            "to_state": state,
            "actor": actor,
            "reason": reason,
            "detail": {},
            "at_ns": now_ns,
            "action": action,
        }

    def newest_release(self, fingerprint: str) -> str:
        """The newest release (by :func:`releases.compare`) a group was seen in ("" for none)."""
        rows = self.query("SELECT releases FROM error_groups WHERE fingerprint=?", (fingerprint,))
        if not rows:
            return ""
        return newest([r for r in json.loads(rows[0]["releases"]) if r != OTHER_RELEASES])

    def age_groups(self, now_ns: int) -> int:
        """Time-driven transitions without an occurrence: an ignore-for-a-duration that ran out,
        and a ``new`` group first seen longer than ``errors.new_for`` ago, become ``ongoing``.
        Returns how many groups moved (at most 1000 a call: the rest on the next)."""
        rows = self.query(
            "SELECT fingerprint, state FROM error_groups WHERE merged_into = '' AND ("
            "(state = 'ignored' AND json_extract(state_detail, '$.until_ns') <= ?) "
            "OR (state = 'new' AND first_seen_ns <= ?)) LIMIT 1000",
            (now_ns, now_ns - self.errors.new_for_ns),
        )
        for row in rows:
            reason = (
                "the ignore period ended"
                if row["state"] == IGNORED
                else "first seen longer ago than errors.new_for"
            )
            self.change_state(
                row["fingerprint"], ONGOING, detail={}, actor=SYSTEM_ACTOR, reason=reason, now_ns=now_ns
            )
        return len(rows)
