"""Where agents' time goes (convoso_exporter/mixin/agent_time.py): occupancy, pause share and
handle time per campaign and per queue, recorded from the agent-time counters, and the
overview's row that draws them.

The recording rules are evaluated here by `evaluate`, a reading of their one shape
(`sum by (...) (rate(a{...}[w])) / (sum by (...) (rate(b{...}[w])) > 0)`) over counters
that grew by known amounts in the window, so each figure is checked against arithmetic
done by hand, not against the module's own strings.
"""

from __future__ import annotations

import re

import pytest

from convoso_exporter.mixin.agent_time import (
    ACTIVITIES,
    activity_rules,
    agent_time_row,
    agent_time_rules,
    gap_panel,
    record_name,
    recorded,
)
from convoso_exporter.mixin.settings import Settings

RATIO_RE = re.compile(
    r"sum by \((?P<by>[^)]*)\) \(rate\((?P<top>\w+)\{(?P<top_match>[^}]*)\}\[(?P<window>\w+)\]\)\)\n"
    r"/\n"
    r"\(sum by \((?P<by2>[^)]*)\) \(rate\((?P<bottom>\w+)\{(?P<bottom_match>[^}]*)\}\[(?P=window)\]\)\) > 0\)"
)
MATCHER_RE = re.compile(r'(\w+)(=~|!=|=)"([^"]*)"')
WINDOW_SECONDS = 15 * 60
SECONDS, ENTRIES = "convoso_agents_status_seconds_total", "convoso_agents_status_entries_total"

# Growth of the counters over the last 15 minutes: (metric, labels, increase). Campaign
# 1001 has two queues; campaign 1002 one queue and an agent logged out all along. A cell
# that did not grow is there at 0, as the exporter publishes it (docs/metrics.md).
BASE = {"job": "convoso", "instance": "a:10717"}
GROWTH = [
    (SECONDS, {"campaign_id": "1001", "queue_id": "q1", "status": "INCALL"}, 1200),
    (SECONDS, {"campaign_id": "1001", "queue_id": "q1", "status": "WRAP"}, 300),
    (SECONDS, {"campaign_id": "1001", "queue_id": "q1", "status": "READY"}, 300),
    (SECONDS, {"campaign_id": "1001", "queue_id": "q1", "status": "PAUSED"}, 0),
    (SECONDS, {"campaign_id": "1001", "queue_id": "q2", "status": "INCALL"}, 300),
    (SECONDS, {"campaign_id": "1001", "queue_id": "q2", "status": "PAUSED"}, 450),
    (SECONDS, {"campaign_id": "1001", "queue_id": "q2", "status": "RINGING"}, 60),
    (SECONDS, {"campaign_id": "1001", "queue_id": "q2", "status": "TRANSFER"}, 90),
    (SECONDS, {"campaign_id": "1002", "queue_id": "q3", "status": "INCALL"}, 450),
    (SECONDS, {"campaign_id": "1002", "queue_id": "q3", "status": "READY"}, 450),
    (SECONDS, {"campaign_id": "1002", "queue_id": "q3", "status": "PAUSED"}, 0),
    (SECONDS, {"campaign_id": "1002", "queue_id": "q3", "status": "LOGGED_OUT"}, 900),
    (ENTRIES, {"campaign_id": "1001", "queue_id": "q1", "status": "INCALL"}, 6),
    (ENTRIES, {"campaign_id": "1001", "queue_id": "q1", "status": "READY"}, 9),
    (ENTRIES, {"campaign_id": "1001", "queue_id": "q2", "status": "INCALL"}, 2),
    (ENTRIES, {"campaign_id": "1002", "queue_id": "q3", "status": "INCALL"}, 0),
]


def matches(labels: dict[str, str], matchers: str) -> bool:
    """Whether a series' labels pass a PromQL matcher list (`=~` is anchored)."""
    for label, op, value in MATCHER_RE.findall(matchers):
        have = labels.get(label, "")
        if (op == "=" and have != value) or (op == "!=" and have == value):
            return False
        if op == "=~" and not re.fullmatch(value, have):
            return False
    return True


def summed_rate(metric: str, matchers: str, by: list[str]) -> dict[tuple[str, ...], float]:
    """`sum by (by) (rate(metric{matchers}[15m]))` over GROWTH."""
    sums: dict[tuple[str, ...], float] = {}
    for name, labels, growth in GROWTH:
        series = {**BASE, **labels}
        if name == metric and matches(series, matchers):
            key = tuple(series[label] for label in by)
            sums[key] = sums.get(key, 0.0) + growth / WINDOW_SECONDS
    return sums


