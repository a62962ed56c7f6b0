"""Convoso / Agents (convoso_exporter/mixin/dashboards/agents.py)."""

from __future__ import annotations

from convoso_exporter.mixin.dashboards import agents
from convoso_exporter.mixin.settings import Settings
from tests.dashboard_queries import panel_named

DEFAULTS = agents.build(Settings())
AGENT_SCOPE = (
    'group_left () convoso_agent_info{job=~"$job",instance=~"$instance",'
    'campaign_id=~"$campaign",queue_id=~"$queue"}'
)


def test_calls_today_distribution_comes_from_the_accounts_gaugehistogram_by_campaign():
    panel = panel_named(DEFAULTS, "Calls today: how many agents per bucket")
    (target,) = panel["targets"]
    assert target["expr"].startswith(
        'sum by (le) (convoso_agents_calls_today_bucket{job=~"$job",instance=~"$instance",campaign_id=~"$campaign"}'
    )
    assert "convoso_target_" not in target["expr"]  # each agent once, not per overlapping target
    assert target["format"] == "heatmap"


def test_status_counts_come_from_the_breakdown_alone():
    (target,) = panel_named(DEFAULTS, "Agents by status now")["targets"]
    assert target["expr"] == (
        'sum by (status) (convoso_agents{job=~"$job",instance=~"$instance",'
        'campaign_id=~"$campaign",queue_id=~"$queue"})'
    )


def test_the_agents_table_is_narrowed_through_agent_info_and_names_campaign_and_queue():
    panel = panel_named(DEFAULTS, "Agents now")
    exprs = [target["expr"] for target in panel["targets"]]
    assert all("target" not in expr for expr in exprs), "per-agent series have no target label"
    assert AGENT_SCOPE in exprs[0] and AGENT_SCOPE in exprs[2]
    assert "group_left (campaign_name) convoso_campaign_info{" in exprs[4]
    assert "group_left (queue_name) convoso_queue_info{" in exprs[5]
    headings = panel["transformations"][1]["options"]["renameByName"]
    assert {"user_full_name": "Agent", "campaign_name": "Campaign", "queue_name": "Queue"}.items() <= headings.items()
