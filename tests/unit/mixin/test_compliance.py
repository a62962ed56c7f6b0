"""The 30-day drop rate per campaign (convoso_exporter/mixin/compliance.py): 15-minute tiles
of the exporter's counters, their 30-day and 1-day sums, and on each basis (answered,
live-human) the ratio of the sums, the headroom and the last day's pace. The basis each
campaign is judged on and the alerts: test_judging.py.

What PromQL evaluates to is promtool's business (prometheus/convoso.compliance.test.yml,
run by tests/system/test_promtool.py); here, what the rules are made of: the windows,
which counter feeds which sum, what divides what, which labels they keep, the order a
group evaluates them in, and that every number is a setting.
"""

from __future__ import annotations

import re

import pytest

from convoso_exporter.mixin import compliance
from convoso_exporter.mixin.compliance import (
    EXCESS_1D,
    EXCESS_1D_LIVE,
    HEADROOM,
    HEADROOM_LIVE,
    LIVE_POLLED,
    RATE_30D,
    RATE_30D_LIVE,
    sum_rules,
    tile,
    tile_expr,
    tile_rules,
    total,
)
from convoso_exporter.mixin.settings import Settings

DAY_SECONDS = 24 * 60 * 60
UNIT = {"s": 1, "m": 60, "h": 3600, "d": DAY_SECONDS}
RANGE_RE = re.compile(r"(convoso:[\w:]+)\[(\d+)([smhd])\]")
RECORD_NAME_RE = re.compile(r"convoso:[a-z0-9_]+:[a-z0-9_]+")
CAMPAIGN_INFO = 'convoso_target_info{kind="campaign"}'
NAMED = f"* on (job, target) group_left (campaign_name)\ntopk by (job, target) (1, last_over_time({CAMPAIGN_INFO}[1h]))"
DEFAULTS = Settings()
RECORDS = {rule["record"]: rule["expr"] for rule in tile_rules(DEFAULTS) + sum_rules(DEFAULTS)}
WHATS = ("dropped", "answered", "live_answered", "dropped_live")


def ranges(expr: str) -> dict[str, int]:
    """Recording rule -> seconds of each `name[window]` range in an expression."""
    return {name: int(amount) * UNIT[unit] for name, amount, unit in RANGE_RE.findall(expr)}


# ---------------------------------------------------------------- tiles


def test_tiles_are_named_after_their_window():
    assert tile("dropped", DEFAULTS) == "convoso:campaign_queue_dropped:increase15m"
    assert tile("answered", Settings(tile_window="30m")) == "convoso:campaign_queue_answered:increase30m"
    assert tile("live_answered", DEFAULTS) == "convoso:campaign_live_answered:increase15m"
    assert tile("dropped_live", DEFAULTS) == "convoso:campaign_queue_dropped_live:increase15m"
    assert total("answered", "30d") == "convoso:campaign_queue_answered:increase30d"
    assert total("dropped_live", "1d") == "convoso:campaign_queue_dropped_live:increase1d"


def test_each_counter_is_cut_into_tiles_of_its_own():
    counters = {what: (tile.counter, tile.kept_to) for what, tile in compliance.TILES.items()}
    assert counters == {
        "dropped": ("convoso_queue_dropped_total", None),
        "answered": ("convoso_queue_answered_total", None),
        "live_answered": ("convoso_campaign_live_answered_total", LIVE_POLLED),
        "dropped_live": ("convoso_queue_dropped_total", LIVE_POLLED),
    }
    dropped, answered, live, dropped_live = tile_rules(DEFAULTS)
    assert dropped["record"] == "convoso:campaign_queue_dropped:increase15m"
    assert answered["record"] == "convoso:campaign_queue_answered:increase15m"
    assert "convoso_queue_dropped_total" in dropped["expr"] and "answered" not in dropped["expr"]
    assert "convoso_queue_answered_total" in answered["expr"] and "dropped" not in answered["expr"]
    # The live-human basis: live-human calls, and the drops of the same tiles, both only
    # while the exporter polls the performance endpoint.
    assert live["expr"].startswith(tile_expr("convoso_campaign_live_answered_total", "15m").removesuffix(")"))
    assert dropped_live["expr"].startswith(tile_expr("convoso_queue_dropped_total", "15m").removesuffix(")"))
    for rule in (live, dropped_live):
        assert rule["expr"].endswith(f"  and on (job, instance, target)\n  {LIVE_POLLED}\n)")