def evaluate(expr: str) -> dict[tuple[str, ...], float]:
    """A recording rule's result over GROWTH, by its grouping labels' values."""
    match = RATIO_RE.fullmatch(expr)
    assert match, f"not the ratio shape: {expr!r}"
    assert match["by"] == match["by2"], "numerator and denominator must be summed alike"
    assert match["window"] == "15m"
    by = [label.strip() for label in match["by"].split(",")]
    top = summed_rate(match["top"], match["top_match"], by)
    bottom = summed_rate(match["bottom"], match["bottom_match"], by)
    return {key: top.get(key, 0.0) / value for key, value in bottom.items() if value > 0 and key in top}


RULES = {rule["record"]: rule["expr"] for rule in agent_time_rules(Settings())}


# ---------------------------------------------------------------- the recording rules


def test_six_rules_three_figures_per_campaign_and_per_queue_named_after_the_window():
    assert list(RULES) == [
        "convoso:campaign_occupancy:ratio_rate15m",
        "convoso:queue_occupancy:ratio_rate15m",
        "convoso:campaign_pause_share:ratio_rate15m",
        "convoso:queue_pause_share:ratio_rate15m",
        "convoso:campaign_handle_time_seconds:ratio_rate15m",
        "convoso:queue_handle_time_seconds:ratio_rate15m",
    ]
    assert record_name("queue", "occupancy", Settings(agent_time_window="5m")) == "convoso:queue_occupancy:ratio_rate5m"


def test_the_window_is_a_setting():
    rules = agent_time_rules(Settings(agent_time_window="1h"))
    assert all(rule["record"].endswith(":ratio_rate1h") for rule in rules)
    for rule in rules:
        assert re.findall(r"\[(\w+)\]", rule["expr"]) == ["1h", "1h"], rule["record"]


def test_occupancy_is_incall_and_wrap_over_every_logged_in_second():
    # 1001: (1200 + 300 + 300) on calls or wrap-up of 1200+300+300+0+300+450+60+90 = 2700 logged in.
    # 1002: 450 of 900 (its LOGGED_OUT time is not logged-in time).
    assert evaluate(RULES["convoso:campaign_occupancy:ratio_rate15m"]) == pytest.approx(
        {("convoso", "a:10717", "1001"): 1800 / 2700, ("convoso", "a:10717", "1002"): 450 / 900}
    )


def test_pause_share_is_paused_over_every_logged_in_second():
    assert evaluate(RULES["convoso:campaign_pause_share:ratio_rate15m"]) == pytest.approx(
        {("convoso", "a:10717", "1001"): 450 / 2700, ("convoso", "a:10717", "1002"): 0.0}
    )


def test_handle_time_is_incall_and_wrap_seconds_per_call_that_reached_an_agent():
    # 1001: 1800 s over 6 + 2 INCALL entries (READY entries are not calls); 1002 took no
    # call in the window: no sample rather than +Inf.
    assert evaluate(RULES["convoso:campaign_handle_time_seconds:ratio_rate15m"]) == pytest.approx(
        {("convoso", "a:10717", "1001"): 1800 / 8}
    )


def test_the_queue_figures_split_each_campaign_by_queue():
    key = ("convoso", "a:10717")
    assert evaluate(RULES["convoso:queue_occupancy:ratio_rate15m"]) == pytest.approx(
        {(*key, "1001", "q1"): 1500 / 1800, (*key, "1001", "q2"): 300 / 900, (*key, "1002", "q3"): 450 / 900}
    )
    assert evaluate(RULES["convoso:queue_pause_share:ratio_rate15m"]) == pytest.approx(
        {(*key, "1001", "q1"): 0.0, (*key, "1001", "q2"): 450 / 900, (*key, "1002", "q3"): 0.0}
    )
    assert evaluate(RULES["convoso:queue_handle_time_seconds:ratio_rate15m"]) == pytest.approx(
        {(*key, "1001", "q1"): 1500 / 6, (*key, "1001", "q2"): 300 / 2}
    )


