"""The batch latency histogram (one sort per batch) equals one observation per record."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aibos_otel.monitor.metrics import LATENCY_BOUNDS_NS, BatchCounts

RECEIVE_NS = 1_800_000_000 * 10**9

# Timestamps around every bucket bound (just inside, on, just outside), none, and the future.
_near_bounds = st.sampled_from(LATENCY_BOUNDS_NS).flatmap(
    lambda bound: st.integers(-2, 2).map(lambda d: RECEIVE_NS - bound + d)
)
_timestamps = st.one_of(
    st.just(0),
    st.just(RECEIVE_NS),
    st.integers(RECEIVE_NS + 1, RECEIVE_NS + 10**12),
    st.integers(1, RECEIVE_NS - 1),
    _near_bounds,
)


@given(st.lists(_timestamps, max_size=60))
def test_observe_times_matches_one_observation_per_record(times: list[int]) -> None:
    one_by_one, batched = BatchCounts(), BatchCounts()
    for t in times:
        if t:
            one_by_one.observe_latency(RECEIVE_NS - t)
    batched.observe_times(times, RECEIVE_NS)
    assert batched.latency_buckets == one_by_one.latency_buckets
    assert batched.latency_sum_ns == one_by_one.latency_sum_ns
    assert sum(batched.latency_buckets) == sum(1 for t in times if t)


def test_future_and_missing_timestamps() -> None:
    counts = BatchCounts()
    counts.observe_times([0, RECEIVE_NS + 5, RECEIVE_NS, RECEIVE_NS - LATENCY_BOUNDS_NS[-1] - 1], RECEIVE_NS)
    assert counts.latency_buckets[0] == 2  # at or ahead of our clock: latency 0
    assert counts.latency_buckets[-1] == 1  # beyond the last bound
    assert counts.latency_sum_ns == LATENCY_BOUNDS_NS[-1] + 1
