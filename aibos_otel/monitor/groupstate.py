"""Error-group states and what an occurrence does to them.

States (as Sentry's issue states and logfire's Issues name them):

``new``       first seen less than ``errors.new_for`` ago (default 7 days);
``ongoing``   seen for longer, or reopened by hand or when an ignore ran out;
``regressed`` seen again after it was resolved;
``resolved``  resolved by hand: the next occurrence from any release is a regression;
``resolved-in-release``  fixed in release R (``mode: release``) or in the first release newer
              than the newest one seen when it was resolved (``mode: next``): occurrences from
              older releases do not reopen it, occurrences from R or newer (or with no release:
              it cannot be told apart, so it is not hidden) are a regression;
``ignored``   forever, for a duration (``until_ns``), until N more occurrences (``until_count``:
              the group's count at which it reopens, on the next occurrence) or until it
              escalates (``escalating``).

The transition rules on the ingest path live here (pure functions over the group's cached row),
so the store only applies them; the actions people take are in ``group_actions``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aibos_otel.monitor.releases import compare

NEW, ONGOING, REGRESSED = "new", "ongoing", "regressed"
RESOLVED, RESOLVED_IN_RELEASE, IGNORED = "resolved", "resolved-in-release", "ignored"
STATES = (NEW, ONGOING, REGRESSED, RESOLVED, RESOLVED_IN_RELEASE, IGNORED)
OPEN_STATES = frozenset((NEW, ONGOING, REGRESSED))
SYSTEM_ACTOR = "system"
HOUR_NS = 3600 * 10**9
HISTOGRAM_HOURS = 24 * 14
"""Hourly occurrence buckets kept per group (14 days): the detail page's histogram and the
escalation baseline."""


def status_of(state: str) -> str:
    """The coarse ``status`` of a state (``open``, ``resolved`` or ``ignored``), as before states."""
    if state in OPEN_STATES:
        return "open"
    return "ignored" if state == IGNORED else "resolved"


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change the ingest path decided; the store records it with the system as actor."""

    fingerprint: str
    from_state: str
    to_state: str
    reason: str
    release: str = ""


def after_occurrences(
    state: str,
    detail: Mapping[str, Any],
    *,
    count_after: int,
    releases: Iterable[str],
    first_seen_ns: int,
    now_ns: int,
    new_for_ns: int,
) -> tuple[str, str, str] | None:
    """The ``(state, reason, release)`` new occurrences move a group to, or ``None`` to stay.

    ``releases``: the releases of this batch's occurrences ("" for none); ``count_after``: the
    group's count with them."""
    if state == RESOLVED:
        return REGRESSED, "seen again after it was resolved", next(iter(releases), "")
    if state == RESOLVED_IN_RELEASE:
        hit = regressing_release(detail, releases)
        if hit is None:
            return None
        return REGRESSED, f"seen in release {hit or '(none)'} after it was resolved in a release", hit
    if state == IGNORED:
        until_ns, until_count = detail.get("until_ns"), detail.get("until_count")
        if isinstance(until_ns, int) and now_ns >= until_ns:
            return ONGOING, "the ignore period ended", ""
        if isinstance(until_count, int) and count_after > until_count:
            return ONGOING, f"more than {detail.get('count', '?')} occurrences while ignored", ""
        return None
    if state == NEW and now_ns - first_seen_ns >= new_for_ns:
        return ONGOING, "first seen longer ago than errors.new_for", ""
    return None


def regressing_release(detail: Mapping[str, Any], releases: Iterable[str]) -> str | None:
    """The first of ``releases`` that is a regression of a group resolved in a release, or ``None``.

    ``mode: release``: releases at or above ``release``; ``mode: next``: releases newer than
    ``after`` (the newest seen when it was resolved). An occurrence without a release is one."""
    mode, release = detail.get("mode"), str(detail.get("release") or detail.get("after") or "")
    for candidate in releases:
        if not candidate or not release:
            return candidate
        order = compare(candidate, release)
        if order > 0 or (order == 0 and mode == "release"):
            return candidate
    return None


@dataclass(slots=True)
class _Window:
    events: deque[tuple[int, int]] = field(default_factory=deque)
    total: int = 0
    fired_ns: int = 0


@dataclass
class EscalationTracker:
    """Per group, the occurrences of the last ``window_ns`` (in memory; a restart starts the
    window empty) and whether that rate is ``factor`` times the group's own baseline."""

    factor: float
    window_ns: int
    min_events: int
    baseline_ns: int
    enabled: bool = True
    max_groups: int = 100_001
    _windows: dict[str, _Window] = field(default_factory=dict)

    def observe(
        self,
        fingerprint: str,
        count: int,
        now_ns: int,
        first_seen_ns: int,
        hours: Callable[[], Mapping[int, int]],
    ) -> bool:
        """Add ``count`` occurrences at ``now_ns``; True when the group escalates now (once per
        window). ``hours()``: the group's hourly buckets (hour index -> count), this batch
        included; only called when the window holds ``min_events`` (the rare case)."""
        if not self.enabled:
            return False
        w = self._windows.get(fingerprint)
        if w is None:
            if len(self._windows) >= self.max_groups:
                self._windows.clear()
            w = self._windows[fingerprint] = _Window()
        w.events.append((now_ns, count))
        w.total += count
        cutoff = now_ns - self.window_ns
        while w.events and w.events[0][0] <= cutoff:
            w.total -= w.events.popleft()[1]
        if w.total < self.min_events or now_ns - w.fired_ns < self.window_ns:
            return False
        history_ns = min(self.baseline_ns, now_ns - first_seen_ns) - self.window_ns
        if history_ns < self.window_ns:
            return False  # too young to have a baseline of its own: it is new, not escalating
        first_hour = (now_ns - self.window_ns - history_ns) // HOUR_NS
        before = sum(n for hour, n in hours().items() if hour >= first_hour) - w.total
        expected = max(before, 0) * self.window_ns / history_ns
        if w.total < self.factor * max(expected, 1.0):
            return False
        w.fired_ns = now_ns
        return True

    def forget(self, fingerprint: str) -> None:
        """Drop a group's window (it was merged or deleted)."""
        self._windows.pop(fingerprint, None)
