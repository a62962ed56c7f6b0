"""The Grafana building blocks (convoso_exporter/mixin/panels.py): every panel and query on
the `datasource` variable, every panel with a description and a unit, and the panel kinds
drawing what their names promise.
"""

from __future__ import annotations

import pytest

from convoso_exporter.mixin import panels
from convoso_exporter.mixin.panels import (
    DATASOURCE,
    bargauge,
    column_units,
    fixed_colour,
    merged_columns,
    panel,
    queries,
    query,
    stat,
    state_timeline,
    status_colours,
    status_thresholds,
    table,
    thresholds,
    timeseries,
    value_mappings,
)
from convoso_exporter.statuses import STATUS_COLOURS, STATUS_LIMITS

DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
KINDS = {"timeseries": timeseries, "stat": stat, "bargauge": bargauge, "state-timeline": state_timeline, "table": table}


# ---------------------------------------------------------------- queries


def test_a_query_is_promql_code_on_the_datasource_variable():
    assert DATASOURCE == DATASOURCE_REF
    assert query("up", "{{instance}}") == {
        "datasource": DATASOURCE_REF,
        "editorMode": "code",
        "expr": "up",
        "format": "time_series",
        "instant": False,
        "legendFormat": "{{instance}}",
        "range": True,
        "refId": "A",
    }


def test_an_instant_query_is_not_a_range_query():
    target = query("up", ref="C", instant=True, fmt="table")
    assert (target["instant"], target["range"], target["format"], target["refId"]) == (True, False, "table", "C")


def test_queries_get_ref_ids_a_b_c_in_order():
    targets = queries(("a", "first"), ("b", "second"), ("c", "third"), instant=True, fmt="table")
    assert [(t["refId"], t["expr"], t["legendFormat"]) for t in targets] == [
        ("A", "a", "first"),
        ("B", "b", "second"),
        ("C", "c", "third"),
    ]
    assert all(t["instant"] and t["format"] == "table" for t in targets)
    assert queries() == []


# ---------------------------------------------------------------- field config


def test_thresholds_are_a_base_colour_then_steps():
    assert thresholds("green", (0.025, "orange"), (0.03, "red")) == {
        "mode": "absolute",
        "steps": [
            {"color": "green", "value": None},
            {"color": "orange", "value": 0.025},
            {"color": "red", "value": 0.03},
        ],
    }
    assert thresholds("red")["steps"] == [{"color": "red", "value": None}]


def test_a_fixed_colour_pins_one_series_by_name():
    assert fixed_colour("READY", "green") == {
        "matcher": {"id": "byName", "options": "READY"},
        "properties": [{"id": "color", "value": {"fixedColor": "green", "mode": "fixed"}}],
    }


def test_each_status_has_its_wallboard_colour():
    overrides = status_colours()
    pinned = {o["matcher"]["options"]: o["properties"][0]["value"]["fixedColor"] for o in overrides}
    assert pinned == dict(STATUS_COLOURS)
    assert pinned["READY"] == "green" and len(overrides) == len(STATUS_COLOURS)


def test_each_limited_status_is_orange_then_red_at_its_wallboard_limits():
    by_status = {o["matcher"]["options"]: o["properties"] for o in status_thresholds()}
    assert set(by_status) == set(STATUS_LIMITS)
    for status, (orange, red) in STATUS_LIMITS.items():
        (prop,) = by_status[status]
        assert prop["id"] == "thresholds"
        assert [(s["value"], s["color"]) for s in prop["value"]["steps"]] == [
            (None, "green"),
            (orange, "orange"),
            (red, "red"),
        ]
        assert orange < red, status


def test_value_mappings_give_each_value_a_text_and_a_colour_in_order():
    assert value_mappings({"1": ("UP", "green"), "0": ("DOWN", "red")}) == [
        {
            "type": "value",
            "options": {
                "1": {"color": "green", "index": 0, "text": "UP"},
                "0": {"color": "red", "index": 1, "text": "DOWN"},
            },
        }
    ]


# ---------------------------------------------------------------- panels


def test_a_panel_carries_datasource_description_unit_and_sensible_defaults():
    built = panel("stat", "Agents", "How many.", "short", [query("x")], options={"o": 1})
    assert built == {
        "datasource": DATASOURCE_REF,
        "description": "How many.",
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "palette-classic"},
                "mappings": [],
                "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
                "unit": "short",
            },
            "overrides": [],
        },
        "options": {"o": 1},
        "targets": [query("x")],
        "title": "Agents",
        "type": "stat",
    }


