"""Convoso / Contact center overview (convoso_exporter/mixin/dashboards/overview.py).

Its drop-rate panels must draw the alert thresholds, whatever the settings say.
"""

from __future__ import annotations

import pytest

from convoso_exporter.api.model import COMMON_STATUSES
from convoso_exporter.mixin.dashboards import overview
from convoso_exporter.mixin.settings import Settings, percent
from tests.dashboard_queries import panel_named

DEFAULTS = overview.build(Settings())


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
def test_drop_rate_panels_draw_the_alert_thresholds(settings):
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
    chart = panel_named(board, f"Drop rate today against the {percent(settings.drop_rate_critical)} line")
    assert chart["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line+area"


def test_the_burst_panel_follows_the_burst_window():
    board = overview.build(Settings(burst_window="30m", burst_min_drops=7))
    panel = panel_named(board, "Drops in the last 30m")
    assert "from 7 drops" in panel["description"]
    (target,) = panel["targets"]
    assert "offset 30m" in target["expr"] and "[30m]" in target["expr"]
