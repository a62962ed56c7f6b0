"""Convoso / Contact center overview (convoso_exporter/mixin/dashboards/overview.py).

Its agent counts come from the account's breakdown, its per-campaign figures from the
campaign targets, and its drop-rate panels draw the alert thresholds whatever the
settings say.
"""

from __future__ import annotations

import pytest

from convoso_exporter.api.model import COMMON_STATUSES
from convoso_exporter.mixin.dashboards import overview
from convoso_exporter.mixin.settings import Settings, percent
from tests.dashboard_queries import panel_named

DEFAULTS = overview.build(Settings())
SCOPE = 'job=~"$job",instance=~"$instance",campaign_id=~"$campaign",queue_id=~"$queue"'
CAMPAIGN_TARGETS = (
    "* on (job, instance, target) group_left (campaign_id, campaign_name) "
    'convoso_target_info{job=~"$job",instance=~"$instance",kind="campaign",campaign_id=~"$campaign"}'
)


def test_the_agent_total_is_the_breakdown_summed_once():
    """With everything selected this is the account's agent count (the e2e test checks it)."""
    (target,) = panel_named(DEFAULTS, "Agents")["targets"]
    assert target["expr"] == f"sum(convoso_agents{{{SCOPE}}})"


@pytest.mark.parametrize("status", ["READY", "INCALL", "PAUSED", "WRAP"])
def test_status_counts_are_the_breakdown_by_status(status):
    titles = {
        "READY": "Agents ready",
        "INCALL": "Agents in call",
        "PAUSED": "Agents paused",
        "WRAP": "Agents in wrap-up",
    }
    (target,) = panel_named(DEFAULTS, titles[status])["targets"]
    assert target["expr"] == f'sum(convoso_agents{{{SCOPE},status="{status}"}})'


def test_agents_by_status_is_stacked_with_one_fixed_colour_per_status():
    panel = panel_named(DEFAULTS, "Logged-in agents by status")
    assert panel["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    colours = {
        o["matcher"]["options"]: o["properties"][0]["value"]["fixedColor"]
        for o in panel["fieldConfig"]["overrides"]
        if o["properties"][0]["id"] == "color" and o["properties"][0]["value"]["mode"] == "fixed"
    }
    assert set(COMMON_STATUSES) <= set(colours)
    assert len(set(colours.values())) == len(colours), "two statuses share a colour"
    assert "red" not in colours.values(), "red is for trouble"


@pytest.mark.parametrize(
    "settings", [Settings(), Settings(drop_rate_critical=0.05, drop_rate_warning=0.01)], ids=["defaults", "changed"]
)
def test_drop_rate_panels_draw_the_alert_thresholds_per_campaign(settings):
    board = overview.build(settings)
    for title in (
        "Drop rate today",
        f"Drop rate today against the {percent(settings.drop_rate_critical)} line",
    ):
        panel = panel_named(board, title)
        assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [step["value"] for step in steps] == [
            None,
            settings.drop_rate_warning,
            settings.drop_rate_critical,
        ]
        assert [step["color"] for step in steps] == ["green", "orange", "red"]
        (target,) = panel["targets"]
        assert target["expr"].endswith(CAMPAIGN_TARGETS) and target["legendFormat"] == "{{campaign_name}}"
    chart = panel_named(board, f"Drop rate today against the {percent(settings.drop_rate_critical)} line")
    assert chart["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line+area"


def test_the_burst_panel_follows_the_burst_window_per_campaign():
    board = overview.build(Settings(burst_window="30m", burst_min_drops=7))
    panel = panel_named(board, "Drops in the last 30m")
    assert "from 7 drops" in panel["description"]
    (target,) = panel["targets"]
    assert "offset 30m" in target["expr"] and "[30m]" in target["expr"]
    assert target["expr"].endswith(CAMPAIGN_TARGETS)


def test_the_campaigns_table_has_one_row_per_campaign_with_names():
    panel = panel_named(DEFAULTS, "Campaigns now")
    exprs = [target["expr"] for target in panel["targets"]]
    breakdown = "(sum by (job, instance, campaign_id) (convoso_agents{"
    own_target = "max by (job, instance, campaign_id, campaign_name) ("
    assert [e.startswith(breakdown) for e in exprs] == [True] * 3 + [False] * 5
    assert all(e.startswith(own_target) and CAMPAIGN_TARGETS in e for e in exprs[3:])
    headings = list(panel["transformations"][1]["options"]["renameByName"].values())
    assert headings[:3] == ["Campaign", "ID", "Agents"] and "Drop rate today" in headings


def test_account_totals_are_the_account_target_only():
    for title in ("Account queue calls today", "Account calls in scope today", "Account drop rate today"):
        for target in panel_named(DEFAULTS, title)["targets"]:
            assert target["expr"].count('target="account"') == target["expr"].count("{")


def test_where_agents_time_goes_reads_the_agent_time_rules_per_campaign_and_queue():
    figures = (
        ("Occupancy", "occupancy"),
        ("Pause share", "pause_share"),
        ("Average handle time", "handle_time_seconds"),
    )
    for title, figure in figures:
        campaign, queue, convoso = panel_named(DEFAULTS, title)["targets"]
        campaign_scope = 'job=~"$job",instance=~"$instance",campaign_id=~"$campaign"'
        assert campaign["expr"].startswith(f"convoso:campaign_{figure}:ratio_rate15m{{{campaign_scope}}}")
        assert campaign["legendFormat"] == "{{campaign_name}}"
        assert queue["expr"].startswith(f"convoso:queue_{figure}:ratio_rate15m{{{SCOPE}}}")
        assert "group_left (queue_name) convoso_queue_info" in queue["expr"]
        # Convoso's own figure per campaign (agent-performance), beside the exporter's.
        assert convoso["legendFormat"] == "{{campaign_name}} (Convoso)"
        assert campaign_scope in convoso["expr"] and "queue_id" not in convoso["expr"]
