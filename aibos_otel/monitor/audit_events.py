"""Error-group state changes as audit events, in the contract of ``aibos_otel.audit()``.

The monitor does not import the SDK (docs/architecture.md), so it cannot call
``aibos_otel.audit()``; it logs the same event on the same stdlib logger (``aibos.audit``) with
the same attributes (``event.name=aibos.audit``, ``audit.action``, ``audit.actor``,
``audit.target``, ``audit.outcome``), so wherever the monitor's own logs go (the SDK's pipeline
when the process ran ``setup()``, or stderr) the audit trail goes too.
tests/monitor/test_error_states.py checks the keys against ``aibos_otel.lifecycle.audit``.
"""

from __future__ import annotations

import logging
from typing import Any

AUDIT_LOGGER = "aibos.audit"
EVENT_NAME = "aibos.audit"
KEYS = {
    "event": "event.name",
    "action": "audit.action",
    "actor": "audit.actor",
    "target": "audit.target",
    "outcome": "audit.outcome",
}

_log = logging.getLogger(AUDIT_LOGGER)


def _action(transition: dict[str, Any]) -> str:
    return str(transition.get("action") or f"error_group.{transition['to_state']}")


def audit_attributes(transition: dict[str, Any]) -> dict[str, Any]:
    """The attributes of the audit event of one error-group transition."""
    return {
        KEYS["event"]: EVENT_NAME,
        KEYS["action"]: _action(transition),
        KEYS["actor"]: transition["actor"] or "unknown",
        KEYS["target"]: f"error_group:{transition['fingerprint']}",
        KEYS["outcome"]: "success",
        "error_group.from_state": transition["from_state"],
        "error_group.reason": str(transition["reason"])[:200],
    }


def emit_transition(transition: dict[str, Any]) -> None:
    """Log one transition on ``aibos.audit`` (INFO, whatever the monitor's own log level)."""
    if _log.level == logging.NOTSET:
        _log.setLevel(logging.INFO)  # an audit trail must not vanish with the log level
    action = _action(transition)
    _log.info("audit %s %s", action, "success", extra=audit_attributes(transition))