def test_live_human_figures_count_only_while_the_performance_endpoint_is_polled():
    assert LIVE_POLLED == (
        "(\n    convoso_campaign_live_answered_total\n    and on (job, instance)\n"
        '    convoso_exporter_endpoint_enabled{endpoint="performance"} == 1\n  )'
    )


def test_a_tile_is_the_exact_growth_or_what_stands_in_for_it_per_job_and_campaign_target():
    assert tile_expr("c", "15m") == (
        "sum by (job, target, campaign_id) (\n"
        "  (\n"
        "    (c - c offset 15m) >= 0\n"
        "    or\n"
        "    increase(c[15m]) and c offset 15m\n"
        "    or\n"
        "    c - min_over_time(c[15m])\n"
        "  )\n"
        '  * on (job, instance, target) group_left (campaign_id) convoso_target_info{kind="campaign"}\n'
        ")"
    )


def test_the_tiles_follow_the_tile_window():
    for rule in tile_rules(Settings(tile_window="1h")):
        assert rule["record"].endswith(":increase1h")
        assert rule["expr"].count("offset 1h") == 2 and rule["expr"].count("[1h]") == 2
        assert "15m" not in rule["expr"]


# ---------------------------------------------------------------- sums


@pytest.mark.parametrize(("tile_window", "tiles_in_30_days"), [("15m", 2880), ("30m", 1440), ("1h", 720)])
def test_the_30_day_sums_add_30_days_of_tiles_of_one_counter_each(tile_window, tiles_in_30_days):
    s = Settings(tile_window=tile_window)
    records = {rule["record"]: rule["expr"] for rule in sum_rules(s)}
    tile_seconds = int(tile_window[:-1]) * UNIT[tile_window[-1]]
    for what in WHATS:
        expr = records[total(what, "30d")]
        assert expr == f"sum_over_time({tile(what, s)}[30d])\n{NAMED}"
        (window,) = ranges(expr).values()
        assert window == 30 * DAY_SECONDS
        assert window // tile_seconds == tiles_in_30_days and window % tile_seconds == 0


def test_the_1_day_sums_add_one_day_of_tiles():
    for what in WHATS:
        expr = RECORDS[total(what, "1d")]
        assert ranges(expr) == {tile(what, DEFAULTS): DAY_SECONDS}
        assert expr.endswith(NAMED)


def test_the_30_day_rate_is_a_ratio_of_sums_never_an_average_of_ratios():
    dropped, answered = "convoso:campaign_queue_dropped:increase30d", "convoso:campaign_queue_answered:increase30d"
    assert RECORDS[RATE_30D] == f"{dropped}\n/ on (job, target) group_left ()\n({answered} > 0)"
    # Nothing is divided before it is summed: the tiles and the sums are plain counts
    # (the live-human headroom and pace divide two numbers: 0.03 / 0.97).
    for name, expr in RECORDS.items():
        if name not in (RATE_30D, RATE_30D_LIVE, HEADROOM_LIVE, EXCESS_1D_LIVE):
            assert "/" not in expr, name
    everything = "\n".join(rule["expr"] for rule in sum_rules(DEFAULTS) + tile_rules(DEFAULTS))
    assert not re.search(r"\b(avg|avg_over_time|rate)\s*\(", everything)


def test_the_headroom_and_the_pace_are_counts_against_the_line():
    assert RECORDS[HEADROOM] == (
        "0.03 * convoso:campaign_queue_answered:increase30d\n"
        "- on (job, target) group_left ()\n"
        "convoso:campaign_queue_dropped:increase30d"
    )
    assert RECORDS[EXCESS_1D] == (
        "convoso:campaign_queue_dropped:increase1d\n"
        "- on (job, target) group_left ()\n"
        "0.03 * convoso:campaign_queue_answered:increase1d"
    )
    records = {rule["record"]: rule["expr"] for rule in sum_rules(Settings(drop_rate_30d_critical=0.045))}
    assert records[HEADROOM].startswith("0.045 * ") and "\n0.045 * " in records[EXCESS_1D]


