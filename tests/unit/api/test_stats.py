"""convoso_exporter.api.stats: request counts by (endpoint, outcome) and latency histograms
in Prometheus shape (cumulative buckets, le meaning "<=", +Inf as the count)."""

from __future__ import annotations

import pytest

from convoso_exporter.api.stats import ApiStats, LatencyHistogram


def test_stats_histogram_is_cumulative() -> None:
    stats = ApiStats()
    for seconds in (0.01, 0.05, 0.3, 7.0, 100.0):
        stats.record("search", "success", seconds)
    histogram = stats.latency["search"]
    by_bound = dict(zip(stats.BUCKETS, histogram.counts))
    assert by_bound[0.05] == 2  # le is "<=": 0.05 counts in its own bucket
    assert by_bound[0.25] == 2 and by_bound[0.5] == 3 and by_bound[10.0] == 4 and by_bound[30.0] == 4
    assert histogram.counts == sorted(histogram.counts)
    assert histogram.count == 5 and histogram.sum == pytest.approx(107.36)
    assert stats.requests == {("search", "success"): 5}


@pytest.mark.parametrize(
    ("seconds", "counts"),
    [
        (0.0, [1, 1, 1]),
        (0.999, [1, 1, 1]),
        (1.0, [1, 1, 1]),  # exactly on a bound: in that bucket
        (1.001, [0, 1, 1]),
        (2.0, [0, 1, 1]),
        (2.5, [0, 0, 1]),
        (5.0, [0, 0, 1]),
        (5.5, [0, 0, 0]),  # above the last bound: only in +Inf (the count)
    ],
)
def test_a_value_counts_in_every_bucket_whose_bound_is_at_least_it(seconds, counts):
    histogram = LatencyHistogram((1.0, 2.0, 5.0))
    histogram.observe(seconds)
    assert histogram.counts == counts
    assert histogram.count == 1 and histogram.sum == seconds


def test_counts_sum_and_count_accumulate():
    histogram = LatencyHistogram((1.0, 2.0, 5.0))
    for seconds in (0.5, 1.0, 1.5, 2.0, 4.0, 8.0, 16.0):
        histogram.observe(seconds)
    assert histogram.counts == [2, 4, 5]
    assert histogram.count == 7
    assert histogram.sum == 33.0
    assert histogram.buckets == (1.0, 2.0, 5.0)


def test_a_new_histogram_is_all_zero():
    histogram = LatencyHistogram(ApiStats.BUCKETS)
    assert histogram.counts == [0] * len(ApiStats.BUCKETS)
    assert histogram.sum == 0.0 and histogram.count == 0


def test_buckets_are_sorted_and_span_a_fast_answer_to_the_slowest_timeout():
    assert list(ApiStats.BUCKETS) == sorted(set(ApiStats.BUCKETS))
    assert ApiStats.BUCKETS[0] == 0.05 and ApiStats.BUCKETS[-1] == 30.0


def test_requests_are_counted_by_endpoint_and_outcome():
    stats = ApiStats()
    stats.record("search", "success", 0.1)
    stats.record("search", "success", 0.2)
    stats.record("search", "timeout", 10.0)
    stats.record("logout", "api", 0.3)
    assert stats.requests == {("search", "success"): 2, ("search", "timeout"): 1, ("logout", "api"): 1}


def test_latency_is_per_endpoint_whatever_the_outcome():
    stats = ApiStats()
    stats.record("search", "success", 0.25)
    stats.record("search", "server", 0.5)
    stats.record("logout", "success", 2.0)
    assert set(stats.latency) == {"search", "logout"}
    search, logout = stats.latency["search"], stats.latency["logout"]
    assert (search.count, search.sum) == (2, 0.75)
    assert (logout.count, logout.sum) == (1, 2.0)
    by_bound = dict(zip(ApiStats.BUCKETS, search.counts))
    assert by_bound[0.1] == 0 and by_bound[0.25] == 1 and by_bound[0.5] == 2


def test_a_negative_duration_is_recorded_as_zero():
    # Clamped at zero: the sum never goes down, and the first bucket holds it.
    stats = ApiStats()
    stats.record("search", "success", -0.5)
    histogram = stats.latency["search"]
    assert histogram.sum == 0.0 and histogram.count == 1
    assert histogram.counts == [1] * len(ApiStats.BUCKETS)


def test_no_endpoint_is_listed_before_its_first_request():
    stats = ApiStats()
    assert stats.requests == {} and stats.latency == {}


def test_a_snapshot_holds_the_shape_telemetry_as_it_was():
    from convoso_exporter.api.drift import Tally

    stats = ApiStats()
    tally = Tally("search")
    tally.note("agents.lead_id", "empty_as_text", "0")
    stats.drift.add(tally)
    copy = stats.snapshot()
    stats.drift.add(tally)
    assert [(e.field, e.answers) for e in copy.drift.report().entries] == [("agents.lead_id", 1)]
    assert [(e.field, e.answers) for e in stats.drift.report().entries] == [("agents.lead_id", 2)]