def test_occupancy_and_pause_share_are_parts_of_one_whole():
    """Whatever the status, the two numerators are disjoint and inside the denominator,
    so each ratio and their sum stay within 0..1."""
    statuses = ["READY", "INCALL", "PAUSED", "WRAP", "RINGING", "TRANSFER", "LOGGED_OUT", "LUNCH", "(other)"]
    occupancy = RATIO_RE.fullmatch(RULES["convoso:campaign_occupancy:ratio_rate15m"])
    pause = RATIO_RE.fullmatch(RULES["convoso:campaign_pause_share:ratio_rate15m"])
    assert occupancy and pause and occupancy["bottom_match"] == pause["bottom_match"]
    for status in statuses:
        labels = {"status": status}
        busy, paused = matches(labels, occupancy["top_match"]), matches(labels, pause["top_match"])
        logged_in = matches(labels, occupancy["bottom_match"])
        assert not (busy and paused), status
        assert logged_in or not (busy or paused), status
        assert logged_in == (status != "LOGGED_OUT"), status
    assert [s for s in statuses if matches({"status": s}, occupancy["top_match"])] == ["INCALL", "WRAP"]


# ---------------------------------------------------------------- the overview's row


def test_the_dashboard_reads_the_rules_by_name_filtered_on_the_scope_variables():
    s = Settings()
    assert recorded("campaign", "occupancy", s) == (
        'convoso:campaign_occupancy:ratio_rate15m{job=~"$job",instance=~"$instance",campaign_id=~"$campaign"}'
        " * on (job, instance, campaign_id) group_left (campaign_name) "
        'convoso_campaign_info{job=~"$job",instance=~"$instance",campaign_id=~"$campaign"}'
    )
    assert recorded("queue", "pause_share", s) == (
        'convoso:queue_pause_share:ratio_rate15m{job=~"$job",instance=~"$instance",campaign_id=~"$campaign",'
        'queue_id=~"$queue"} * on (job, instance, queue_id) group_left (queue_name) '
        'convoso_queue_info{job=~"$job",instance=~"$instance",queue_id=~"$queue"}'
    )


def test_the_row_is_three_graphs_and_the_activities_filling_the_grid_with_units_and_bounds():
    row = agent_time_row(Settings())
    assert [(panel["title"], width, height) for panel, width, height in row] == [
        ("Occupancy", 8, 8),
        ("Pause share", 8, 8),
        ("Average handle time", 8, 8),
        ("Talk, wait, pause and wrap: the exporter's shares and Convoso's", 24, 8),
    ]
    assert sum(width for _, width, _ in row[:3]) == 24
    units = [panel["fieldConfig"]["defaults"]["unit"] for panel, _, _ in row]
    assert units == ["percentunit", "percentunit", "s", "percentunit"]
    for panel, _, _ in row[:2] + row[3:]:
        assert (panel["fieldConfig"]["defaults"]["min"], panel["fieldConfig"]["defaults"]["max"]) == (0, 1)
    assert "max" not in row[2][0]["fieldConfig"]["defaults"], "a handle time has no upper bound"
    for panel, _, _ in row:
        assert panel["type"] == "timeseries" and panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert "over the last 15m" in panel["description"]


def test_each_graph_draws_its_figure_per_campaign_and_per_queue_and_convosos_beside_it():
    s = Settings(agent_time_window="30m")
    records = {rule["record"] for rule in agent_time_rules(s) + activity_rules(s)}
    figures = {"Occupancy": "occupancy", "Pause share": "pause_share", "Average handle time": "handle_time_seconds"}
    convosos = {
        "Occupancy": '(sum by (job, instance, campaign_id) (convoso:campaign_agent_seconds_share:ratio_rate30m{'
        'job=~"$job",instance=~"$instance",campaign_id=~"$campaign",activity=~"talk|wrap"})',
        "Pause share": 'convoso:campaign_agent_seconds_share:ratio_rate30m{job=~"$job",instance=~"$instance",'
        'campaign_id=~"$campaign",activity="pause"}',
        "Average handle time": 'convoso:campaign_agent_handle_time_seconds:ratio_rate30m{job=~"$job",'
        'instance=~"$instance",campaign_id=~"$campaign"}',
    }
    for panel, _, _ in agent_time_row(s)[:3]:
        figure = figures[panel["title"]]
        campaign, queue, convoso = panel["targets"]
        assert campaign["legendFormat"] == "{{campaign_name}}" and queue["legendFormat"] == "queue {{queue_name}}"
        assert campaign["expr"].startswith(f"convoso:campaign_{figure}:ratio_rate30m{{")
        assert queue["expr"].startswith(f"convoso:queue_{figure}:ratio_rate30m{{")
        assert convoso["legendFormat"] == "{{campaign_name}} (Convoso)"
        assert convoso["expr"].startswith(convosos[panel["title"]])
        assert "group_left (campaign_name) convoso_campaign_info" in convoso["expr"]
        assert [o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]] == ["C"], "Convoso's dashed"
        read = set(re.findall(r"convoso:\w+:\w+", campaign["expr"] + queue["expr"] + convoso["expr"]))
        assert read <= records, read - records
        assert "over the last 30m" in panel["description"] and "Convoso's own figure" in panel["description"]


