"""Error-group rows: the cached, decoded form the ingest path merges into, and the JSON the API shows.

``error_groups`` keeps, besides counts and the sample: the state and its detail (JSON: how it
was resolved or ignored), releases (JSON ``{release: count}``, at most :data:`MAX_RELEASES`, as last
written; the count of the current release since is in ``release_now_count``),
an hourly histogram (JSON ``{hour: count}`` of past hours; the current hour is in the ``hour``
and ``hour_count`` columns, so a batch within the hour writes two integers, not the JSON), the
affected users (count here, the ``usercount`` blob in ``error_group_users``) and merges (``merged_into``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from aibos_otel.monitor.groupstate import HISTOGRAM_HOURS, status_of
from aibos_otel.monitor.usercount import UserCounter

MAX_RELEASES = 50
"""Releases counted per group; occurrences of further releases count into :data:`OTHER_RELEASES`."""
OTHER_RELEASES = "(other)"
ROW_COLUMNS = (
    "count, first_seen_ns, last_seen_ns, services, environments, trace_ids, state, state_detail, "
    "releases, first_release, last_release, histogram, hour, hour_count, user_count, "
    "release_now, release_now_count"
)


@dataclass(slots=True)
class GroupRow:
    """The columns of an ``error_groups`` row that an update merges into (decoded)."""

    count: int
    first_seen_ns: int
    last_seen_ns: int
    services: list[str]
    environments: list[str]
    trace_ids: list[str]
    state: str
    detail: dict[str, Any]
    releases: dict[str, int]
    first_release: str
    last_release: str
    past_hours: dict[int, int]
    """Hour index (ns // 3600 s) -> occurrences, for hours before :attr:`hour`."""
    hour: int
    hour_count: int
    users: UserCounter
    user_count: int
    release_now: str
    """The release counted in the ``release_now_count`` column (a batch of only this release
    writes one integer); ``releases`` holds every release's full count."""
    release_now_count: int

    def hours(self) -> dict[int, int]:
        """Every hourly bucket, the current one included."""
        out = dict(self.past_hours)
        if self.hour_count:
            out[self.hour] = out.get(self.hour, 0) + self.hour_count
        return out


def load_row(db: sqlite3.Connection, fingerprint: str) -> GroupRow | None:
    """Read and decode one group's row."""
    found = db.execute(
        f"SELECT {ROW_COLUMNS} FROM error_groups WHERE fingerprint=?", (fingerprint,)
    ).fetchone()
    if found is None:
        return None
    return GroupRow(
        found["count"],
        found["first_seen_ns"],
        found["last_seen_ns"],
        json.loads(found["services"]),
        json.loads(found["environments"]),
        json.loads(found["trace_ids"]),
        found["state"],
        json.loads(found["state_detail"]),
        _releases(found),
        found["first_release"],
        found["last_release"],
        {int(k): v for k, v in json.loads(found["histogram"]).items()},
        found["hour"],
        found["hour_count"],
        UserCounter.from_bytes(_users_blob(db, fingerprint)),
        found["user_count"],
        found["release_now"],
        found["release_now_count"],
    )


def _users_blob(db: sqlite3.Connection, fingerprint: str) -> bytes | None:
    found = db.execute("SELECT users FROM error_group_users WHERE fingerprint=?", (fingerprint,)).fetchone()
    return None if found is None else bytes(found[0])


def _releases(row: sqlite3.Row) -> dict[str, int]:
    """Counts per release: the JSON as last written plus the current release's column."""
    releases: dict[str, int] = json.loads(row["releases"])
    if row["release_now_count"]:
        releases[row["release_now"]] = releases.get(row["release_now"], 0) + row["release_now_count"]
    return releases


def trim_hours(hours: dict[int, int], newest: int) -> dict[int, int]:
    """Keep the last :data:`HISTOGRAM_HOURS` hours."""
    return {h: n for h, n in hours.items() if h > newest - HISTOGRAM_HOURS}


def group_dict(row: sqlite3.Row, *, detail: bool = False) -> dict[str, Any]:
    """A group as the API shows it; ``detail`` adds the histogram."""
    out = {
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
        "status": status_of(row["state"]),
        "state": row["state"],
        "state_detail": json.loads(row["state_detail"]),
        "resolved_at_ns": row["resolved_at_ns"],
        "regressions": row["regressions"],
        "first_release": row["first_release"],
        "last_release": row["last_release"],
        "releases": _releases(row),
        "user_count": row["user_count"],
        "merged_into": row["merged_into"] or None,
    }
    if detail:
        hours = {int(k): v for k, v in json.loads(row["histogram"]).items()}
        if row["hour_count"]:
            hours[row["hour"]] = hours.get(row["hour"], 0) + row["hour_count"]
        out["histogram"] = [{"hour_start_ns": h * 3600 * 10**9, "count": n} for h, n in sorted(hours.items())]
    return out
