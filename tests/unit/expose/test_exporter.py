"""convoso_exporter.expose.exporter: the exporter's own families."""

from __future__ import annotations

import dataclasses
import platform

import pytest

from convoso_exporter.api.errors import ERROR_KINDS
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.poll.budget import Stretch
from tests.unit.expose.support import INFO, NOW, api_stats, hostile_states, names, renderer, state, value


def test_build_targets_budget_discovery_and_reload():
    body = renderer().render([state("t")], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_exporter_build_info", version="1.2.3", revision=INFO.revision,
                 python_version=platform.python_version()) == 1
    assert value(body, "convoso_exporter_targets", kind="account") == 1
    assert value(body, "convoso_exporter_targets", kind="custom") == 2
    assert value(body, "convoso_exporter_targets", kind="campaign") == 0  # every kind, from 0
    assert value(body, "convoso_exporter_api_budget_calls_per_minute") == 12.5
    assert value(body, "convoso_exporter_discovered_scopes", kind="campaign", outcome="polled") == 2
    assert value(body, "convoso_exporter_discovered_scopes", kind="queue", outcome="over_limit") == 1
    assert value(body, "convoso_exporter_config_last_reload_successful") == 1
    assert value(body, "convoso_exporter_config_last_reload_success_timestamp_seconds") == NOW - 600


def test_the_ceiling_its_stretch_by_kind_and_the_waits():
    stretch = Stretch(300, {"account": 4.0, "campaign": 3000.0, "queue": 3000.0, "agent_performance": 10.0},
                      {"account": 1.0, "campaign": 20.0, "queue": 20.0, "agent_performance": 20.0})
    info = dataclasses.replace(INFO, stretch=stretch, ceiling_wait_seconds=12.5)
    body = renderer().render([state("t")], ApiStats(), NOW, info).body
    assert value(body, "convoso_exporter_api_ceiling_calls_per_minute") == 300
    ratios = {kind: value(body, "convoso_exporter_poll_interval_stretch_ratio", kind=kind)
              for kind in ("account", "campaign", "queue", "custom", "agent_performance")}
    assert ratios == {"account": 1, "campaign": 20, "queue": 20, "custom": 1, "agent_performance": 20}
    assert value(body, "convoso_exporter_api_ceiling_wait_seconds_total") == 12.5
    # No ceiling (a poller made without one): no ceiling series, every kind as configured.
    body = renderer().render([state("t")], ApiStats(), NOW, INFO).body
    assert "convoso_exporter_api_ceiling_calls_per_minute" not in names(body)
    assert value(body, "convoso_exporter_poll_interval_stretch_ratio", kind="campaign") == 1


def test_self_metrics_are_pre_initialised():
    info = dataclasses.replace(INFO, reload_ok=False, reload_timestamp=None)
    body = renderer().render([state("t")], ApiStats(), NOW, info).body
    for outcome in ("success",) + ERROR_KINDS:
        assert value(body, "convoso_exporter_api_requests_total", endpoint="search", outcome=outcome) == 0
        if outcome != "success":
            assert value(body, "convoso_exporter_poll_errors_total", target="t", kind=outcome) == 0
    assert value(body, "convoso_exporter_api_request_duration_seconds_count", endpoint="search") == 0
    assert value(body, "convoso_exporter_api_request_duration_seconds_bucket", endpoint="search", le="+Inf") == 0
    assert value(body, "convoso_exporter_config_last_reload_successful") == 0
    assert "convoso_exporter_config_last_reload_success_timestamp_seconds" not in names(body)


def test_api_stats_are_rendered():
    body = renderer().render(hostile_states(), api_stats(), NOW, INFO).body
    assert value(body, "convoso_exporter_api_requests_total", endpoint="search", outcome="success") == 5
    assert value(body, "convoso_exporter_api_requests_total", endpoint="search", outcome="timeout") == 1
    assert value(body, "convoso_exporter_api_requests_total", endpoint="logout", outcome="api") == 1
    assert value(body, "convoso_exporter_api_request_duration_seconds_bucket", endpoint="search", le="0.25") == 3
    assert value(body, "convoso_exporter_api_request_duration_seconds_bucket", endpoint="search", le="30.0") == 5
    assert value(body, "convoso_exporter_api_request_duration_seconds_bucket", endpoint="search", le="+Inf") == 6
    assert value(body, "convoso_exporter_api_request_duration_seconds_count", endpoint="search") == 6
    assert value(body, "convoso_exporter_api_request_duration_seconds_sum", endpoint="search") == pytest.approx(58.41)
    assert value(body, "convoso_exporter_api_request_duration_seconds_count", endpoint="logout") == 1
    east = 'east "main" \\ 😀'
    assert value(body, "convoso_exporter_poll_errors_total", target=east, kind="timeout") == 3
    assert value(body, "convoso_exporter_poll_errors_total", target=east, kind="weird_kind") == 1
    assert value(body, "convoso_exporter_poll_errors_total", target="failing", kind="timeout") == 9


def test_build_info_carries_the_revision():
    from convoso_exporter.buildinfo import revision

    assert INFO.revision == revision()  # by default, what this package was built from
    info = dataclasses.replace(INFO, revision="0123abc")
    body = renderer().render([state("t")], ApiStats(), NOW, info).body
    assert value(body, "convoso_exporter_build_info", version="1.2.3", revision="0123abc",
                 python_version=platform.python_version()) == 1


def test_the_shape_telemetry_is_rendered_with_its_fallbacks_from_zero():
    from convoso_exporter.api.drift import Tally

    stats = ApiStats()
    body = renderer().render([state("t")], stats, NOW, INFO).body
    assert value(body, "convoso_exporter_parse_fallbacks_total", endpoint="search") == 0
    assert "convoso_exporter_api_drift_total" not in names(body)  # no answer showed any
    for fallback in (None, "bom"):
        tally = Tally("search", "tok")
        tally.note("agents.calls_today", "number_as_text", "12")
        tally.unknown("agents.", 'odd "name"\n\\', 1)
        tally.fallback = fallback
        stats.drift.add(tally)
    body = renderer().render([state("t")], stats.snapshot(), NOW, INFO).body
    assert value(body, "convoso_exporter_api_drift_total", endpoint="search", field="agents.calls_today",
                 kind="number_as_text") == 2
    assert value(body, "convoso_exporter_api_drift_total", endpoint="search", field='agents.odd "name"\\n\\',
                 kind="unknown_field") == 2
    assert value(body, "convoso_exporter_parse_fallbacks_total", endpoint="search") == 1


def test_each_endpoint_is_said_polled_or_off():
    info = dataclasses.replace(INFO, endpoints={"search": True, "performance": False, "user_activity": True})
    body = renderer().render([state("t")], ApiStats(), NOW, info).body
    assert {endpoint: value(body, "convoso_exporter_endpoint_enabled", endpoint=endpoint)
            for endpoint in ("search", "performance", "user_activity")} == {
        "search": 1, "performance": 0, "user_activity": 1}
    assert value(body, "convoso_exporter_targets", kind="performance") == 0  # every kind, the optional ones too
