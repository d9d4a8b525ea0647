"""Metrics derived from the stream, exposed on ``/metrics`` in the Prometheus text format.

The ingest path adds whole batches at once (one lock per batch, not per record), so the
counters are plain dicts; ``prometheus_client`` only formats them at scrape time through a
custom collector. Label cardinality is bounded: at most ``MAX_SERVICES`` distinct
``service_name`` values, the rest are counted under ``other``.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

MAX_SERVICES = 100
OVERFLOW_SERVICE = "other"
# Seconds; end-to-end latency from the record's timestamp to its arrival here.
LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LATENCY_BOUNDS_NS: tuple[int, ...] = tuple(int(b * 1e9) for b in LATENCY_BUCKETS)
RATE_WINDOW_S = 60


class BatchCounts:
    """What one batch adds; filled without locks by the ingest path, then merged once."""

    __slots__ = ("by_service_level", "latency_buckets", "latency_sum_ns")

    def __init__(self) -> None:
        self.by_service_level: Counter[tuple[str, str]] = Counter()
        self.latency_buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum_ns = 0

    def observe_latency(self, latency_ns: int) -> None:
        """Add one latency sample (negative values, from clock skew, count as zero)."""
        if latency_ns > 0:
            self.latency_buckets[bisect.bisect_left(LATENCY_BOUNDS_NS, latency_ns)] += 1
            self.latency_sum_ns += latency_ns
        else:
            self.latency_buckets[0] += 1

    def observe_times(self, times: Sequence[int], receive_ns: int) -> None:
        """Add the latency ``receive_ns - t`` of every record timestamp ``t`` (0: none, skipped).

        The same histogram as :meth:`observe_latency` per timestamp, computed from one sort and
        one bisection per bucket bound, all in C: the ingest path calls this for every batch,
        and a Python step per record was a tenth of its cost.
        """
        ordered = sorted(times)
        first = bisect.bisect_right(ordered, 0)  # records without a timestamp
        past_end = bisect.bisect_left(ordered, receive_ns, first)  # [first, past_end): latency > 0
        buckets = self.latency_buckets
        buckets[0] += len(ordered) - past_end  # a clock at or ahead of ours: latency 0
        at_most_previous = 0
        for i, bound in enumerate(LATENCY_BOUNDS_NS):
            # latency <= bound  <=>  t >= receive_ns - bound
            at_most = past_end - bisect.bisect_left(ordered, receive_ns - bound, first, past_end)
            buckets[i] += at_most - at_most_previous
            at_most_previous = at_most
        buckets[-1] += past_end - first - at_most_previous
        self.latency_sum_ns += receive_ns * (past_end - first) - sum(ordered[first:past_end])


class DerivedMetrics(Collector):
    """The monitor's metrics; thread-safe; register with :meth:`registry`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: Counter[tuple[str, str]] = Counter()
        self._services: set[str] = set()
        self._latency_buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self._latency_sum_ns = 0
        self._latency_count = 0
        self._notifications: Counter[tuple[str, str]] = Counter()
        self._receiver_errors: Counter[tuple[str, str]] = Counter()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._other_items: Counter[str] = Counter()  # spans, data points
        self._over_budget = 0  # records counted but not evaluated (ingest time budget)
        self._overflow: Counter[str] = Counter()  # by cap: error_groups, active_alerts
        # (second, total, errors) for the throughput and error-rate gauges
        self._per_second: deque[list[int]] = deque(maxlen=RATE_WINDOW_S + 1)
        self._per_second_service: dict[str, deque[list[int]]] = {}
        self.gauges: dict[str, float] = {}  # set_gauge(): alerts firing, error groups...

    def set_gauge(self, name: str, value: float) -> None:
        """Set a state gauge (``aibos_monitor_<name>``)."""
        with self._lock:
            self.gauges[name] = float(value)

    def service_label(self, service: str) -> str:
        """``service`` if it fits in the cardinality budget, else ``other``."""
        if service in self._services:
            return service
        with self._lock:
            if len(self._services) < MAX_SERVICES:
                self._services.add(service)
                return service
        return OVERFLOW_SERVICE

    def add_batch(self, counts: BatchCounts, now: float | None = None) -> None:
        """Merge one batch's counts."""
        second = int(now if now is not None else time.time())
        with self._lock:
            self._records.update(counts.by_service_level)
            for i, n in enumerate(counts.latency_buckets):
                self._latency_buckets[i] += n
            self._latency_sum_ns += counts.latency_sum_ns
            self._latency_count += sum(counts.latency_buckets)
            per_service: Counter[str] = Counter()
            per_service_err: Counter[str] = Counter()
            for (service, level), n in counts.by_service_level.items():
                per_service[service] += n
                if level in ("error", "fatal"):
                    per_service_err[service] += n
            _bump(self._per_second, second, sum(per_service.values()), sum(per_service_err.values()))
            for service, n in per_service.items():
                ring = self._per_second_service.setdefault(service, deque(maxlen=RATE_WINDOW_S + 1))
                _bump(ring, second, n, per_service_err[service])

    def count_notification(self, channel: str, outcome: str) -> None:
        """One notification attempt by channel and outcome (sent, retry, failed; dropped_alert_limit)."""
        with self._lock:
            self._notifications[(channel, outcome)] += 1

    def count_overflow(self, cap: str, n: int = 1) -> None:
        """Past a cap (``limits`` in the policy): ``error_groups`` counts occurrences folded into
        the overflow group, ``active_alerts`` the alert series folded into ``AlertCapReached``."""
        with self._lock:
            self._overflow[cap] += n

    def overflow(self) -> dict[str, int]:
        """The overflow counts by cap."""
        with self._lock:
            return dict(self._overflow)

    def count_receiver_error(self, transport: str, reason: str) -> None:
        """One refused request (malformed, oversize, unauthenticated, unsupported media type...)."""
        with self._lock:
            self._receiver_errors[(transport, reason)] += 1

    def count_over_budget(self, records: int) -> None:
        """Records of a batch left unevaluated because the batch ran past its time budget."""
        with self._lock:
            self._over_budget += records

    def count_request(self, transport: str, signal: str, items: int = 0) -> None:
        """One accepted export request; ``items`` spans or data points for non-log signals."""
        with self._lock:
            self._requests[(transport, signal)] += 1
            if signal != "logs":
                self._other_items[signal] += items

    def records_by_level(self) -> dict[str, int]:
        """Total records received per level (for the page)."""
        out: Counter[str] = Counter()
        with self._lock:
            for (_service, level), n in self._records.items():
                out[level] += n
        return dict(out)

    def recent_rates(self, now: float | None = None) -> tuple[float, float]:
        """(records per second, fraction that were error/fatal) over the last minute."""
        with self._lock:
            return _rates(self._per_second, int(now if now is not None else time.time()))

    def snapshot(self) -> dict[str, dict[tuple[str, ...], float]]:
        """Copies of the counters and gauges (for pushing them as OTLP)."""
        now = int(time.time())
        with self._lock:
            rates = {(svc,): _rates(ring, now) for svc, ring in self._per_second_service.items()}
            return {
                "records": {k: float(v) for k, v in self._records.items()},
                "notifications": {k: float(v) for k, v in self._notifications.items()},
                "receiver_errors": {k: float(v) for k, v in self._receiver_errors.items()},
                "over_budget": {(): float(self._over_budget)},
                "cap_overflow": {(k,): float(v) for k, v in self._overflow.items()},
                "throughput": {k: r for k, (r, _) in rates.items()},
                "error_ratio": {k: e for k, (_, e) in rates.items()},
                "gauges": {(k,): v for k, v in self.gauges.items()},  # under the lock
            }

    def registry(self) -> CollectorRegistry:
        """A registry holding only these metrics."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return registry

    def collect(self) -> Iterable[Metric]:
        """Called by prometheus_client at scrape time."""
        return list(self._collect())

    def _collect(self) -> Iterator[Metric]:
        now = int(time.time())
        with self._lock:
            yield _counter(
                "aibos_monitor_log_records", "Log records received.", ["service_name", "level"], self._records
            )
            yield from self._rate_gauges(now)
            yield self._latency_histogram()
            yield _counter(
                "aibos_monitor_notifications",
                "Notification attempts.",
                ["channel", "outcome"],
                self._notifications,
            )
            yield _counter(
                "aibos_monitor_receiver_errors",
                "Refused OTLP and API requests.",
                ["transport", "reason"],
                self._receiver_errors,
            )
            yield _counter(
                "aibos_monitor_export_requests",
                "Accepted OTLP export requests.",
                ["transport", "signal"],
                self._requests,
            )
            yield _counter(
                "aibos_monitor_items",
                "Spans and metric data points received.",
                ["signal"],
                {(signal,): n for signal, n in self._other_items.items()},
            )
            yield CounterMetricFamily(
                "aibos_monitor_records_over_budget",
                "Records counted but not evaluated: their batch ran past the ingest time budget.",
                value=self._over_budget,
            )
            yield _counter(
                "aibos_monitor_cap_overflow",
                "Past a policy limit: occurrences folded into the overflow error group (error_groups), "
                "alert series folded into AlertCapReached (active_alerts).",
                ["cap"],
                {(cap,): self._overflow.get(cap, 0) for cap in ("error_groups", "active_alerts")},
            )
            for name, value in sorted(self.gauges.items()):
                yield GaugeMetricFamily(f"aibos_monitor_{name}", name.replace("_", " ") + ".", value=value)

    def _rate_gauges(self, now: int) -> Iterator[Metric]:
        throughput = GaugeMetricFamily(
            "aibos_monitor_throughput_records_per_second",
            f"Records per second over the last {RATE_WINDOW_S} s.",
            labels=["service_name"],
        )
        error_rate = GaugeMetricFamily(
            "aibos_monitor_error_ratio",
            f"Share of error and fatal records over the last {RATE_WINDOW_S} s.",
            labels=["service_name"],
        )
        for service, ring in sorted(self._per_second_service.items()):
            rate, ratio = _rates(ring, now)
            throughput.add_metric([service], rate)
            error_rate.add_metric([service], ratio)
        yield throughput
        yield error_rate

    def _latency_histogram(self) -> Metric:
        buckets: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip((*LATENCY_BUCKETS, float("inf")), self._latency_buckets, strict=True):
            running += n
            buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)), running))
        return HistogramMetricFamily(
            "aibos_monitor_pipeline_latency_seconds",
            "Receive time minus record timestamp.",
            buckets=buckets,
            sum_value=self._latency_sum_ns / 1e9,
        )


def _counter(name: str, documentation: str, labels: list[str], counts: Mapping[Any, int]) -> Metric:
    """A labelled counter family from ``{label values (a tuple of str): count}``, in label order."""
    family = CounterMetricFamily(name, documentation, labels=labels)
    for values, n in sorted(counts.items()):
        family.add_metric(list(values), n)
    return family


def _bump(ring: deque[list[int]], second: int, total: int, errors: int) -> None:
    if ring and ring[-1][0] == second:
        ring[-1][1] += total
        ring[-1][2] += errors
    else:
        ring.append([second, total, errors])


def _rates(ring: deque[list[int]], now: int) -> tuple[float, float]:
    total = errors = 0
    for second, n, e in ring:
        if now - second < RATE_WINDOW_S:
            total += n
            errors += e
    return total / RATE_WINDOW_S, (errors / total if total else 0.0)
