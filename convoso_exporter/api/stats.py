"""Self-statistics of the API client: request counts and latency per endpoint, and the
shape telemetry of the answers it read.

The client records one entry per finished request; the metrics module renders
them as `convoso_exporter_api_requests_total` and
`convoso_exporter_api_request_duration_seconds`. Requests are recorded on the event
loop, so plain dicts and ints are enough there; the shape telemetry (`drift.Drift`,
`convoso_exporter_api_drift_total`, `convoso_exporter_parse_fallbacks_total`) is
filled from what each answer's parse noted and takes its own lock.
"""

from __future__ import annotations

from bisect import bisect_left

from convoso_exporter.api.drift import Drift


class LatencyHistogram:
    """Latency of one endpoint, already in Prometheus histogram shape.

    `counts[i]` is the cumulative number of observations <= `buckets[i]`;
    the implicit +Inf bucket is `count`.
    """

    __slots__ = ("buckets", "counts", "sum", "count")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bucket (le = "<=").
        for i in range(bisect_left(self.buckets, seconds), len(self.buckets)):
            self.counts[i] += 1
        self.sum += seconds
        self.count += 1


class ApiStats:
    """Request counts by (endpoint, outcome) and latency by endpoint."""

    # From a fast loopback answer up to the slowest timeout public clients use (30 s).
    BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], int] = {}
        self.latency: dict[str, LatencyHistogram] = {}
        self.drift = Drift()

    def snapshot(self) -> ApiStats:
        """A copy the client's later requests do not change (for a render in another thread)."""
        copy = ApiStats()
        copy.requests = dict(self.requests)
        copy.drift = self.drift.copy()
        for endpoint, histogram in self.latency.items():
            frozen = copy.latency[endpoint] = LatencyHistogram(histogram.buckets)
            frozen.counts, frozen.sum, frozen.count = list(histogram.counts), histogram.sum, histogram.count
        return copy

    def record(self, endpoint: str, outcome: str, seconds: float) -> None:
        """Count one finished request. `outcome` is "success" or an error kind."""
        key = (endpoint, outcome)
        self.requests[key] = self.requests.get(key, 0) + 1
        histogram = self.latency.get(endpoint)
        if histogram is None:
            histogram = self.latency[endpoint] = LatencyHistogram(self.BUCKETS)
        histogram.observe(max(seconds, 0.0))
