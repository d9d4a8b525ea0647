"""Notifiers: Slack, PagerDuty Events v2, email (SMTP + STARTTLS), webhook, Alertmanager, console.

Each builds the vendor's documented payload from outbox items and sends it with the standard
library (``urllib``/``smtplib``: a handful of small requests do not need an HTTP client
dependency). Failures raise :class:`DeliveryError`; 5xx, 408, 429 and network errors are
retryable, other 4xx are not. Texts were redacted when the alert was created.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aibos_otel.monitor.labels import environment_of
from aibos_otel.monitor.notify.outbox import DeliveryError, OutboxItem, Sender
from aibos_otel.policy.model import Channel

USER_AGENT = "aibos-otel-monitor/0.1"
HTTP_TIMEOUT_S = 10.0
PD_SEVERITIES = {"critical": "critical", "error": "error", "warning": "warning", "info": "info"}
ZERO_TIME = "0001-01-01T00:00:00Z"


def _rfc3339(ns: int | None) -> str:
    if not ns:
        return ZERO_TIME
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _summary(alert: Mapping[str, Any]) -> str:
    ann = alert.get("annotations") or {}
    labels = alert.get("labels") or {}
    text = ann.get("summary") or ann.get("description") or ""
    if not text:
        text = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")
    return str(text)


def _title(items: Sequence[OutboxItem]) -> str:
    first = items[0]
    status = "RESOLVED" if first.kind == "resolved" else "FIRING"
    return f"[{status}:{len(items)}] {first.alert.get('rule')}"


def post_json(
    url: str, payload: Any, headers: Mapping[str, str] | None = None, ok: Sequence[int] = ()
) -> bytes:
    """POST JSON; :class:`DeliveryError` on failure (retryable for 5xx/408/429/network)."""
    body = json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
            data: bytes = resp.read()
            if ok and resp.status not in ok:
                raise DeliveryError(f"{url}: unexpected status {resp.status}")
            return data
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode("utf-8", "replace")
        retryable = exc.code >= 500 or exc.code in (408, 429)
        raise DeliveryError(f"HTTP {exc.code}: {detail}", retryable=retryable) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DeliveryError(f"cannot reach the endpoint: {exc}") from None


def slack_payload(items: Sequence[OutboxItem]) -> dict[str, Any]:
    """Slack incoming-webhook message: ``text`` fallback, ``blocks`` and a coloured attachment."""
    title = _title(items)
    lines = [f"• {_summary(i.alert)}" for i in items]
    resolved = items[0].kind == "resolved"
    return {
        "text": f"{title}: " + "; ".join(_summary(i.alert) for i in items)[:2900],
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n" + "\n".join(lines)[:2900]}}
        ],
        "attachments": [
            {
                "color": "good" if resolved else "danger",
                "title": title,
                "text": "\n".join(
                    ", ".join(f"{k}={v}" for k, v in sorted((i.alert.get("labels") or {}).items()))
                    for i in items
                )[:2900],
            }
        ],
    }


def pagerduty_event(routing_key: str, item: OutboxItem) -> dict[str, Any]:
    """A PagerDuty Events API v2 event; the alert key is the dedup key (trigger and resolve)."""
    alert = item.alert
    labels = alert.get("labels") or {}
    if item.kind == "resolved":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": alert["key"]}
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert["key"],
        "payload": {
            "summary": _summary(alert)[:1024] or str(alert.get("rule")),
            "source": labels.get("service_name") or "aibos-otel",
            "severity": PD_SEVERITIES.get(labels.get("severity", ""), "error"),
            "timestamp": _rfc3339(alert.get("fired_at_ns") or alert.get("active_at_ns")),
            "component": labels.get("service_name", ""),
            "group": environment_of(labels),
            "class": alert.get("rule"),
            "custom_details": {
                "labels": labels,
                "annotations": alert.get("annotations") or {},
                "value": alert.get("value"),
            },
        },
        "client": "aibos-otel",
    }


def alertmanager_alerts(items: Sequence[OutboxItem], generator_url: str = "") -> list[dict[str, Any]]:
    """Alertmanager ``POST /api/v2/alerts`` body; a resolved alert carries its end time."""
    out = []
    for item in items:
        alert = item.alert
        entry: dict[str, Any] = {
            "labels": alert.get("labels") or {},
            "annotations": alert.get("annotations") or {},
            "startsAt": _rfc3339(alert.get("fired_at_ns") or alert.get("active_at_ns")),
            "generatorURL": generator_url,
        }
        if item.kind == "resolved":
            entry["endsAt"] = _rfc3339(alert.get("resolved_at_ns"))
        out.append(entry)
    return out


def webhook_payload(channel: str, items: Sequence[OutboxItem], external_url: str = "") -> dict[str, Any]:
    """The Alertmanager webhook format (version 4), so existing receivers understand it."""
    alerts = []
    for item in items:
        alert = item.alert
        alerts.append(
            {
                "status": item.kind,
                "labels": alert.get("labels") or {},
                "annotations": alert.get("annotations") or {},
                "startsAt": _rfc3339(alert.get("fired_at_ns") or alert.get("active_at_ns")),
                "endsAt": _rfc3339(alert.get("resolved_at_ns")) if item.kind == "resolved" else ZERO_TIME,
                "generatorURL": external_url,
                "fingerprint": alert.get("key", ""),
            }
        )
    labels = [a["labels"] for a in alerts]
    common = {k: v for k, v in labels[0].items() if all(lb.get(k) == v for lb in labels)}
    annotations = [a["annotations"] for a in alerts]
    common_ann = {k: v for k, v in annotations[0].items() if all(an.get(k) == v for an in annotations)}
    return {
        "receiver": channel,
        "status": items[0].kind,
        "alerts": alerts,
        "groupLabels": {"alertname": items[0].alert.get("rule")},
        "commonLabels": common,
        "commonAnnotations": common_ann,
        "externalURL": external_url,
        "version": "4",
        "groupKey": f"{channel}:{items[0].alert.get('rule')}",
        "truncatedAlerts": 0,
    }


def email_message(channel: Channel, items: Sequence[OutboxItem]) -> EmailMessage:
    """A plain-text email listing the alerts."""
    msg = EmailMessage()
    msg["Subject"] = _title(items)
    msg["From"] = channel.options["from"]
    msg["To"] = ", ".join(channel.options["to"])
    parts = []
    for item in items:
        alert = item.alert
        labels = alert.get("labels") or {}
        since = _rfc3339(alert.get("fired_at_ns") or alert.get("active_at_ns"))
        parts.append(
            f"{_summary(alert)}\n"
            + "".join(f"  {k}: {v}\n" for k, v in sorted(labels.items()))
            + f"  value: {alert.get('value')}\n  since: {since}\n"
        )
    msg.set_content("\n".join(parts))
    return msg


def send_email(channel: Channel, items: Sequence[OutboxItem]) -> None:
    """SMTP with STARTTLS (when configured) and optional login."""
    opts = channel.options
    timeout = opts.get("timeout_ns", 10**10) / 1e9
    try:
        with smtplib.SMTP(opts["host"], int(opts["port"]), timeout=timeout) as smtp:
            smtp.ehlo()
            if opts.get("starttls", True):
                context = ssl.create_default_context(cafile=opts.get("ca_file") or None)
                smtp.starttls(context=context)
                smtp.ehlo()
            if opts.get("username"):
                smtp.login(opts["username"], opts.get("password", ""))
            smtp.send_message(email_message(channel, items))
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=exc.smtp_code >= 400
        ) from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"SMTP: {exc}") from None


def make_sender(channel: Channel) -> Sender:
    """The send function for a channel."""
    opts = channel.options

    if channel.type == "slack":

        def send_slack(items: list[OutboxItem]) -> None:
            post_json(opts["url"], slack_payload(items))

        return send_slack
    if channel.type == "pagerduty":

        def send_pd(items: list[OutboxItem]) -> None:
            for item in items:  # one event per alert: each has its own dedup key
                post_json(opts["url"], pagerduty_event(opts["routing_key"], item))

        return send_pd
    if channel.type == "webhook":

        def send_webhook(items: list[OutboxItem]) -> None:
            post_json(opts["url"], webhook_payload(channel.name, items), opts.get("headers") or {})

        return send_webhook
    if channel.type == "alertmanager":
        url = opts["url"].rstrip("/")
        if not url.endswith("/api/v2/alerts"):
            url += "/api/v2/alerts"

        def send_am(items: list[OutboxItem]) -> None:
            post_json(url, alertmanager_alerts(items))

        return send_am
    if channel.type == "email":

        def send_mail(items: list[OutboxItem]) -> None:
            send_email(channel, items)

        return send_mail

    stream = sys.stdout if opts.get("stream") == "stdout" else sys.stderr

    def send_console(items: list[OutboxItem]) -> None:
        for item in items:
            labels = item.alert.get("labels") or {}
            where = labels.get("service_name", "")
            print(
                f"[aibos alert] {item.kind.upper()} {item.alert.get('rule')} {where}: {_summary(item.alert)}",
                file=stream,
                flush=True,
            )

    return send_console
