"""Validation of ``extra={"alert": {...}}`` annotations (flattened to ``alert.*`` attributes).

A record annotated this way alerts at once in the monitor with its own severity, channels and
escalation. A typo must not silently downgrade a page: in development an invalid annotation is
an :class:`AlertAnnotationError` at the logging call; elsewhere it falls back to severity
``warning``, is counted, and the record says why in ``alert.invalid``.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from aibos_otel.alerting import (
    DEFAULT_SEVERITY,
    ESCALATION_DURATION,
    ESCALATIONS,
    INVALID_KEY,
    KEYS,
    SEVERITIES,
)

# The names this module has always exported; the contract itself is aibos_otel.alerting.
ALERT_SEVERITIES = SEVERITIES
ALERT_KEYS = KEYS
_CHANNEL = re.compile(r"^[a-z][a-z0-9_-]*$")


class AlertAnnotationError(ValueError):
    """An ``alert`` annotation on a log call is invalid (raised in development only)."""


def find_problems(attributes: MutableMapping[str, Any]) -> list[str]:
    """Return human-readable problems with the ``alert.*`` attributes (empty when valid)."""
    problems: list[str] = []
    severity = attributes.get("alert.severity")
    if severity is not None and severity not in ALERT_SEVERITIES:
        problems.append(f"alert.severity {severity!r} is not one of {', '.join(ALERT_SEVERITIES)}")
    channels = attributes.get("alert.channels")
    if channels is not None:
        names = (channels,) if isinstance(channels, str) else channels
        if not isinstance(names, tuple) or not all(isinstance(c, str) and _CHANNEL.match(c) for c in names):
            problems.append(f"alert.channels {channels!r} must be a list of channel names")
    escalation = attributes.get("alert.escalation")
    if escalation is not None and not (
        escalation in ESCALATIONS or (isinstance(escalation, str) and ESCALATION_DURATION.match(escalation))
    ):
        problems.append(
            f"alert.escalation {escalation!r} must be one of {', '.join(ESCALATIONS)} or a duration like '5m'"
        )
    unknown = [k for k in attributes if k.startswith("alert.") and k not in (*ALERT_KEYS, INVALID_KEY)]
    if unknown:
        problems.append(f"unknown alert keys {sorted(unknown)}; known: severity, channels, escalation")
    return problems


def annotate(attributes: MutableMapping[str, Any], *, strict: bool) -> bool:
    """Validate and normalise the annotation in place; returns True when it fell back.

    Raises :class:`AlertAnnotationError` when ``strict`` (development) and it is invalid.
    """
    problems = find_problems(attributes)
    if isinstance(attributes.get("alert.channels"), str):
        attributes["alert.channels"] = (attributes["alert.channels"],)
    if not problems:
        attributes.setdefault("alert.severity", DEFAULT_SEVERITY)
        return False
    message = "; ".join(problems)
    if strict:
        raise AlertAnnotationError(message)
    if attributes.get("alert.severity") not in ALERT_SEVERITIES:
        attributes["alert.severity"] = DEFAULT_SEVERITY
    attributes[INVALID_KEY] = message
    return True
