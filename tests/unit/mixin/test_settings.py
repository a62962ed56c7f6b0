"""Every threshold, window and `for` of the mixin in one place (convoso_exporter/mixin/settings.py).

The defaults are the legal line (3% of answered calls, today and over 30 days) with a
warning under it; `validate` refuses what makes no sense; `--set` overrides are typed;
and a threshold changed in `Settings` is the only number the rules and the dashboards
draw (no copy of a default survives anywhere in the generated output).
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from convoso_exporter.mixin import dashboards, rules
from convoso_exporter.mixin.settings import (
    Settings,
    SettingsError,
    apply_overrides,
    defaults_text,
    duration_seconds,
    duration_text,
    percent,
    validate,
)

DURATION_FIELDS = [f.name for f in dataclasses.fields(Settings) if f.name.endswith(("_for", "_window", "_after"))]
RATIO_FIELDS = [f.name for f in dataclasses.fields(Settings) if f.type == "float"]
COUNT_FIELDS = [f.name for f in dataclasses.fields(Settings) if f.type == "int"]


# ---------------------------------------------------------------- the defaults


def test_the_legal_line_is_3_percent_with_a_warning_below_it_today_and_over_30_days():
    s = Settings()
    assert (s.drop_rate_critical, s.drop_rate_30d_critical) == (0.03, 0.03)
    assert 0 < s.drop_rate_warning < s.drop_rate_critical
    assert 0 < s.drop_rate_30d_warning < s.drop_rate_30d_critical
    assert (s.drop_rate_warning, s.drop_rate_30d_warning) == (0.025, 0.025)


def test_the_defaults_are_valid_and_frozen():
    s = Settings()
    validate(s)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.drop_rate_critical = 0.05  # type: ignore[misc]


def test_the_tile_window_cuts_30_days_into_2880_tiles():
    tile = Settings().tile_window
    assert tile == "15m"
    assert 30 * 24 * 60 // 15 == 2880  # what the module notes promise, at 15 minutes
    assert duration_seconds(tile) == 15 * 60


def test_the_fields_are_typed_as_validate_and_apply_overrides_expect():
    """validate and apply_overrides read the annotation strings; a field typed otherwise
    (an Optional, a bool) would silently escape both."""
    types = {field.name: field.type for field in dataclasses.fields(Settings)}
    assert set(types.values()) == {"str", "float", "int"}
    assert set(RATIO_FIELDS) == {
        "drop_rate_critical",
        "drop_rate_warning",
        "burst_drop_rate",
        "drop_rate_30d_critical",
        "drop_rate_30d_warning",
    }
    assert set(COUNT_FIELDS) == {"min_answered_today", "burst_min_drops", "min_answered_30d", "drop_pace_days"}
    assert "tile_window" in DURATION_FIELDS and "agent_time_window" in DURATION_FIELDS


# ---------------------------------------------------------------- durations and percentages


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        ("15m", 900),
        ("1h30m", 5400),
        ("2m30s", 150),
        ("500ms", 0.5),
        ("1d", 86400),
        ("30d", 2592000),
        ("1w", 604800),
        ("1y", 31536000),
        ("0", 0),
    ],
)
def test_duration_seconds(duration, seconds):
    assert duration_seconds(duration) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1800, "30m"), (5400, "1h30m"), (10, "10s"), (1, "1s"), (0.5, "500ms"), (90061, "1d1h1m1s"), (0, "0")],
)
def test_duration_text_is_a_prometheus_duration_of_the_same_length(seconds, text):
    assert duration_text(seconds) == text
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(
    ("ratio", "text"),
    [(0.03, "3%"), (0.025, "2.5%"), (0.5, "50%"), (0.001, "0.1%"), (0.035, "3.5%"), (0.07, "7%")],
)
def test_percent_is_short_and_exact(ratio, text):
    assert percent(ratio) == text


# ---------------------------------------------------------------- validate


@pytest.mark.parametrize("value", ["soon", "5", "1.5h", "", "5 m", "-5m"])
def test_every_duration_must_be_a_prometheus_duration(value):
    for name in DURATION_FIELDS:
        with pytest.raises(SettingsError, match=rf"^{name}: .* is not a Prometheus duration like 5m$"):
            validate(dataclasses.replace(Settings(), **{name: value}))


@pytest.mark.parametrize("value", [0.0, 1.0, -0.01, 1.5, float("nan")])
def test_every_ratio_is_strictly_between_0_and_1(value):
    for name in RATIO_FIELDS:
        with pytest.raises(SettingsError, match=rf"^{name}: .* must be a ratio between 0 and 1$"):
            validate(dataclasses.replace(Settings(), **{name: value}))


def test_every_count_is_at_least_1():
    for name in COUNT_FIELDS:
        with pytest.raises(SettingsError, match=rf"^{name}: 0 must be at least 1$"):
            validate(dataclasses.replace(Settings(), **{name: 0}))
        validate(dataclasses.replace(Settings(), **{name: 1}))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"drop_rate_warning": 0.03}, "drop_rate_warning: must be below drop_rate_critical"),
        ({"drop_rate_warning": 0.04}, "drop_rate_warning: must be below drop_rate_critical"),
        ({"drop_rate_30d_warning": 0.03}, "drop_rate_30d_warning: must be below drop_rate_30d_critical"),
        ({"burst_window": "0s"}, "burst_window: must be longer than 0"),
        ({"tile_window": "0"}, "tile_window: must be longer than 0"),
        ({"agent_time_window": "0m"}, "agent_time_window: must be longer than 0"),
        ({"tile_window": "7m"}, "tile_window: must be shorter than a day and divide it evenly"),
        ({"tile_window": "25m"}, "tile_window: must be shorter than a day and divide it evenly"),
        ({"tile_window": "2d"}, "tile_window: must be shorter than a day and divide it evenly"),
        # A 1d tile's record took the 1-day sum's name, which then read its own output.
        ({"tile_window": "1d"}, "tile_window: must be shorter than a day and divide it evenly"),
        ({"tile_window": "24h"}, "tile_window: must be shorter than a day and divide it evenly"),
        # Every window is a range: promtool refuses [0s].
        ({"auth_window": "0s"}, "auth_window: must be longer than 0"),
        ({"auth_window": "0"}, "auth_window: must be longer than 0"),
        # Prometheus's duration syntax: units in order, each once.
        ({"drop_rate_for": "30s1m"}, "drop_rate_for: '30s1m' is not a Prometheus duration like 5m"),
        ({"target_down_for": "1h1h"}, "target_down_for: '1h1h' is not a Prometheus duration like 5m"),
        ({"burst_window": "1m1m"}, "burst_window: '1m1m' is not a Prometheus duration like 5m"),
    ],
)
def test_validate_refuses_settings_that_make_no_sense(changes, message):
    with pytest.raises(SettingsError) as raised:
        validate(Settings(**changes))
    assert str(raised.value).startswith(message)


def test_the_30_day_basis_is_auto_by_default_and_one_of_three():
    assert Settings().drop_rate_30d_basis == "auto"
    for basis in ("auto", "live", "answered"):
        validate(Settings(drop_rate_30d_basis=basis))
    with pytest.raises(SettingsError) as raised:
        validate(apply_overrides(Settings(), ["drop_rate_30d_basis=human"]))
    assert str(raised.value) == "drop_rate_30d_basis: 'human' must be one of auto, live, answered"


@pytest.mark.parametrize("tile", ["5m", "15m", "30m", "45m", "1h", "6h", "500ms"])
def test_a_tile_window_that_divides_a_day_is_accepted(tile):
    validate(Settings(tile_window=tile))


def test_warnings_may_sit_anywhere_under_their_line():
    validate(Settings(drop_rate_critical=0.05, drop_rate_warning=0.049, drop_rate_30d_warning=0.001))


# ---------------------------------------------------------------- --set


def test_overrides_are_converted_to_each_fields_type():
    changed = apply_overrides(Settings(), ["drop_rate_critical=0.05", "min_answered_today=250", "burst_window=30m"])
    assert changed.drop_rate_critical == 0.05 and isinstance(changed.drop_rate_critical, float)
    assert changed.min_answered_today == 250 and isinstance(changed.min_answered_today, int)
    assert changed.burst_window == "30m"
    assert changed.drop_rate_warning == 0.025, "the others keep their defaults"


def test_an_override_value_may_itself_contain_equals_signs():
    assert apply_overrides(Settings(), ['job_selector=job="convoso"']).job_selector == 'job="convoso"'


def test_overrides_leave_the_settings_they_start_from_alone_and_the_last_one_wins():
    base = Settings()
    changed = apply_overrides(base, ["drop_pace_days=3", "drop_pace_days=5"])
    assert changed.drop_pace_days == 5
    assert base.drop_pace_days == 7
    assert apply_overrides(base, []) == base


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("drop_rate_critical", "--set drop_rate_critical: expected name=value"),
        ("colour=red", "--set colour: unknown setting (known: job_selector, runbook_base, drop_rate_critical,"),
        ("min_answered_today=1e3", "--set min_answered_today: '1e3' is not a valid int"),
        ("min_answered_today=2.5", "--set min_answered_today: '2.5' is not a valid int"),
        ("drop_rate_critical=3%", "--set drop_rate_critical: '3%' is not a valid float"),
    ],
)
def test_a_bad_override_is_one_line_naming_the_setting(pair, message):
    with pytest.raises(SettingsError) as raised:
        apply_overrides(Settings(), [pair])
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_the_help_lists_every_setting_with_its_default_in_order():
    text = defaults_text()
    assert text.startswith('job_selector=job="convoso", runbook_base=https://')
    assert "drop_rate_critical=0.03, drop_rate_warning=0.025, min_answered_today=100, drop_rate_for=5m" in text
    assert text.endswith("drop_pace_days=7, drop_rate_30d_for=15m, drop_rate_30d_basis=auto, agent_time_window=15m")
    names = [item.split("=", 1)[0] for item in text.split(", ")]
    assert names == [field.name for field in dataclasses.fields(Settings)]


# ---------------------------------------------------------------- one place


def number(value: float) -> re.Pattern[str]:
    """`value` as a number of its own in PromQL text (0.03, not inside 0.0311; 5, not 5m)."""
    return re.compile(rf"(?<![\w.]){re.escape(str(value))}(?![\w.])")


def threshold_values(node: object) -> set[float]:
    """Every threshold step's value anywhere in a dashboard (panels, overrides)."""
    if isinstance(node, list):
        return set().union(*(threshold_values(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found = {step["value"] for step in node["steps"]} - {None} if "steps" in node else set()
    return found.union(*(threshold_values(value) for value in node.values()))


ODD = Settings(
    drop_rate_critical=0.0417,
    drop_rate_warning=0.0333,
    burst_drop_rate=0.0371,
    drop_rate_30d_critical=0.0389,
    drop_rate_30d_warning=0.0311,
    min_answered_today=137,
    min_answered_30d=173,
    burst_min_drops=11,
    drop_pace_days=9,
)


def test_no_default_threshold_survives_in_the_generated_rules():
    """Every threshold changed to an odd value: no default's number is left in any rule
    expression, each odd one is used, and no default percentage is in any annotation."""
    groups = rules.rule_groups(ODD)["groups"]
    exprs = "\n".join(rule["expr"] for group in groups for rule in group["rules"])
    for value in (0.03, 0.025, 100, 5, 7):
        assert not number(value).search(exprs), f"{value} is written into a rule"
    for value in (0.0417, 0.0333, 0.0371, 0.0389, 0.0311, 137, 173, 11, 9):
        assert number(value).search(exprs), f"{value} is not used by any rule"
    assert not re.search(r"(?<![\d.])(3|2\.5)%", rules.render(ODD)), "a default percentage is written somewhere"


def test_the_dashboards_draw_the_settings_lines_and_no_default_one():
    boards = {file.path.rsplit("/", 1)[-1]: json.loads(file.text) for file in dashboards.files(ODD)}
    assert {0.0417, 0.0333} <= threshold_values(boards["convoso-overview.json"])
    assert {0.0389, 0.0311} <= threshold_values(boards["convoso-compliance.json"])
    for name, board in boards.items():
        assert not {0.03, 0.025} & threshold_values(board), name
        assert not re.search(r"(?<![\d.])(3|2\.5)%", json.dumps(board, ensure_ascii=False)), name
    defaults = {file.path.rsplit("/", 1)[-1]: json.loads(file.text) for file in dashboards.files(Settings())}
    assert {0.025, 0.03} <= threshold_values(defaults["convoso-overview.json"])
    assert {0.025, 0.03} <= threshold_values(defaults["convoso-compliance.json"])