# ---------------------------------------------------------------- Convoso's figures beside the exporter's

ACTIVITY = {rule["record"]: rule["expr"] for rule in activity_rules(Settings())}
CAMPAIGN_JOIN = 'on (job, instance, target) group_left (campaign_id) convoso_target_info{kind="campaign"}'


def test_convosos_figures_are_three_rules_per_campaign_named_after_the_window():
    assert list(ACTIVITY) == [
        "convoso:campaign_agent_seconds_share:ratio_rate15m",
        "convoso:campaign_agents_status_seconds_share:ratio_rate15m",
        "convoso:campaign_agent_handle_time_seconds:ratio_rate15m",
    ]
    assert all(rule["record"].endswith(":ratio_rate1h") for rule in activity_rules(Settings(agent_time_window="1h")))


def test_convosos_shares_are_each_activity_over_the_four_from_the_campaign_targets_only():
    expr = ACTIVITY["convoso:campaign_agent_seconds_share:ratio_rate15m"]
    numerator, denominator = expr.split("\n/ ignoring (activity) group_left ()\n")
    assert numerator.startswith("sum by (job, instance, campaign_id, activity) (")
    assert denominator.startswith("(sum by (job, instance, campaign_id) (") and denominator.endswith(") > 0)")
    for part in (numerator, denominator):
        assert "rate(convoso_campaign_agent_seconds_total[15m]) * " + CAMPAIGN_JOIN in part


def test_the_exporters_shares_map_each_status_to_convosos_activity_over_the_same_four():
    assert ACTIVITIES == {"talk": "INCALL", "wait": "READY", "pause": "PAUSED", "wrap": "WRAP"}
    expr = ACTIVITY["convoso:campaign_agents_status_seconds_share:ratio_rate15m"]
    mapped = re.findall(r'status="(\w+)"\}\[15m\]\), "activity", "(\w+)"', expr)
    assert {activity: status for status, activity in mapped} == ACTIVITIES
    assert expr.endswith(
        '(sum by (job, instance, campaign_id) (rate(convoso_agents_status_seconds_total{status=~"INCALL|READY|'
        'PAUSED|WRAP"}[15m])) > 0)'
    )


def test_convosos_handle_time_is_talk_and_wrap_seconds_per_call_delivered():
    expr = ACTIVITY["convoso:campaign_agent_handle_time_seconds:ratio_rate15m"]
    seconds, calls = expr.split("\n/\n")
    assert 'rate(convoso_campaign_agent_seconds_total{activity=~"talk|wrap"}[15m]) * ' + CAMPAIGN_JOIN in seconds
    assert "rate(convoso_campaign_agent_calls_total[15m]) * " + CAMPAIGN_JOIN in calls and calls.endswith(" > 0)")


def test_the_activity_graph_draws_the_exporters_shares_solid_and_convosos_dashed():
    panel = agent_time_row(Settings())[3][0]
    mine, theirs = panel["targets"]
    assert mine["expr"].startswith("convoso:campaign_agents_status_seconds_share:ratio_rate15m{")
    assert theirs["expr"].startswith("convoso:campaign_agent_seconds_share:ratio_rate15m{")
    assert theirs["legendFormat"] == "{{campaign_name}} {{activity}} (Convoso)"
    assert [o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]] == ["B"]


def test_the_gap_is_the_exporters_share_minus_convosos_per_campaign_and_activity():
    panel = gap_panel(Settings())
    (target,) = panel["targets"]
    assert target["expr"] == (
        '(convoso:campaign_agents_status_seconds_share:ratio_rate15m{job=~"$job",instance=~"$instance"}\n'
        '- convoso:campaign_agent_seconds_share:ratio_rate15m{job=~"$job",instance=~"$instance"}) '
        "* on (job, instance, campaign_id) group_left (campaign_name) "
        'convoso_campaign_info{job=~"$job",instance=~"$instance"}'
    )
    assert target["legendFormat"] == "{{campaign_name}} {{activity}}"
    assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
