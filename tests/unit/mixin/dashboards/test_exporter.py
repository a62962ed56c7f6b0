"""Convoso / Exporter health (convoso_exporter/mixin/dashboards/exporter.py).

Its data-age panel draws the ConvosoDataStale threshold, whatever the settings say.
"""

from __future__ import annotations

import pytest

from convoso_exporter.mixin.dashboards import exporter
from convoso_exporter.mixin.settings import Settings, duration_seconds
from tests.dashboard_queries import panel_named


@pytest.mark.parametrize("stale_after", ["10m", "1h30m"])
def test_data_age_draws_the_stale_data_alert_threshold(stale_after):
    panel = panel_named(exporter.build(Settings(stale_after=stale_after)), "Data age")
    stale = duration_seconds(stale_after)
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(step["value"], step["color"]) for step in steps] == [
        (None, "green"),
        (stale / 2, "orange"),
        (stale, "red"),
    ]
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line+area"
    assert f"ConvosoDataStale fires past {stale_after}" in panel["description"]


def test_the_budget_targets_and_discovery_panels_exist():
    board = exporter.build(Settings())
    budget = panel_named(board, "API calls per minute: budget and actual")
    assert "convoso_exporter_api_budget_calls_per_minute{" in budget["targets"][0]["expr"]
    assert "[$__rate_interval])) * 60" in budget["targets"][1]["expr"]
    (kinds,) = panel_named(board, "Targets by kind")["targets"]
    assert kinds["expr"].startswith("convoso_exporter_targets{") and "{{kind}}" in kinds["legendFormat"]
    (scopes,) = panel_named(board, "Discovered scopes by outcome")["targets"]
    assert scopes["expr"].startswith("convoso_exporter_discovered_scopes{") and "{{outcome}}" in scopes["legendFormat"]


def test_the_counts_panel_draws_each_targets_disagreement_per_figure():
    panel = panel_named(exporter.build(Settings()), "Convoso's agent counts minus ours")
    (query,) = panel["targets"]
    assert query["expr"] == (
        'convoso_exporter_count_disagreement{job=~"$job",instance=~"$instance",target=~"$target"}'
    )
    assert query["legendFormat"] == "{{target}} {{figure}}"
    assert panel["fieldConfig"]["defaults"]["unit"] == "short" and "RINGING" in panel["description"]


def test_the_endpoints_polled_and_the_agent_time_gap_are_shown():
    board = exporter.build(Settings())
    endpoints = panel_named(board, "Endpoints polled")
    (target,) = endpoints["targets"]
    assert target["expr"] == 'convoso_exporter_endpoint_enabled{job=~"$job",instance=~"$instance"}'
    assert target["legendFormat"] == "{{endpoint}} ({{instance}})"
    mapping = endpoints["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert (mapping["0"]["text"], mapping["1"]["text"]) == ("OFF", "ON")
    gap = panel_named(board, "Agent time by activity: the exporter's share minus Convoso's")
    assert "convoso:campaign_agents_status_seconds_share:ratio_rate15m" in gap["targets"][0]["expr"]
