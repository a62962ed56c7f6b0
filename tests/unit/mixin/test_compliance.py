"""The 30-day drop rate per campaign (convoso_exporter/mixin/compliance.py): 15-minute tiles
of the exporter's counters, their 30-day and 1-day sums, the ratio of the sums, the
headroom, the last day's pace, and the two alerts on them.

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
    HEADROOM,
    RATE_30D,
    alerts,
    compliance_rules,
    sum_rules,
    tile,
    tile_expr,
    tile_rules,
    total,
)
from convoso_exporter.mixin.settings import Settings
from tests.unit.mixin.test_alerting import render

DAY_SECONDS = 24 * 60 * 60
UNIT = {"s": 1, "m": 60, "h": 3600, "d": DAY_SECONDS}
RANGE_RE = re.compile(r"(convoso:[\w:]+)\[(\d+)([smhd])\]")
RECORD_NAME_RE = re.compile(r"convoso:[a-z0-9_]+:[a-z0-9_]+")
CAMPAIGN_INFO = 'convoso_target_info{kind="campaign"}'
NAMED = f"* on (job, target) group_left (campaign_name)\ntopk by (job, target) (1, last_over_time({CAMPAIGN_INFO}[1h]))"
DEFAULTS = Settings()
RECORDS = {rule["record"]: rule["expr"] for rule in tile_rules(DEFAULTS) + sum_rules(DEFAULTS)}
ALERTS = {rule["alert"]: rule for rule in alerts(DEFAULTS)}
SALES = {"campaign_id": "1001", "campaign_name": "Sales", "job": "convoso", "target": "campaign:1001"}


def ranges(expr: str) -> dict[str, int]:
    """Recording rule -> seconds of each `name[window]` range in an expression."""
    return {name: int(amount) * UNIT[unit] for name, amount, unit in RANGE_RE.findall(expr)}


# ---------------------------------------------------------------- tiles


def test_tiles_are_named_after_their_window():
    assert tile("dropped", DEFAULTS) == "convoso:campaign_queue_dropped:increase15m"
    assert tile("answered", Settings(tile_window="30m")) == "convoso:campaign_queue_answered:increase30m"
    assert total("answered", "30d") == "convoso:campaign_queue_answered:increase30d"


def test_each_counter_is_cut_into_tiles_of_its_own():
    assert compliance.COUNTERS == {"dropped": "convoso_queue_dropped_total", "answered": "convoso_queue_answered_total"}
    dropped, answered = tile_rules(DEFAULTS)
    assert dropped["record"] == "convoso:campaign_queue_dropped:increase15m"
    assert answered["record"] == "convoso:campaign_queue_answered:increase15m"
    assert "convoso_queue_dropped_total" in dropped["expr"] and "answered" not in dropped["expr"]
    assert "convoso_queue_answered_total" in answered["expr"] and "dropped" not in answered["expr"]


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
    for what in ("dropped", "answered"):
        expr = records[f"convoso:campaign_queue_{what}:increase30d"]
        assert expr == f"sum_over_time(convoso:campaign_queue_{what}:increase{tile_window}[30d])\n{NAMED}"
        (window,) = ranges(expr).values()
        assert window == 30 * DAY_SECONDS
        assert window // tile_seconds == tiles_in_30_days and window % tile_seconds == 0


def test_the_1_day_sums_add_one_day_of_tiles():
    for what in ("dropped", "answered"):
        expr = RECORDS[f"convoso:campaign_queue_{what}:increase1d"]
        assert ranges(expr) == {f"convoso:campaign_queue_{what}:increase15m": DAY_SECONDS}
        assert expr.endswith(NAMED)


def test_the_30_day_rate_is_a_ratio_of_sums_never_an_average_of_ratios():
    dropped, answered = "convoso:campaign_queue_dropped:increase30d", "convoso:campaign_queue_answered:increase30d"
    assert RECORDS[RATE_30D] == f"{dropped}\n/ on (job, target) group_left ()\n({answered} > 0)"
    # Nothing is divided before it is summed: the tiles and the sums are plain counts.
    for name, expr in RECORDS.items():
        if name != RATE_30D:
            assert "/" not in expr, name
    everything = "\n".join(rule["expr"] for rule in compliance_rules(DEFAULTS) + tile_rules(DEFAULTS))
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
        without_tile_join = expr.replace("on (job, instance, target) group_left (campaign_id)", "")
        assert "instance" not in without_tile_join, name
    for rule in tile_rules(DEFAULTS):
        assert rule["expr"].startswith("sum by (job, target, campaign_id) (")
    for name in (RATE_30D, HEADROOM, EXCESS_1D):
        assert RECORDS[name].count("on (job, target) group_left ()") == 1, name


def test_names_are_joined_onto_the_sums_not_the_tiles():
    """A renamed campaign keeps its 30 days: the tiles carry no name."""
    for rule in tile_rules(DEFAULTS):
        assert "campaign_name" not in rule["expr"]
    sums = [rule for rule in sum_rules(DEFAULTS) if "sum_over_time" in rule["expr"]]
    assert len(sums) == 4
    assert all(rule["expr"].endswith(NAMED) for rule in sums)


# ---------------------------------------------------------------- alerts


def test_the_critical_alert_is_over_the_line_for_30_days_with_enough_calls_to_judge():
    rule = ALERTS["ConvosoDropRate30dCritical"]
    assert rule["expr"] == (
        "convoso:campaign_drop_rate_30d:ratio > 0.03\n"
        "and on (job, target)\n"
        "convoso:campaign_queue_answered:increase30d >= 100"
    )
    assert (rule["for"], rule["labels"]) == ("15m", {"severity": "critical"})
    assert rule["annotations"]["summary"] == (
        "A campaign has dropped over 3% of its answered calls in the last 30 days."
    )


def test_the_warning_is_near_the_line_or_heading_there_at_the_last_days_pace():
    rule = ALERTS["ConvosoDropRate30dWarning"]
    assert rule["expr"] == (
        "(\n"
        "convoso:campaign_drop_rate_30d:ratio > 0.025\n"
        "or on (job, target)\n"
        "convoso:campaign_drop_rate_30d:ratio\n"
        "and on (job, target)\n"
        "convoso:campaign_drop_excess_1d:calls * 7 > on (job, target) convoso:campaign_drop_headroom_30d:calls\n"
        ")\n"
        "and on (job, target)\n"
        "convoso:campaign_queue_answered:increase30d >= 100"
    )
    assert (rule["for"], rule["labels"]) == ("15m", {"severity": "warning"})


def test_the_alerts_describe_the_campaign_by_name_in_its_job():
    critical = render(ALERTS["ConvosoDropRate30dCritical"]["annotations"]["description"], SALES, 0.0325)
    assert critical == (
        "Campaign Sales (1001) in job convoso has dropped 3.25% of the calls answered in the last 30 days "
        "(or since the rules were deployed, if less), over the limit of 3%."
    )
    warning = render(ALERTS["ConvosoDropRate30dWarning"]["annotations"]["description"], {"campaign_id": "7"}, 0.009)
    assert warning == (
        "Campaign 7 has dropped 0.9% of the calls answered in the last 30 days: over the warning level of "
        "2.5%, or the last 24 hours' drops over 3% would use up what the 30 days have left within 7 days."
    )


def test_every_number_in_the_30_day_rules_is_a_setting():
    s = Settings(
        drop_rate_30d_critical=0.04,
        drop_rate_30d_warning=0.035,
        min_answered_30d=500,
        drop_pace_days=3,
        drop_rate_30d_for="1h",
        tile_window="30m",
    )
    rules = {rule.get("alert") or rule["record"]: rule for rule in compliance_rules(s)}
    critical, warning = rules["ConvosoDropRate30dCritical"], rules["ConvosoDropRate30dWarning"]
    assert critical["expr"].startswith(f"{RATE_30D} > 0.04\n") and critical["expr"].endswith(" >= 500")
    assert f"{RATE_30D} > 0.035\n" in warning["expr"] and f"{EXCESS_1D} * 3 > " in warning["expr"]
    assert warning["expr"].endswith(" >= 500")
    assert critical["for"] == warning["for"] == "1h"
    assert "over 4% " in critical["annotations"]["summary"] and "close to 4%," in warning["annotations"]["summary"]
    assert "warning level of 3.5%" in warning["annotations"]["description"]
    assert "within 3 days" in warning["annotations"]["description"]
    assert rules[HEADROOM]["expr"].startswith("0.04 * ")
    assert "increase30m[30d]" in rules["convoso:campaign_queue_dropped:increase30d"]["expr"]


def test_the_group_records_every_sum_before_the_alerts_and_rules_that_read_them():
    """A group evaluates in order: each rule reads only tiles (their own group) or records
    made earlier in this one, so nothing reads a value one evaluation old."""
    tiles = {rule["record"] for rule in tile_rules(DEFAULTS)}
    made: set[str] = set()
    group = compliance_rules(DEFAULTS)
    for rule in group:
        read = set(RECORD_NAME_RE.findall(rule["expr"]))
        assert read <= made | tiles, (
            f"{rule.get('record') or rule['alert']} reads {read - made - tiles} before it is made"
        )
        if "record" in rule:
            made.add(rule["record"])
    assert [rule.get("alert") for rule in group[-2:]] == ["ConvosoDropRate30dCritical", "ConvosoDropRate30dWarning"]
    assert made == {
        "convoso:campaign_queue_dropped:increase30d",
        "convoso:campaign_queue_answered:increase30d",
        "convoso:campaign_queue_dropped:increase1d",
        "convoso:campaign_queue_answered:increase1d",
        RATE_30D,
        HEADROOM,
        EXCESS_1D,
    }
