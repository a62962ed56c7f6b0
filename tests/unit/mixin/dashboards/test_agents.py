"""Convoso / Agents (convoso_exporter/mixin/dashboards/agents.py)."""

from __future__ import annotations

from convoso_exporter.mixin.dashboards import agents
from convoso_exporter.mixin.settings import Settings
from tests.dashboard_queries import panel_named

DEFAULTS = agents.build(Settings())


def test_calls_today_distribution_comes_from_the_aggregate_gaugehistogram():
    panel = panel_named(DEFAULTS, "Calls today: how many agents per bucket")
    (target,) = panel["targets"]
    assert "convoso_agents_calls_today_bucket{" in target["expr"] and target["format"] == "heatmap"
