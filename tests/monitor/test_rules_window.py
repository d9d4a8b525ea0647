"""The streaming rule engine against a brute-force evaluator on random event streams.

The brute force applies the documented window semantics directly to the full event list:
bucket width g = bucket_width(range); an event at ts counts at evaluation time t when
t//g - range//g < ts//g <= t//g; per-stream values, then the vector aggregation, then the
comparison.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibos_otel.monitor.evaluate.rules import RuleEngine, Sample, bucket_width
from aibos_otel.policy.logql import VectorAggregation, parse_rule
from aibos_otel.policy.model import Rule

SERVICES = ["api", "web", "db"]
LEVELS = ["info", "error", "fatal"]
ENVS = ["prod", "dev"]
WORDS = ["timeout", "ok", "retry", "db error", "héllo"]

Event = tuple[int, dict[str, str], str]


@st.composite
def rules(draw: st.DrawFn) -> str:
    fn = draw(st.sampled_from(["rate", "count_over_time", "bytes_over_time", "bytes_rate"]))
    range_ms = draw(st.sampled_from([7, 50, 1000, 2500, 3000, 10_000]))
    matcher = draw(
        st.sampled_from(
            [
                'level="error"',
                'level=~"error|fatal"',
                'service_name=~"api|web", level!="info"',
                'deployment_environment="prod"',
            ]
        )
    )
    filters = draw(st.sampled_from(["", ' |= "o"', ' != "retry"', ' |~ "t.*o"', ' !~ "^ok$"']))
    inner = f"{fn}({{{matcher}}}{filters} [{range_ms}ms])"
    op = draw(st.sampled_from([None, "sum", "avg", "max", "min", "count"]))
    if op is None:
        metric = inner
    else:
        grouping = draw(
            st.sampled_from(
                ["", " by (service_name)", " by (service_name, level)", " without (level)", " by ()"]
            )
        )
        metric = f"{op}{grouping} ({inner})"
    cmp = draw(st.sampled_from(["", " > 0", " >= 2", " < 3", " != 1"]))
    return metric + cmp


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    n = draw(st.integers(0, 120))
    events = []
    for _ in range(n):
        ts = draw(st.integers(1_000_000_000, 1_020_000_000_000 // 1000))  # ~19 s span, ns
        labels = {
            "service_name": draw(st.sampled_from(SERVICES)),
            "level": draw(st.sampled_from(LEVELS)),
            "deployment_environment": draw(st.sampled_from(ENVS)),
        }
        events.append((ts, labels, draw(st.sampled_from(WORDS))))
    return events


def brute_force(expr_text: str, events: list[Event], t: int) -> dict[tuple[tuple[str, str], ...], float]:
    expr = parse_rule(expr_text)
    rng = expr.range_agg
    g = bucket_width(rng.range_ns)
    last, span = t // g, rng.range_ns // g
    per_stream: dict[tuple[tuple[str, str], ...], list[int]] = defaultdict(lambda: [0, 0])
    for ts, labels, body in events:
        if ts > t or not (last - span < ts // g <= last):
            continue
        if not rng.selector.matches_labels(labels) or not rng.selector.matches_line(body):
            continue
        acc = per_stream[tuple(sorted(labels.items()))]
        acc[0] += 1
        acc[1] += len(body.encode())
    seconds = rng.range_ns / 1e9
    values = {
        k: {"count_over_time": c, "rate": c / seconds, "bytes_over_time": b, "bytes_rate": b / seconds}[
            rng.function
        ]
        for k, (c, b) in per_stream.items()
    }
    agg = expr.metric if isinstance(expr.metric, VectorAggregation) else None
    if agg is None:
        out = {k: float(v) for k, v in values.items()}
    else:
        groups: dict[tuple[tuple[str, str], ...], list[float]] = defaultdict(list)
        for k, v in values.items():
            labels = dict(k)
            if agg.grouping is None:
                gl: dict[str, str] = {}
            elif agg.without:
                gl = {a: b for a, b in labels.items() if a not in agg.grouping}
            else:
                gl = {a: labels[a] for a in agg.grouping if labels.get(a)}
            groups[tuple(sorted(gl.items()))].append(v)
        fns = {"sum": sum, "avg": lambda xs: sum(xs) / len(xs), "max": max, "min": min, "count": len}
        out = {k: float(fns[agg.op](vs)) for k, vs in groups.items()}
    return {k: v for k, v in out.items() if expr.passes(v)}


def as_dict(samples: list[Sample]) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in samples}


def close(a: dict[tuple[tuple[str, str], ...], float], b: dict[tuple[tuple[str, str], ...], float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-9) for k in a)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(rules(), streams(), st.lists(st.integers(0, 21_000_000_000), min_size=1, max_size=8), st.randoms())
def test_streaming_matches_brute_force(
    expr_text: str, events: list[Event], eval_times: list[int], rnd: random.Random
) -> None:
    rule = Rule(name="r", expr_text=expr_text, expr=parse_rule(expr_text))
    seen: list[tuple[bool, list[Sample]]] = []
    engine = RuleEngine([rule], lambda _r, samples, _t, complete: seen.append((complete, samples)))
    pending = sorted(events, key=lambda e: e[0])
    fed: list[Event] = []
    for t in sorted(eval_times):
        chunk = [e for e in pending if e[0] <= t]
        pending = [e for e in pending if e[0] > t]
        rnd.shuffle(chunk)  # records arrive out of order within a batch
        for ts, labels, body in chunk:
            for feed in engine.feeds_for(labels):
                feed.offer(body, ts)
        fed.extend(chunk)
        seen.clear()
        engine.after_batch(t)
        # the partial evaluation reports only groups the batch touched, each with the right value
        expected = brute_force(expr_text, fed, t)
        for complete, samples in seen:
            assert not complete
            for key, value in as_dict(samples).items():
                assert key in expected and math.isclose(value, expected[key], rel_tol=1e-9, abs_tol=1e-9)
        got = engine.evaluate_all(t)["r"]
        assert close(as_dict(got), expected), (expr_text, t, as_dict(got), expected)


def test_series_cap_counts_overflow() -> None:
    rule = Rule(name="r", expr_text="x", expr=parse_rule('count_over_time({level="error"}[1m])'))
    engine = RuleEngine([rule], lambda *a: None, max_series=3)
    for i in range(5):
        for feed in engine.feeds_for({"level": "error", "pod": str(i)}):
            feed.offer("x", 10**9)
    assert len(engine.evaluate_all(2 * 10**9)["r"]) == 3
    assert engine.rules[0].overflow == 2


MINUTE = 60 * 10**9


def _absent_engine(expr_text: str) -> RuleEngine:
    rule = Rule(name="silent", expr_text=expr_text, expr=parse_rule(expr_text))
    return RuleEngine([rule], lambda *a: None)


def test_absent_over_time_fires_only_after_a_whole_silent_range() -> None:
    engine = _absent_engine('absent_over_time({service_name="checkout", level!="debug"}[10m])')
    start = 1_000 * MINUTE
    # A monitor that just started has seen nothing: that is not yet silence.
    assert engine.evaluate_all(start)["silent"] == []
    assert engine.evaluate_all(start + 9 * MINUTE)["silent"] == []
    # Watched for a whole range, still nothing: one sample, labelled with the "=" matchers (as Loki).
    assert engine.evaluate_all(start + 10 * MINUTE)["silent"] == [Sample({"service_name": "checkout"}, 1.0)]
    # One matching record resolves it; another service's record or a filtered-out level does not.
    for labels in (
        {"service_name": "billing", "level": "info"},
        {"service_name": "checkout", "level": "debug"},
    ):
        for feed in engine.feeds_for(labels):
            feed.offer("x", start + 11 * MINUTE)
    assert engine.evaluate_all(start + 11 * MINUTE)["silent"] != []
    for feed in engine.feeds_for({"service_name": "checkout", "level": "info", "pod": "a"}):
        feed.offer("x", start + 11 * MINUTE)
    assert engine.evaluate_all(start + 12 * MINUTE)["silent"] == []
    # Silent again for one range after that record: fires again.
    assert engine.evaluate_all(start + 20 * MINUTE)["silent"] == []
    assert engine.evaluate_all(start + 22 * MINUTE)["silent"] == [Sample({"service_name": "checkout"}, 1.0)]


def test_absent_over_time_of_a_regex_selector_has_no_labels() -> None:
    engine = _absent_engine('absent_over_time({service_name=~".+"}[5m])')
    engine.evaluate_all(0)
    assert engine.evaluate_all(5 * MINUTE)["silent"] == [Sample({}, 1.0)]


def test_the_ingest_path_offers_a_presence_rule_once_per_batch_and_counts_still_see_every_record(
    tmp_path: Path,
) -> None:
    """logs-silent (absent_over_time over every stream) must not put every record on the slow path,
    and must still hear a batch; a count rule beside it still counts each record."""
    from aibos_otel.monitor.metrics import DerivedMetrics
    from aibos_otel.monitor.receive.ingest import Ingestor
    from aibos_otel.monitor.store import Store
    from tests.monitor.otlp_builders import logs_request, record

    rules = [
        Rule(name=n, expr_text=e, expr=parse_rule(e))
        for n, e in (
            ("silent", 'absent_over_time({service_name=~".+"}[10m])'),
            ("infos", 'sum(count_over_time({level="info"}[10m])) > 0'),
        )
    ]
    engine = RuleEngine(rules, lambda *a: None)
    now = [1_000 * MINUTE]
    store = Store(tmp_path / "monitor.db")
    try:
        ingestor = Ingestor(store, DerivedMetrics(), engine, clock=lambda: now[0])
        engine.evaluate_all(now[0])  # the monitor starts watching
        (silent,) = [
            f for f in engine.feeds_for({"service_name": "checkout", "level": "info"}) if f.presence_only
        ]
        offers = []
        original = type(silent).offer
        type(silent).offer = lambda self, body, t: (
            offers.append(self.rule.rule.name),
            original(self, body, t),
        )[1]  # type: ignore[method-assign]
        try:
            now[0] += 5 * MINUTE
            ingestor.ingest_logs(logs_request([record(f"r{i}", "info", time_ns=now[0]) for i in range(300)]))
        finally:
            type(silent).offer = original  # type: ignore[method-assign]
        assert offers.count("silent") == 1 and offers.count("infos") == 300
        # heard: not silent within a range of the batch; silent one range later
        assert engine.evaluate_all(now[0] + 9 * MINUTE)["silent"] == []
        assert engine.evaluate_all(now[0] + 9 * MINUTE)["infos"] == [Sample({}, 300.0)]
        assert engine.evaluate_all(now[0] + 11 * MINUTE)["silent"] == [Sample({}, 1.0)]
    finally:
        store.close()
