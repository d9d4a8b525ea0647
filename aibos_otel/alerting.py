"""The ``alert.*`` contract: what a log record may carry to alert at once.

A service writes ``extra={"alert": {"severity": ..., "channels": [...], "escalation": ...}}``; the
SDK flattens it to ``alert.*`` attributes and validates it (``aibos_otel.sdk.alerts``), the policy
uses the same severities on its rules (``aibos_otel.policy.model``), and the monitor acts on it
(``aibos_otel.monitor.alerts``). This module is the one place the vocabulary is spelled; like
``levels`` it imports nothing of the project.
"""

from __future__ import annotations

import re

SEVERITIES = ("info", "warning", "error", "critical")
"""Alert severities, least to most urgent."""
DEFAULT_SEVERITY = "warning"
"""The severity of an annotated record that names none (or names an invalid one)."""
FATAL_SEVERITY = "critical"
"""The severity of an annotated FATAL record that names none."""

SEVERITY_KEY = "alert.severity"
CHANNELS_KEY = "alert.channels"
ESCALATION_KEY = "alert.escalation"
INVALID_KEY = "alert.invalid"
"""Set by the SDK outside development when an annotation was invalid: it says why."""
KEYS = (SEVERITY_KEY, CHANNELS_KEY, ESCALATION_KEY)
"""The attributes a service may set."""

IMMEDIATE = "immediate"
"""Escalation: every channel at once."""
STANDARD = "standard"
"""Escalation (the default): the first channel at once, the others after :data:`STANDARD_DELAY_S`."""
NO_ESCALATION = "none"
"""Escalation: the first channel only."""
ESCALATIONS = (IMMEDIATE, STANDARD, NO_ESCALATION)
STANDARD_DELAY_S = 600
ESCALATION_DURATION = re.compile(r"^\d+(ms|s|m|h)$")
"""An escalation may also be a delay, e.g. ``5m``: the first channel at once, the others after it."""
