"""Convoso / Drop-rate compliance (convoso_exporter/mixin/dashboards/compliance.py).

Every panel reads the 30-day rules by job and campaign (they keep no instance), draws the
30-day alerts' lines whatever the settings say, and shows days as bars.
"""

from __future__ import annotations

import pytest

from convoso_exporter.mixin import compliance as rules
from convoso_exporter.mixin import judging
from convoso_exporter.mixin.dashboards import compliance
from convoso_exporter.mixin.settings import Settings, percent
from tests.dashboard_queries import panel_named, panels

DEFAULTS = compliance.build(Settings())
SCOPE = 'job=~"$job",campaign_id=~"$campaign"'


def test_the_dashboard_is_narrowed_by_campaign_only():
    names = [variable["name"] for variable in DEFAULTS["templating"]["list"]]
    assert names == ["datasource", "job", "instance", "campaign"]


def test_every_query_reads_a_30_day_rule_of_the_selected_campaigns():
    for panel in panels(DEFAULTS):
        for target in panel.get("targets", []):
            assert target["expr"].startswith("convoso:campaign_"), panel["title"]
            assert target["expr"].count("{") == target["expr"].count(SCOPE), panel["title"]
            assert "instance" not in target["expr"]


@pytest.mark.parametrize(
    "settings",
    [Settings(), Settings(drop_rate_30d_critical=0.025, drop_rate_30d_warning=0.02, drop_pace_days=3)],
    ids=["defaults", "changed"],
)
def test_the_rate_panels_draw_the_30_day_alerts_lines(settings):
    board = compliance.build(settings)
    critical = percent(settings.drop_rate_30d_critical)
    titles = (
        "30-day drop rate the alerts judge",
        "30-day drop rate, live-human basis",
        "30-day drop rate, answered basis",
        f"30-day drop rate on both bases against the {critical} line",
        "Drop rate per day",
    )
    for title in titles:
        panel = panel_named(board, title)
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        lines = [None, settings.drop_rate_30d_warning, settings.drop_rate_30d_critical]
        assert [step["value"] for step in steps] == lines
        assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
        assert panel["targets"][0]["legendFormat"].startswith("{{campaign_name}}")
    (live,) = panel_named(board, "30-day drop rate, live-human basis")["targets"]
    assert live["expr"] == f"{rules.RATE_30D_LIVE}{{{SCOPE}}}"
    (answered,) = panel_named(board, "30-day drop rate, answered basis")["targets"]
    assert answered["expr"] == f"{rules.RATE_30D}{{{SCOPE}}}"
    pace = panel_named(board, f"Drops left before {critical}, and the last 24 hours over it")
    assert f"kept up {settings.drop_pace_days} days" in pace["description"]


def test_each_basis_says_what_it_divides_by_and_the_answered_one_that_it_is_not_documented():
    live = panel_named(DEFAULTS, "30-day drop rate, live-human basis")["description"]
    answered = panel_named(DEFAULTS, "30-day drop rate, answered basis")["description"]
    assert "dropped calls ÷ (calls a live person answered and an agent handled + dropped calls)" in live
    assert "dropped calls ÷ the calls Convoso counts as answered" in answered
    assert "Convoso does not document whether answered counts live people only" in answered
    both = panel_named(DEFAULTS, "30-day drop rate on both bases against the 3% line")
    assert [target["legendFormat"] for target in both["targets"]] == [
        "{{campaign_name}} live-human",
        "{{campaign_name}} answered",
    ]


@pytest.mark.parametrize("basis", ["auto", "live", "answered"])
def test_the_judged_rate_and_headroom_follow_each_campaigns_basis(basis):
    board = compliance.build(Settings(drop_rate_30d_basis=basis))
    judged = panel_named(board, "30-day drop rate the alerts judge")
    (target,) = judged["targets"]
    assert target["expr"] == (
        f'{rules.RATE_30D_LIVE}{{{SCOPE}}} * on (job, target) group_left (basis) '
        f'{judging.BASIS}{{{SCOPE},basis="live"}}\nor\n'
        f'{rules.RATE_30D}{{{SCOPE}}} * on (job, target) group_left (basis) {judging.BASIS}{{{SCOPE},basis="answered"}}'
    )
    assert target["legendFormat"] == "{{campaign_name}} ({{basis}} basis)"
    assert f"drop_rate_30d_basis={basis}" in judged["description"]
    (headroom,) = panel_named(board, "Drops left before 3%")["targets"]
    assert headroom["expr"].startswith(f"{rules.HEADROOM_LIVE}{{{SCOPE}}} * on (job, target) group_left (basis)")


def test_days_are_bars_one_a_day():
    for title in ("Drop rate per day", "Answered and dropped per day"):
        panel = panel_named(DEFAULTS, title)
        assert panel["interval"] == "1d"
        assert panel["fieldConfig"]["defaults"]["custom"]["drawStyle"] == "bars"
        assert all("increase1d" in target["expr"] for target in panel["targets"])
    live, answered = panel_named(DEFAULTS, "Drop rate per day")["targets"]
    assert live["expr"] == (
        f"convoso:campaign_queue_dropped_live:increase1d{{{SCOPE}}} / ((convoso:campaign_live_answered:increase1d"
        f"{{{SCOPE}}} + convoso:campaign_queue_dropped_live:increase1d{{{SCOPE}}}) > 0)"
    )
    assert answered["expr"] == (
        f"convoso:campaign_queue_dropped:increase1d{{{SCOPE}}} / (convoso:campaign_queue_answered:increase1d"
        f"{{{SCOPE}}} > 0)"
    )


def test_the_headroom_is_red_below_zero():
    panel = panel_named(DEFAULTS, "Drops left before 3%")
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(step["value"], step["color"]) for step in steps] == [(None, "red"), (0, "orange"), (1, "green")]


def test_the_campaign_table_has_one_row_per_campaign_without_the_target_column():
    panel = panel_named(DEFAULTS, "Campaigns: the last 30 days")
    organize = panel["transformations"][1]["options"]
    assert organize["excludeByName"] == {"Time": True, "job": True, "instance": True, "target": True}
    headings = list(organize["renameByName"].values())
    assert headings[:4] == ["Campaign", "ID", "30-day drop rate, live-human", "30-day drop rate, answered"]
    assert "Drops left before 3%" in headings and "Live-human answered, 30 days" in headings
    assert all(target["instant"] and target["format"] == "table" for target in panel["targets"])
    # A column carrying `basis` would not merge into the campaign's row.
    assert all("group_left (basis)" not in target["expr"] for target in panel["targets"])
