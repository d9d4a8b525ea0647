"""Streaming evaluation of LogQL-subset rules over sliding windows, one window per series.

Window semantics (the brute-force test in ``tests/monitor/test_rules_window.py`` checks them):
time is cut into buckets of ``g = range / k`` nanoseconds (``k`` is 300 for most ranges, see
:func:`bucket_width`); a record at time ``ts`` is in bucket ``ts // g``; the window evaluated
at ``t`` holds the buckets ``b`` with ``t // g - range // g < b <= t // g``. So a window is
exact to one bucket (1 s for a 5 m range), and memory per series is at most ``k`` buckets no
matter how many records arrive. A series with no record in the window has no sample (as in
Loki), so an alert on it resolves.

``sum`` (and the bare range functions) are linear, so records are added straight into one
window per output group; ``avg``/``min``/``max``/``count`` need one window per stream and are
combined at evaluation. ``absent_over_time`` has one window for every matching stream, labelled
with the selector's ``=`` matchers (as Loki labels it); it gives 1 when that window is empty, but
not before the engine has watched for one whole range (a monitor that just started has seen nothing,
which is not silence). The number of series per rule is capped (``max_series``); records for
new series beyond it are counted in ``overflow`` and dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aibos_otel.policy.logql import LineFilter, RangeAggregation, RuleExpr, VectorAggregation
from aibos_otel.policy.model import Rule

LabelKey = tuple[tuple[str, str], ...]
_BUCKET_COUNTS = (300, 250, 240, 200, 150, 125, 120, 100, 60, 50, 40, 30, 25, 20, 10, 8, 5, 4, 2, 1)


def bucket_width(range_ns: int) -> int:
    """Bucket width for a range: ``range / k`` for the largest ``k`` in a fixed list dividing it."""
    return next(range_ns // k for k in _BUCKET_COUNTS if range_ns % k == 0)


class Window:
    """Counts and bytes per bucket over a sliding range; amortised O(1) per record."""

    __slots__ = ("buckets", "count", "nbytes")

    def __init__(self) -> None:
        self.buckets: deque[list[int]] = deque()  # [bucket index, count, bytes], ascending
        self.count = 0
        self.nbytes = 0

    def add(self, bucket: int, nbytes: int) -> None:
        """Add one record in ``bucket``."""
        self.count += 1
        self.nbytes += nbytes
        buckets = self.buckets
        if buckets and buckets[-1][0] == bucket:
            entry = buckets[-1]
            entry[1] += 1
            entry[2] += nbytes
            return
        if not buckets or buckets[-1][0] < bucket:
            buckets.append([bucket, 1, nbytes])
            return
        # late record: rare, so a linear search from the right is fine
        for i in range(len(buckets) - 1, -1, -1):
            if buckets[i][0] == bucket:
                buckets[i][1] += 1
                buckets[i][2] += nbytes
                return
            if buckets[i][0] < bucket:
                buckets.insert(i + 1, [bucket, 1, nbytes])
                return
        buckets.appendleft([bucket, 1, nbytes])

    def expire(self, first_bucket: int) -> None:
        """Drop buckets before ``first_bucket``."""
        buckets = self.buckets
        while buckets and buckets[0][0] < first_bucket:
            _, n, b = buckets.popleft()
            self.count -= n
            self.nbytes -= b

    def totals(self, first_bucket: int, last_bucket: int) -> tuple[int, int]:
        """(count, bytes) over ``first_bucket..last_bucket`` (after :meth:`expire`, usually all)."""
        if not self.buckets or self.buckets[-1][0] <= last_bucket:
            return self.count, self.nbytes
        count = nbytes = 0
        for b, n, size in self.buckets:
            if first_bucket <= b <= last_bucket:
                count += n
                nbytes += size
        return count, nbytes


@dataclass(frozen=True, slots=True)
class Sample:
    """One output series of a rule at an evaluation: its labels and value."""

    labels: dict[str, str]
    value: float


@dataclass
class _Group:
    labels: dict[str, str]
    series: dict[LabelKey, Window] = field(default_factory=dict)


class CompiledRule:
    """A rule's windows and how to evaluate them."""

    def __init__(self, rule: Rule, max_series: int) -> None:
        self.rule = rule
        self.expr: RuleExpr = rule.expr
        self.range: RangeAggregation = rule.expr.range_agg
        self.width = bucket_width(self.range.range_ns)
        self.span = self.range.range_ns // self.width  # buckets per window
        agg = self.expr.metric if isinstance(self.expr.metric, VectorAggregation) else None
        self.agg = agg
        # linear: one window per output group is enough
        self.merge_streams = agg is None or agg.op == "sum"
        self.max_series = max_series
        self.groups: dict[LabelKey, _Group] = {}
        self.series_count = 0
        self.overflow = 0
        self.touched: set[LabelKey] = set()
        self.filters: tuple[LineFilter, ...] = self.range.selector.filters
        self.needs_bytes = self.range.function in ("bytes_over_time", "bytes_rate")
        self.absent = self.expr.absent
        self.first_evaluated_ns: int | None = None
        if self.absent:
            # One window that always exists, so silence (no record at all) has a group to report.
            labels = {m.name: m.value for m in self.range.selector.matchers if m.op == "="}
            key = tuple(sorted(labels.items()))
            self.groups[key] = _Group(labels, {key: Window()})
            self.series_count = 1

    def group_labels(self, labels: dict[str, str]) -> dict[str, str]:
        """The output labels for a stream."""
        if self.absent:
            return dict(next(iter(self.groups.values())).labels)
        agg = self.agg
        if agg is None:
            return dict(labels)
        if agg.grouping is None:
            return {}
        if agg.without:
            dropped = set(agg.grouping)
            return {k: v for k, v in labels.items() if k not in dropped}
        return {k: labels[k] for k in agg.grouping if labels.get(k)}

    def window_for(self, labels: dict[str, str]) -> tuple[LabelKey, Window] | None:
        """The window a stream's records go into (created on first use, within the cap)."""
        glabels = self.group_labels(labels)
        gkey = tuple(sorted(glabels.items()))
        group = self.groups.get(gkey)
        skey = gkey if self.merge_streams else tuple(sorted(labels.items()))
        if group is not None and skey in group.series:
            return gkey, group.series[skey]
        if self.series_count >= self.max_series:
            return None
        if group is None:
            group = self.groups[gkey] = _Group(glabels)
        window = group.series[skey] = Window()
        self.series_count += 1
        return gkey, window

    def value(self, group: _Group, first: int, last: int) -> float | None:
        """The group's value over buckets ``first..last``, or ``None`` when it has no sample."""
        seconds = self.range.range_ns / 1e9
        fn = self.range.function
        values: list[float] = []
        for window in group.series.values():
            count, nbytes = window.totals(first, last)
            if count == 0:
                continue
            if fn == "count_over_time":
                values.append(count)
            elif fn == "rate":
                values.append(count / seconds)
            elif fn == "bytes_over_time":
                values.append(nbytes)
            else:
                values.append(nbytes / seconds)
        if not values:
            return None
        op = self.agg.op if self.agg is not None else "sum"
        if op == "sum":
            return float(sum(values))
        if op == "avg":
            return sum(values) / len(values)
        if op == "max":
            return float(max(values))
        if op == "min":
            return float(min(values))
        return float(len(values))  # count

    def evaluate(self, now_ns: int, keys: Iterable[LabelKey] | None = None) -> list[Sample]:
        """Samples that pass the comparison, for all groups or just ``keys``; expires old buckets."""
        last = now_ns // self.width
        first = last - self.span + 1
        if self.first_evaluated_ns is None:
            self.first_evaluated_ns = now_ns
        if self.absent:
            return self._evaluate_absent(now_ns, first, last)
        out: list[Sample] = []
        for gkey in list(self.groups if keys is None else keys):
            group = self.groups.get(gkey)
            if group is None:
                continue
            for window in group.series.values():
                window.expire(first)
            value = self.value(group, first, last)
            if value is None:
                if keys is None:
                    # an empty group: forget it so the series budget frees up
                    self.series_count -= len(group.series)
                    del self.groups[gkey]
                continue
            if self.expr.passes(value):
                out.append(Sample(group.labels, value))
        return out

    def _evaluate_absent(self, now_ns: int, first: int, last: int) -> list[Sample]:
        (group,) = self.groups.values()
        (window,) = group.series.values()
        window.expire(first)
        watched = (
            self.first_evaluated_ns is not None and now_ns - self.first_evaluated_ns >= self.range.range_ns
        )
        if not watched or window.totals(first, last)[0]:
            return []
        return [Sample(group.labels, 1.0)] if self.expr.passes(1.0) else []


