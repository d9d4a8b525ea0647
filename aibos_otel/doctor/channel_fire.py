"""Test-fire a policy channel: one notification that says it is a test, through the same sender
the monitor uses, and the delivery result."""

from __future__ import annotations

import time
from typing import Any

from aibos_otel.monitor.notify.notifiers import make_sender
from aibos_otel.monitor.notify.outbox import DeliveryError, OutboxItem
from aibos_otel.policy.model import Channel

TEST_RULE = "aibos-test-notification"


def test_notification_alert(channel: str, now_ns: int | None = None) -> dict[str, Any]:
    """An alert in the monitor's shape whose every visible field says it is a test."""
    now = time.time_ns() if now_ns is None else now_ns
    return {
        "key": f"{TEST_RULE}:{channel}:{now}",
        "rule": TEST_RULE,
        "labels": {
            "alertname": TEST_RULE,
            "severity": "info",
            "service_name": "aibos-doctor",
            "test": "true",
        },
        "annotations": {
            "summary": f"TEST notification from aibos-otel to channel {channel}: no action needed",
            "description": "Sent by `aibos-otel alerts-test` or `aibos-otel doctor --test-channels`.",
        },
        "fired_at_ns": now,
        "active_at_ns": now,
        "value": 0,
    }


def fire_test(channel: Channel) -> str:
    """Send one test notification; returns "" on success, else the delivery error."""
    item = OutboxItem(
        id=0,
        channel=channel.name,
        alert_id=TEST_RULE,
        kind="firing",
        alert=test_notification_alert(channel.name),
        attempts=0,
    )
    try:
        make_sender(channel)([item])
    except DeliveryError as exc:
        return str(exc)
    except OSError as exc:  # SMTP errors not wrapped by the sender
        return f"cannot deliver: {exc}"
    return ""
