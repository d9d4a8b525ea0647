"""The filters and sort orders of the error-group list, as bounded, parameterised SQL.

Every value is a bound parameter (no text of a request reaches the SQL), text search is a
``LIKE`` with its wildcards escaped (so ``%`` and ``_`` in the query match themselves), and each
filter is bounded in length and count (:data:`MAX_FILTER_CHARS`, :data:`MAX_STATES`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aibos_otel.monitor.groupstate import STATES

SORTS = {
    "last_seen": "last_seen_ns",
    "first_seen": "first_seen_ns",
    "count": "count",
    "users": "user_count",
}
"""``?sort=`` -> column; every order is descending, ties by fingerprint (keyset pagination)."""
MAX_FILTER_CHARS = 200
MAX_STATES = len(STATES)


class FilterError(ValueError):
    """A filter the API refuses (400)."""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True, slots=True)
class GroupFilter:
    """Which groups to list and in which order."""

    status: str | None = None
    states: tuple[str, ...] = ()
    service: str | None = None
    environment: str | None = None
    release: str | None = None
    text: str | None = None
    sort: str = "last_seen"

    @classmethod
    def from_query(cls, query: dict[str, str]) -> GroupFilter:
        """``?state=a,b&service=&environment=&release=&q=&sort=&status=`` (bounded)."""
        for key in ("state", "service", "environment", "release", "q", "sort", "status"):
            if len(query.get(key, "")) > MAX_FILTER_CHARS:
                raise FilterError(f"{key} is longer than {MAX_FILTER_CHARS} characters")
        states = tuple(s for s in query.get("state", "").split(",") if s)
        unknown = [s for s in states if s not in STATES]
        if unknown or len(states) > MAX_STATES:
            raise FilterError(f"state must be among {', '.join(STATES)} (comma-separated)")
        sort = query.get("sort") or "last_seen"
        if sort not in SORTS:
            raise FilterError(f"sort must be one of {', '.join(SORTS)}")
        status = query.get("status") or None
        if status not in (None, "open", "resolved", "ignored"):
            raise FilterError("status must be open, resolved or ignored")
        return cls(
            status,
            states,
            query.get("service") or None,
            query.get("environment") or None,
            query.get("release") or None,
            query.get("q") or None,
            sort,
        )

    def sql(self, before: tuple[int, str] | None, limit: int) -> tuple[str, list[object]]:
        """The SELECT and its parameters."""
        column = SORTS[self.sort]
        where = ["merged_into = ''"]
        params: list[object] = []
        if self.status:
            where.append("status=?")
            params.append(self.status)
        if self.states:
            where.append(f"state IN ({','.join('?' * len(self.states))})")
            params += self.states
        if self.service:
            where.append("EXISTS (SELECT 1 FROM json_each(services) WHERE value=?)")
            params.append(self.service)
        if self.environment:
            where.append("EXISTS (SELECT 1 FROM json_each(environments) WHERE value=?)")
            params.append(self.environment)
        if self.release:
            where.append("EXISTS (SELECT 1 FROM json_each(releases) WHERE key=?)")
            params.append(self.release)
        if self.text:
            where.append("(message LIKE ? ESCAPE '\\' OR exc_type LIKE ? ESCAPE '\\')")
            params += [_like(self.text), _like(self.text)]
        if before is not None:
            where.append(f"({column} < ? OR ({column} = ? AND fingerprint < ?))")
            params += [before[0], before[0], before[1]]
        sql = (
            f"SELECT * FROM error_groups WHERE {' AND '.join(where)} "
            f"ORDER BY {column} DESC, fingerprint DESC LIMIT ?"
        )
        params.append(limit)
        return sql, params

    def cursor_kind(self) -> str:
        """The cursor's route tag: a cursor of one sort order is refused by another."""
        return "errors" if self.sort == "last_seen" else f"errors-{self.sort}"

    def sort_key(self, group: dict[str, object]) -> int:
        """The sort value of a listed group (for its cursor)."""
        field = {
            "last_seen": "last_seen_ns",
            "first_seen": "first_seen_ns",
            "count": "count",
            "users": "user_count",
        }
        value = group[field[self.sort]]
        assert isinstance(value, int)
        return value
