"""The collector's own telemetry (Prometheus text on :8888/metrics), read into plain numbers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from aibos_otel.doctor import probe

# Metric names as collector v0.161 exposes them (the _total suffix is the Prometheus exporter's).
SENT = "otelcol_exporter_sent_log_records"
FAILED = "otelcol_exporter_send_failed_log_records"
ACCEPTED = "otelcol_receiver_accepted_log_records"
REFUSED = "otelcol_receiver_refused_log_records"
QUEUE_SIZE = "otelcol_exporter_queue_size"
QUEUE_CAPACITY = "otelcol_exporter_queue_capacity"


@dataclass
class CollectorMetrics:
    """Per-exporter and per-receiver log record counts."""

    sent: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    failed: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    accepted: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    refused: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    queue_size: dict[str, float] = field(default_factory=dict)
    queue_capacity: dict[str, float] = field(default_factory=dict)


def read_collector_metrics(url: str) -> CollectorMetrics:
    """Scrape ``url`` once; ProbeError when it cannot be read or parsed."""
    answer = probe.request(url)
    if answer.status != 200:
        raise probe.ProbeError(f"{url} answered HTTP {answer.status}")
    return parse_collector_metrics(answer.text())


def parse_collector_metrics(text: str) -> CollectorMetrics:
    """The counts in one scrape's text."""
    out = CollectorMetrics()
    targets = {
        SENT: (out.sent, "exporter"),
        FAILED: (out.failed, "exporter"),
        ACCEPTED: (out.accepted, "receiver"),
        REFUSED: (out.refused, "receiver"),
    }
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise probe.ProbeError(f"not Prometheus text: {exc}") from None
    for family in families:
        for sample in family.samples:
            name = sample.name.removesuffix("_total")
            if name in targets:
                table, label = targets[name]
                table[sample.labels.get(label, "?")] += sample.value
            elif name in (QUEUE_SIZE, QUEUE_CAPACITY):
                queue = out.queue_size if name == QUEUE_SIZE else out.queue_capacity
                queue[sample.labels.get("exporter", "?")] = sample.value
    return out
