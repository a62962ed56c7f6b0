"""Convoso / Drop-rate compliance (convoso_exporter/mixin/dashboards/compliance.py).

Every panel reads the 30-day rules by job and campaign (they keep no instance), draws the
30-day alerts' lines whatever the settings say, and shows days as bars.
"""

from __future__ import annotations

import pytest

from convoso_exporter.mixin import compliance as rules
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
    for title in ("30-day drop rate", f"30-day drop rate against the {critical} line", "Drop rate per day"):
        panel = panel_named(board, title)
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        lines = [None, settings.drop_rate_30d_warning, settings.drop_rate_30d_critical]
        assert [step["value"] for step in steps] == lines
        assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
        assert panel["targets"][0]["legendFormat"] == "{{campaign_name}}"
    (rate,) = panel_named(board, "30-day drop rate")["targets"]
    assert rate["expr"] == f"{rules.RATE_30D}{{{SCOPE}}}"
    pace = panel_named(board, f"Drops left before {critical}, and the last 24 hours over it")
    assert f"kept up {settings.drop_pace_days} days" in pace["description"]


def test_days_are_bars_one_a_day():
    for title in ("Drop rate per day", "Answered and dropped per day"):
        panel = panel_named(DEFAULTS, title)
        assert panel["interval"] == "1d"
        assert panel["fieldConfig"]["defaults"]["custom"]["drawStyle"] == "bars"
        assert all("increase1d" in target["expr"] for target in panel["targets"])


def test_the_headroom_is_red_below_zero():
    panel = panel_named(DEFAULTS, "Drops left before 3%")
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(step["value"], step["color"]) for step in steps] == [(None, "red"), (0, "orange"), (1, "green")]


def test_the_campaign_table_has_one_row_per_campaign_without_the_target_column():
    panel = panel_named(DEFAULTS, "Campaigns: the last 30 days")
    organize = panel["transformations"][1]["options"]
    assert organize["excludeByName"] == {"Time": True, "job": True, "instance": True, "target": True}
    headings = list(organize["renameByName"].values())
    assert headings[:3] == ["Campaign", "ID", "30-day drop rate"] and "Drops left before 3%" in headings
    assert all(target["instant"] and target["format"] == "table" for target in panel["targets"])
