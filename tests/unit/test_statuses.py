"""convoso_exporter.statuses: one colour and one pair of time limits per status, and the
floor order, shared by the wallboard and the shipped Grafana dashboards."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.api.model import COMMON_STATUSES
from convoso_exporter.statuses import (
    ALERT_COLOUR,
    OTHER_STATUS_COLOUR,
    STATUS_COLOURS,
    STATUS_LIMITS,
    WARN_COLOUR,
    css_colour,
    legend,
    status_colour,
    status_rank,
    time_level,
)
from tests.dashboard_queries import DASHBOARD_DIR, load_dashboards

# What Grafana paints (classic palette, dark theme) for each status's colour, by hand.
PAINTED = {
    "READY": "#73BF69",  # green
    "INCALL": "#5794F2",  # blue
    "PAUSED": "#FF9830",  # orange
    "WRAP": "#B877D9",  # purple
    "RINGING": "#FADE2A",  # yellow
    "TRANSFER": "#C0D8FF",  # super-light-blue
    "LOGGED_OUT": "#8e8e8e",  # given as hex
}
# docs/api.md: READY 5 m / 10 m, PAUSED 15 m / 30 m, WRAP 2 m / 4 m (orange, red).
DOCUMENTED_LIMITS = {"READY": (300, 600), "PAUSED": (900, 1800), "WRAP": (120, 240)}
FLOOR = ["READY", "INCALL", "PAUSED", "WRAP", "RINGING", "TRANSFER"]  # then others by name, then LOGGED_OUT


def test_css_colour_maps_grafana_names_and_passes_hex_through():
    assert css_colour("purple") == "#B877D9"
    assert css_colour("super-light-blue") == "#C0D8FF"
    assert css_colour("red") == "#F2495C"
    assert css_colour("#8e8e8e") == "#8e8e8e"
    assert css_colour("#123abc") == "#123abc"
    with pytest.raises(KeyError):
        css_colour("chartreuse")  # not a colour any status uses: a typo is an error, not grey


def test_every_status_is_painted_the_hex_grafana_paints_for_it():
    assert {status: status_colour(status) for status in STATUS_COLOURS} == PAINTED
    assert set(STATUS_COLOURS) == set(COMMON_STATUSES)  # every common status has its colour


@pytest.mark.parametrize("status", [None, "", "LUNCH", "ready", "READY ", "(other)"])
def test_unknown_and_missing_statuses_are_light_grey(status):
    assert status_colour(status) == OTHER_STATUS_COLOUR == "#D8D9DA"


def test_red_means_trouble_only_and_no_two_statuses_look_alike():
    colours = [status_colour(status) for status in STATUS_COLOURS]
    assert len(set(colours)) == len(colours)
    assert ALERT_COLOUR == "#F2495C" and ALERT_COLOUR not in colours
    assert OTHER_STATUS_COLOUR not in colours
    assert WARN_COLOUR == "#FF9830"
    assert all(re.fullmatch(r"#[0-9A-Fa-f]{6}", colour) for colour in colours)


def test_the_limits_are_the_documented_ones():
    assert STATUS_LIMITS == DOCUMENTED_LIMITS
    assert all(orange < red for orange, red in STATUS_LIMITS.values())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([*COMMON_STATUSES, "", "LUNCH", "ACW"]), st.text(max_size=6)), max_size=12))
def test_rank_orders_the_floor_common_statuses_then_others_by_name_then_logged_out(statuses):
    ranked = sorted(statuses, key=status_rank)
    common = [status for status in FLOOR for _ in range(statuses.count(status))]
    others = sorted(s for s in statuses if s not in FLOOR and s != "LOGGED_OUT")
    assert ranked == common + others + ["LOGGED_OUT"] * statuses.count("LOGGED_OUT")


def test_a_missing_status_ranks_as_the_empty_one_first_among_the_others():
    assert status_rank(None) == status_rank("")
    assert status_rank("TRANSFER") < status_rank("") < status_rank("AAA") < status_rank("LOGGED_OUT")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(DOCUMENTED_LIMITS)), st.integers(0, 4000))
def test_time_level_is_ok_then_warn_from_orange_then_alert_from_red(status, seconds):
    orange, red = DOCUMENTED_LIMITS[status]
    expected = "ok" if seconds < orange else "warn" if seconds < red else "alert"
    assert time_level(status, seconds) == expected


@pytest.mark.parametrize("status", ["INCALL", "RINGING", "TRANSFER", "LOGGED_OUT", "LUNCH", "", None])
def test_statuses_without_limits_are_always_ok(status):
    assert [time_level(status, s) for s in (0, 600, 1800, 10**6)] == ["ok"] * 4


def test_an_unknown_time_is_ok():
    assert time_level("READY", None) == "ok" and time_level("PAUSED", None) == "ok"


def test_legend_is_the_table_the_wallboard_script_reads():
    table = legend()
    assert table == {
        "statuses": {
            "READY": {"colour": "#73BF69", "limits": [300, 600]},
            "INCALL": {"colour": "#5794F2", "limits": []},
            "PAUSED": {"colour": "#FF9830", "limits": [900, 1800]},
            "WRAP": {"colour": "#B877D9", "limits": [120, 240]},
            "RINGING": {"colour": "#FADE2A", "limits": []},
            "TRANSFER": {"colour": "#C0D8FF", "limits": []},
            "LOGGED_OUT": {"colour": "#8e8e8e", "limits": []},
        },
        "order": ["READY", "INCALL", "PAUSED", "WRAP", "RINGING", "TRANSFER", "LOGGED_OUT"],
        "other_colour": "#D8D9DA",
        "warn_colour": "#FF9830",
        "alert_colour": "#F2495C",
    }
    assert json.loads(json.dumps(table)) == table  # plain JSON, as it is inlined in the page


def _overrides(node):
    """Every field override of every panel, recursively."""
    if isinstance(node, dict):
        if "matcher" in node and "properties" in node:
            yield node
        for value in node.values():
            yield from _overrides(value)
    elif isinstance(node, list):
        for item in node:
            yield from _overrides(item)


def _status_overrides():
    for name, board in load_dashboards().items():
        for override in _overrides(board):
            status = override["matcher"].get("options")
            if override["matcher"].get("id") == "byName" and status in STATUS_COLOURS:
                for prop in override["properties"]:
                    yield name, status, prop


def test_the_shipped_dashboards_paint_each_status_as_the_wallboard_does():
    painted = {}
    for _board, status, prop in _status_overrides():
        if prop["id"] == "color":
            painted.setdefault(status, set()).add(css_colour(prop["value"]["fixedColor"]))
    assert painted == {status: {hex_} for status, hex_ in PAINTED.items()}


def test_the_shipped_dashboards_time_thresholds_are_where_the_wallboard_changes_level():
    seen = set()
    for name, status, prop in _status_overrides():
        if prop["id"] != "thresholds":
            continue
        steps = prop["value"]["steps"]
        assert [step["color"] for step in steps] == ["green", "orange", "red"], (name, status)
        orange, red = steps[1]["value"], steps[2]["value"]
        assert (time_level(status, orange - 1), time_level(status, orange)) == ("ok", "warn"), (name, status)
        assert (time_level(status, red - 1), time_level(status, red)) == ("warn", "alert"), (name, status)
        seen.add(status)
    assert seen == set(DOCUMENTED_LIMITS)


def agents_table_steps() -> list[tuple[float, str]]:
    """The colour steps of the shipped "Agents now" table's "Of status limit" column
    (a time as its share of the status's orange limit)."""
    dashboard = json.loads((DASHBOARD_DIR / "convoso-agents.json").read_text())
    stack = list(dashboard["panels"])
    while stack:
        panel = stack.pop()
        stack.extend(panel.get("panels", []))
        if panel.get("title") != "Agents now":
            continue
        for override in panel["fieldConfig"]["overrides"]:
            if override["matcher"]["options"] == "Of status limit":
                (steps,) = [p["value"]["steps"] for p in override["properties"] if p["id"] == "thresholds"]
                return [(step["value"] or 0.0, step["color"]) for step in steps]
    raise AssertionError("no 'Of status limit' column in the Agents now table")


@pytest.mark.parametrize("status", sorted(DOCUMENTED_LIMITS))
def test_the_dashboard_table_and_the_wallboard_warn_at_the_same_times(status):
    # The table colours a time by its share of the orange limit, one scale for every
    # status; the wallboard by the status's own two limits. They must agree everywhere.
    steps = agents_table_steps()
    level_of_colour = {"transparent": "ok", "orange": "warn", "red": "alert"}
    orange, red = DOCUMENTED_LIMITS[status]
    for seconds in range(0, 2 * red + 2):
        share = seconds / orange
        colour = [colour for bound, colour in steps if share >= bound][-1]
        assert level_of_colour[colour] == time_level(status, seconds), (status, seconds)
