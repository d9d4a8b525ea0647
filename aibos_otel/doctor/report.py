"""The doctor's report: the review's scorecard on a terminal, or JSON for CI."""

from __future__ import annotations

import json
from typing import Any

from aibos_otel.doctor.model import Report, Status

_MARK = {Status.PASS: "PASS", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.SKIP: "skip"}


def render_text(report: Report) -> str:
    """The scorecard (one row per review item), then every check with its evidence and fix.
    Every value in it was escaped where the check built it."""
    lines = ["Production readiness (aibos-otel doctor)", ""]
    lines.append(f"  {'Item':<30} {'Status':<6} {'Score':>6}  Checks")
    for row in report.areas():
        score = f"{row.score:4.1f}" if row.status is not Status.SKIP else "   -"
        lines.append(f"  {row.title:<30} {_MARK[row.status]:<6} {score:>6}  {row.checks}")
    lines.append(f"  {'Overall':<30} {'':<6} {report.score():4.1f}/10")
    lines.append("")
    for check in report.checks:
        lines.append(f"[{_MARK[check.status]}] {check.area}: {check.name}: {check.evidence}")
        if check.fix and check.status in (Status.WARN, Status.FAIL):
            lines.append(f"       fix: {check.fix}")
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    """The report as JSON: ``score``, ``areas`` and ``checks``."""
    doc: dict[str, Any] = {
        "score": round(report.score(), 2),
        "failed": report.failed,
        "areas": [
            {
                "area": r.area,
                "title": r.title,
                "status": r.status.value,
                "score": round(r.score, 2),
                "checks": r.checks,
            }
            for r in report.areas()
        ],
        "checks": [
            {"area": c.area, "name": c.name, "status": c.status.value, "evidence": c.evidence, "fix": c.fix}
            for c in report.checks
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
