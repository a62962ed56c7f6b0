"""The exporter's own families: build, API requests and latency, the shape telemetry of
the answers read, the endpoints polled, targets, discovery, the API budget and its
ceiling (the stretch, the waits) and the config's reload state."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass, field

from convoso_exporter.api.errors import ERROR_KINDS
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.buildinfo import revision
from convoso_exporter.config.schema import TARGET_KINDS
from convoso_exporter.expose.catalog import new_family
from convoso_exporter.expose.exposition import Family
from convoso_exporter.poll.budget import Stretch


@dataclass(frozen=True)
class ExporterInfo:
    """What the app knows about itself at render time."""

    version: str
    targets: Mapping[str, int]  # kind -> targets polled
    reload_ok: bool
    reload_timestamp: float | None
    budget_per_minute: float = 0.0  # API calls per minute the targets imply
    discovered: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (kind, outcome) -> scopes
    revision: str = field(default_factory=revision)  # the git commit built from (buildinfo.py)
    stretch: Stretch = field(default_factory=Stretch)  # the request-rate ceiling's (Poller.stretch)
    ceiling_wait_seconds: float = 0.0  # requests' waits under the ceiling (Poller.ceiling_wait_seconds)
    endpoints: Mapping[str, bool] = field(default_factory=dict)  # endpoint -> polled now (Endpoints.enabled())


def exporter_families(stats: ApiStats, info: ExporterInfo) -> list[Family]:
    """The exporter's own families (not per target)."""
    build = new_family("convoso_exporter_build_info")
    build.add((info.version, info.revision, platform.python_version()), 1)
    budget = new_family("convoso_exporter_api_budget_calls_per_minute")
    budget.add((), info.budget_per_minute)
    ceiling = new_family("convoso_exporter_api_ceiling_calls_per_minute")
    if info.stretch.ceiling is not None:
        ceiling.add((), info.stretch.ceiling)
    stretch = new_family("convoso_exporter_poll_interval_stretch_ratio")
    # Every kind from 1; a kind outside the catalogue's list still shows (kinds are few).
    for kind in (*TARGET_KINDS, *sorted(set(info.stretch.planned) - set(TARGET_KINDS))):
        stretch.add((kind,), info.stretch.ratio(kind))
    waits = new_family("convoso_exporter_api_ceiling_wait_seconds_total")
    waits.add((), info.ceiling_wait_seconds)
    endpoints = new_family("convoso_exporter_endpoint_enabled")
    for endpoint, enabled in info.endpoints.items():
        endpoints.add((endpoint,), 1 if enabled else 0)
    targets = new_family("convoso_exporter_targets")
    for kind in TARGET_KINDS:
        targets.add((kind,), info.targets.get(kind, 0))
    discovered = new_family("convoso_exporter_discovered_scopes")
    for (kind, outcome), count in sorted(info.discovered.items()):
        discovered.add((kind, outcome), count)
    reload_ok = new_family("convoso_exporter_config_last_reload_successful")
    reload_ok.add((), 1 if info.reload_ok else 0)
    reload_time = new_family("convoso_exporter_config_last_reload_success_timestamp_seconds")
    if info.reload_timestamp is not None:
        reload_time.add((), info.reload_timestamp)
    return [build, _requests_family(stats), _latency_family(stats), *_drift_families(stats), budget, ceiling, stretch,
            waits, endpoints, targets, discovered, reload_ok, reload_time]


def _requests_family(stats: ApiStats) -> Family:
    # Every search outcome from 0, so rate() and alerts see the first failure.
    counts = dict.fromkeys((("search", outcome) for outcome in ("success",) + ERROR_KINDS), 0)
    counts.update(stats.requests)
    family = new_family("convoso_exporter_api_requests_total")
    for key in sorted(counts):
        family.add(key, counts[key])
    return family


def _latency_family(stats: ApiStats) -> Family:
    family = new_family("convoso_exporter_api_request_duration_seconds")
    if "search" not in stats.latency:
        family.add_histogram(("search",), [0] * len(family.buckets), 0.0)
    for endpoint in sorted(stats.latency):
        histogram = stats.latency[endpoint]
        family.add_histogram((endpoint,), list(histogram.counts) + [histogram.count], histogram.sum)
    return family


def _drift_families(stats: ApiStats) -> list[Family]:
    """What the answers held that the model did not expect (api/drift.py), and how many
    the reference parser read; the fallbacks of search from 0."""
    report = stats.drift.report()
    drift = new_family("convoso_exporter_api_drift_total")
    for entry in report.entries:
        drift.add((entry.endpoint, entry.field, entry.kind), entry.answers)
    fallbacks = new_family("convoso_exporter_parse_fallbacks_total")
    counts = {"search": 0, **report.fallbacks}
    for endpoint in sorted(counts):
        fallbacks.add((endpoint,), counts[endpoint])
    return [drift, fallbacks]