class Feed:
    """One rule's input for one stream (label set)."""

    __slots__ = ("gkey", "presence_only", "rule", "window")

    def __init__(self, rule: CompiledRule, gkey: LabelKey, window: Window) -> None:
        self.rule = rule
        self.gkey = gkey
        self.window = window
        # absent_over_time without line filters asks only "did anything arrive?": one offer per
        # batch (at its arrival) answers that, so a dead-man's switch over every stream does not
        # put every record on the per-record path (it halved ingest throughput).
        self.presence_only = rule.absent and not rule.filters

    def offer(self, body: str, time_ns: int) -> None:
        """Add a record if it passes the rule's line filters."""
        rule = self.rule
        for f in rule.filters:
            if not f.matches(body):
                return
        self.window.add(time_ns // rule.width, len(body.encode("utf-8")) if rule.needs_bytes else 0)
        rule.touched.add(self.gkey)


ActiveCallback = Callable[[Rule, list[Sample], int, bool], None]


class RuleEngine:
    """All enabled rules; the ingest path's ``RuleSink``.

    ``on_samples(rule, samples, now_ns, complete)`` is called with the samples that pass each
    rule's comparison: after each batch for the groups it touched (``complete=False``: only
    activations can be concluded), and on :meth:`evaluate_all` for every group
    (``complete=True``: groups absent from ``samples`` are inactive).
    """

    def __init__(
        self, rules: Sequence[Rule], on_samples: ActiveCallback, *, max_series: int = 10_000
    ) -> None:
        self.rules = [CompiledRule(r, max_series) for r in rules if r.enabled]
        self._on_samples = on_samples
        self._feeds: dict[LabelKey, list[Feed]] = {}
        self.generation = 0
        """Moves whenever feeds handed out by :meth:`feeds_for` may have been dropped: callers
        that keep feeds across batches drop theirs when it changes."""
        self._max_cached = 50_000

    def feeds_for(self, labels: dict[str, str]) -> Sequence[Feed]:
        """The feeds for a label set: one per rule whose selector matches."""
        key = tuple(sorted(labels.items()))
        feeds = self._feeds.get(key)
        if feeds is not None:  # evaluate_all drops cached feeds whose group it dropped
            return feeds
        out: list[Feed] = []
        for rule in self.rules:
            if rule.range.selector.matches_labels(labels):
                found = rule.window_for(labels)
                if found is None:
                    rule.overflow += 1
                    continue
                out.append(Feed(rule, found[0], found[1]))
        if len(self._feeds) >= self._max_cached:
            self._feeds.clear()
            self.generation += 1
        self._feeds[key] = out
        return out

    def after_batch(self, now_ns: int) -> None:
        """Evaluate the groups the batch touched; report activations."""
        for rule in self.rules:
            if rule.touched:
                keys, rule.touched = rule.touched, set()
                samples = rule.evaluate(now_ns, keys)
                if samples:
                    self._on_samples(rule.rule, samples, now_ns, False)

    def evaluate_all(self, now_ns: int) -> dict[str, list[Sample]]:
        """Evaluate every group of every rule (the periodic tick); report complete results."""
        results: dict[str, list[Sample]] = {}
        for rule in self.rules:
            rule.touched.clear()
            samples = rule.evaluate(now_ns)
            results[rule.rule.name] = samples
            self._on_samples(rule.rule, samples, now_ns, True)
        # dropped groups invalidate cached feeds
        kept = {k: v for k, v in self._feeds.items() if v is None or all(f.gkey in f.rule.groups for f in v)}
        if len(kept) != len(self._feeds):
            self.generation += 1
        self._feeds = kept
        return results
