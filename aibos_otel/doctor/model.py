"""What a doctor check reports, and the scorecard built from the reports."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


class Status(enum.StrEnum):
    """A check's verdict. ``skip`` means the check had nothing to look at (no URL given)."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


# The review's production blockers, in its order, plus the service's own settings. Each check
# belongs to one; the scorecard has one row per area.
AREAS: tuple[tuple[str, str], ...] = (
    ("service", "Service settings (setup())"),
    ("aggregation", "Log aggregation"),
    ("redaction", "Redaction (compliance)"),
    ("alerting", "Alerting integration"),
    ("retention", "Retention cleanup"),
    ("performance", "Performance monitoring"),
    ("errors", "Error tracking and audit"),
)
AREA_NAMES = frozenset(name for name, _ in AREAS)


@dataclass(frozen=True)
class Check:
    """One check's result: what was looked at, what was seen, and what to do about it."""

    area: str
    name: str
    status: Status
    evidence: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.area not in AREA_NAMES:
            raise ValueError(f"unknown doctor area {self.area!r}")
        if self.status in (Status.WARN, Status.FAIL) and not self.fix:
            raise ValueError(f"check {self.name!r} is {self.status} without a fix")


@dataclass(frozen=True)
class AreaScore:
    """One row of the scorecard."""

    area: str
    title: str
    status: Status
    score: float  # 0..10
    checks: int


@dataclass(frozen=True)
class Report:
    """Every check's result, and the scorecard the review's table is built from."""

    checks: tuple[Check, ...]

    @property
    def failed(self) -> bool:
        """True when any check failed (the command then exits non-zero)."""
        return any(c.status is Status.FAIL for c in self.checks)

    def areas(self) -> list[AreaScore]:
        """One row per area that ran at least one check: worst status, and a score out of 10
        (pass 1, warn 0.5, fail 0, averaged over the area's checks that ran)."""
        rows = []
        for area, title in AREAS:
            ran = [c for c in self.checks if c.area == area and c.status is not Status.SKIP]
            if not ran:
                rows.append(AreaScore(area, title, Status.SKIP, 0.0, 0))
                continue
            points = sum({Status.PASS: 1.0, Status.WARN: 0.5}.get(c.status, 0.0) for c in ran)
            rows.append(
                AreaScore(area, title, _worst(c.status for c in ran), 10 * points / len(ran), len(ran))
            )
        return rows

    def score(self) -> float:
        """The overall score out of 10: the mean of the areas that ran (an area with no target
        given is not counted, and says so in the table)."""
        ran = [row.score for row in self.areas() if row.status is not Status.SKIP]
        return sum(ran) / len(ran) if ran else 0.0


def _worst(statuses: Iterable[Status]) -> Status:
    seen = set(statuses)
    for status in (Status.FAIL, Status.WARN, Status.PASS):
        if status in seen:
            return status
    return Status.SKIP


@dataclass(frozen=True)
class Targets:
    """Where the deployment's parts answer. ``None`` means "not given": those checks skip."""

    policy: Path | None = None
    collector: str | None = None  # OTLP/HTTP base URL of the agent or gateway, e.g. http://127.0.0.1:4318
    collector_health: str | None = None  # health_check extension, e.g. http://127.0.0.1:13133
    collector_metrics: str | None = None  # the collector's own telemetry, e.g. http://127.0.0.1:8888/metrics
    loki: str | None = None
    monitor: str | None = None  # the monitor's API, e.g. http://127.0.0.1:8088
    prometheus: str | None = None
    alertmanager: str | None = None
    backup: Path | None = None  # the gateway's file backup (file/backup path)
    loki_tenant: str = "fake"
    monitor_token: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0  # how long the canary may take to arrive everywhere