def test_a_panels_extras_fill_in_field_config_or_the_panel_itself():
    lines = thresholds("green", (1, "red"))
    built = panel(
        "stat",
        "T",
        "D.",
        "s",
        [],
        options={},
        thresholds=lines,
        mappings=[{"type": "value"}],
        overrides=[fixed_colour("a", "red")],
        color={"mode": "thresholds"},
        defaults={"decimals": 2, "min": 0},
        interval="1d",
    )
    defaults = built["fieldConfig"]["defaults"]
    assert defaults["thresholds"] == lines and defaults["mappings"] == [{"type": "value"}]
    assert defaults["color"] == {"mode": "thresholds"}
    assert (defaults["decimals"], defaults["min"], defaults["unit"]) == (2, 0, "s")
    assert built["fieldConfig"]["overrides"] == [fixed_colour("a", "red")]
    assert built["interval"] == "1d"
    for consumed in ("thresholds", "mappings", "overrides", "color", "defaults"):
        assert consumed not in built, f"{consumed} leaked onto the panel"


def test_panels_do_not_share_their_mutable_defaults():
    first = stat("A", "a.", "short", [])
    second = stat("B", "b.", "short", [])
    first["fieldConfig"]["defaults"]["thresholds"]["steps"].append({"color": "red", "value": 1})
    first["fieldConfig"]["defaults"]["mappings"].append({"type": "value"})
    first["fieldConfig"]["overrides"].append({})
    assert second["fieldConfig"]["defaults"]["thresholds"]["steps"] == [{"color": "green", "value": None}]
    assert second["fieldConfig"]["defaults"]["mappings"] == [] and second["fieldConfig"]["overrides"] == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_panel_kind_has_its_type_datasource_description_unit_and_options(kind):
    built = KINDS[kind]("Title", "What it shows.", "percentunit", queries(("up", "")))
    assert built["type"] == kind
    assert built["datasource"] == DATASOURCE_REF
    assert built["description"] == "What it shows."
    assert built["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert isinstance(built["options"], dict) and built["options"]
    assert built["targets"][0]["datasource"] == DATASOURCE_REF


def test_a_graph_starts_at_zero_with_lines_unstacked_and_no_threshold_lines_by_default():
    custom = timeseries("T", "D.", "short", [])["fieldConfig"]["defaults"]["custom"]
    assert custom["axisSoftMin"] == 0 and "axisSoftMax" not in custom
    assert (custom["drawStyle"], custom["fillOpacity"]) == ("line", 10)
    assert custom["stacking"]["mode"] == "none"
    assert custom["thresholdsStyle"]["mode"] == "off"


def test_a_graph_can_stack_draw_bars_the_alert_lines_and_a_soft_max():
    custom = timeseries("T", "D.", "short", [], stack=True)["fieldConfig"]["defaults"]["custom"]
    assert (custom["stacking"]["mode"], custom["fillOpacity"], custom["drawStyle"]) == ("normal", 70, "line")
    built = timeseries(
        "T", "D.", "percentunit", [], bars=True, threshold_lines=True, soft_max=0.04, defaults={"min": 0}
    )
    defaults = built["fieldConfig"]["defaults"]
    assert (defaults["custom"]["drawStyle"], defaults["custom"]["fillOpacity"]) == ("bars", 70)
    assert defaults["custom"]["thresholdsStyle"]["mode"] == "line+area"
    assert defaults["custom"]["axisSoftMax"] == 0.04
    assert defaults["min"] == 0 and defaults["unit"] == "percentunit"


def test_a_stat_shows_the_last_value():
    built = stat("T", "D.", "short", [], colour_mode="background", text_mode="value")
    assert built["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]
    assert (built["options"]["colorMode"], built["options"]["textMode"]) == ("background", "value")


def test_a_table_sorts_as_asked_without_leaking_the_argument():
    built = table("T", "D.", "short", [], sort_by=[{"desc": False, "displayName": "Campaign"}])
    assert built["options"]["sortBy"] == [{"desc": False, "displayName": "Campaign"}]
    assert "sort_by" not in built
    assert table("T", "D.", "short", [])["options"]["sortBy"] == []


def test_merged_columns_merge_then_order_rename_and_hide():
    assert merged_columns([("campaign_name", "Campaign"), ("Value #A", "Agents")], ["Time", "job"]) == [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {
                "excludeByName": {"Time": True, "job": True},
                "indexByName": {"campaign_name": 0, "Value #A": 1},
                "renameByName": {"campaign_name": "Campaign", "Value #A": "Agents"},
            },
        },
    ]


def test_column_units_are_overrides_by_heading():
    assert column_units({"Drop rate": "percentunit", "Calls": "short"}) == [
        {"matcher": {"id": "byName", "options": "Drop rate"}, "properties": [{"id": "unit", "value": "percentunit"}]},
        {"matcher": {"id": "byName", "options": "Calls"}, "properties": [{"id": "unit", "value": "short"}]},
    ]


def test_legend_and_tooltip_list_every_series():
    assert panels.LEGEND["showLegend"] is True and panels.TOOLTIP["mode"] == "multi"