def test_the_30_day_series_are_kept_by_job_and_campaign_target_not_by_exporter_instance():
    """An instance label changes with every restarted pod: the 30 days must not be cut."""
    for name, expr in RECORDS.items():
        # Inside a tile's sum, per exporter: the join to the campaign and the live-human gate.
        without_tile_join = expr.replace("on (job, instance, target) group_left (campaign_id)", "")
        without_tile_join = without_tile_join.replace(LIVE_POLLED, "").replace("and on (job, instance, target)", "")
        assert "instance" not in without_tile_join, name
    for rule in tile_rules(DEFAULTS):
        assert rule["expr"].startswith("sum by (job, target, campaign_id) (")
    for name in (RATE_30D, HEADROOM, EXCESS_1D, HEADROOM_LIVE, EXCESS_1D_LIVE):
        assert RECORDS[name].count("on (job, target) group_left ()") == 1, name
    assert RECORDS[RATE_30D_LIVE].count("on (job, target) group_left ()") == 2


def test_names_are_joined_onto_the_sums_not_the_tiles():
    """A renamed campaign keeps its 30 days: the tiles carry no name."""
    for rule in tile_rules(DEFAULTS):
        assert "campaign_name" not in rule["expr"]
    sums = [rule for rule in sum_rules(DEFAULTS) if "sum_over_time" in rule["expr"]]
    assert len(sums) == 8
    assert all(rule["expr"].endswith(NAMED) for rule in sums)


# ---------------------------------------------------------------- the live-human basis


def test_the_live_human_rate_divides_by_live_human_answered_plus_dropped_of_the_same_tiles():
    """A dropped call was answered by a person no agent took: it is added back to the calls
    the agents' live-human figures count, and only the drops of the tiles with those figures count."""
    live, dropped = total("live_answered", "30d"), total("dropped_live", "30d")
    keep = "on (job, target) group_left ()"
    assert RECORDS[RATE_30D_LIVE] == f"{dropped}\n/ {keep}\n(({live} + {keep} {dropped}) > 0)"


def test_the_live_human_headroom_and_pace_allow_3_in_97_drops_per_live_human_call():
    """x more drops keep (D + x) / (L + D + x) <= 3% while x <= 3/97 L - D."""
    assert RECORDS[HEADROOM_LIVE] == (
        "0.03 / 0.97 * convoso:campaign_live_answered:increase30d\n"
        "- on (job, target) group_left ()\n"
        "convoso:campaign_queue_dropped_live:increase30d"
    )
    assert RECORDS[EXCESS_1D_LIVE] == (
        "convoso:campaign_queue_dropped_live:increase1d\n"
        "- on (job, target) group_left ()\n"
        "0.03 / 0.97 * convoso:campaign_live_answered:increase1d"
    )
    live, dropped, line = 9408, 192, 0.03
    headroom = line / (1 - line) * live - dropped
    assert (dropped + headroom) / (live + dropped + headroom) == pytest.approx(line)
    records = {rule["record"]: rule["expr"] for rule in sum_rules(Settings(drop_rate_30d_critical=0.045))}
    assert records[HEADROOM_LIVE].startswith("0.045 / 0.955 * ")


def test_the_sums_come_first_then_each_basis_reads_only_what_is_made_before_it():
    """A group evaluates in order: each rule reads only tiles (their own group) or records
    made earlier in this one, so nothing reads a value one evaluation old."""
    tiles = {rule["record"] for rule in tile_rules(DEFAULTS)}
    made: set[str] = set()
    for rule in sum_rules(DEFAULTS):
        read = set(RECORD_NAME_RE.findall(rule["expr"]))
        assert read <= made | tiles, f"{rule['record']} reads {read - made - tiles} before it is made"
        made.add(rule["record"])
    assert made == {total(what, window) for what in WHATS for window in ("30d", "1d")} | {
        RATE_30D, HEADROOM, EXCESS_1D, RATE_30D_LIVE, HEADROOM_LIVE, EXCESS_1D_LIVE
    }
