"""``aibos-otel doctor``: the production-readiness review, run against a live deployment.

The review this project started from scored a logging setup out of 10 and listed what blocked
production (aggregation, alerting, retention, performance monitoring, error tracking,
compliance). Each doctor check answers one of those items against running processes: it sends a
canary record through the real path and looks for it where it should land, compares what Loki's
ruler and Alertmanager have loaded with what the policy renders, reads Loki's retention and
Prometheus's targets. Every check says pass, warn or fail, the evidence it saw, and the fix.

Nothing here trusts what it reads: every HTTP answer is bounded in size and time
(:mod:`aibos_otel.doctor.probe`) and every value printed goes through
:func:`aibos_otel.terminal.escape`.
"""

from __future__ import annotations

from aibos_otel.doctor.model import Check, Report, Status, Targets
from aibos_otel.doctor.run import run_doctor

__all__ = ["Check", "Report", "Status", "Targets", "run_doctor"]
