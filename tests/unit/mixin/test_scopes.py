"""Campaigns and queues on a dashboard (convoso_exporter/mixin/scopes.py): the drop rate and
the alerts' lines it is drawn against, agents counted once from the account's breakdown,
and one table row per campaign or queue.
"""

from __future__ import annotations

from convoso_exporter.mixin.scopes import (
    ANSWERED_NOTE,
    agent_columns,
    agents,
    drop_rate,
    drop_rate_thresholds,
    scope_table,
    target_columns,
)
from convoso_exporter.mixin.settings import Settings

JOB_INSTANCE = 'job=~"$job",instance=~"$instance"'
SCOPE = f'{JOB_INSTANCE},campaign_id=~"$campaign",queue_id=~"$queue"'
# Distinct values for each line, so a line read from the wrong setting shows.
ODD = Settings(
    drop_rate_critical=0.05, drop_rate_warning=0.04, drop_rate_30d_critical=0.035, drop_rate_30d_warning=0.02
)


def steps(lines: dict) -> list[tuple[float | None, str]]:
    return [(step["value"], step["color"]) for step in lines["steps"]]


# ---------------------------------------------------------------- the drop rate


def test_the_default_lines_are_orange_at_the_warning_and_red_at_3_percent():
    assert steps(drop_rate_thresholds(Settings())) == [(None, "green"), (0.025, "orange"), (0.03, "red")]
    assert steps(drop_rate_thresholds(Settings(), days=30)) == [(None, "green"), (0.025, "orange"), (0.03, "red")]


def test_todays_lines_are_todays_alerts_and_the_30_day_lines_the_30_day_alerts():
    assert steps(drop_rate_thresholds(ODD)) == [(None, "green"), (0.04, "orange"), (0.05, "red")]
    assert steps(drop_rate_thresholds(ODD, days=1)) == [(None, "green"), (0.04, "orange"), (0.05, "red")]
    assert steps(drop_rate_thresholds(ODD, days=30)) == [(None, "green"), (0.02, "orange"), (0.035, "red")]
    assert drop_rate_thresholds(ODD)["mode"] == "absolute"


def test_the_drop_rate_is_dropped_over_answered_with_no_sample_while_nothing_was_answered():
    assert drop_rate() == (
        f"convoso_queue_dropped_today{{{JOB_INSTANCE}}} / (convoso_queue_answered_today{{{JOB_INSTANCE}}} > 0)"
    )
    assert (
        drop_rate(lambda metric: f"f({metric})")
        == "f(convoso_queue_dropped_today) / (f(convoso_queue_answered_today) > 0)"
    )


def test_the_answered_note_reads_on_from_a_sentence():
    assert ANSWERED_NOTE.startswith(" Convoso does not document") and ANSWERED_NOTE.endswith(".")


# ---------------------------------------------------------------- agents


def test_agents_come_from_the_breakdown_filtered_on_campaign_and_queue():
    assert agents() == f"convoso_agents{{{SCOPE}}}"
    assert agents('status="READY"') == f'convoso_agents{{{SCOPE},status="READY"}}'


def test_agent_columns_are_agents_logged_in_and_ready_per_scope():
    columns = agent_columns("campaign", lambda expr: f"named({expr})")
    assert columns == [
        (f"named(sum by (job, instance, campaign_id) (convoso_agents{{{SCOPE}}}))", "agents"),
        (f'named(sum by (job, instance, campaign_id) (convoso_agents{{{SCOPE},status!="LOGGED_OUT"}}))', "logged in"),
        (f'named(sum by (job, instance, campaign_id) (convoso_agents{{{SCOPE},status="READY"}}))', "ready"),
    ]
    (queue_agents, _, _) = agent_columns("queue", lambda expr: expr)
    assert queue_agents[0].startswith("sum by (job, instance, queue_id) (convoso_agents{")


def test_target_columns_keep_one_row_per_scope_and_drop_only_the_target_label():
    columns = target_columns("queue", lambda expr: f"own({expr})", [("a", "calls"), ("b / c", "drop rate")])
    assert columns == [
        ("max by (job, instance, queue_id, queue_name) (own(a))", "calls"),
        ("max by (job, instance, queue_id, queue_name) (own(b / c))", "drop rate"),
    ]


# ---------------------------------------------------------------- the table


def organize(panel: dict) -> dict:
    merge, organized = panel["transformations"]
    assert merge == {"id": "merge", "options": {}}
    assert organized["id"] == "organize"
    return organized["options"]


def test_a_scope_table_is_one_row_per_campaign_with_name_id_then_the_columns_in_order():
    panel = scope_table(
        "Campaigns",
        "One row per campaign.",
        "campaign",
        [("x", "agents"), ("y", "drop rate"), ("z", "Custom heading")],
    )
    assert panel["type"] == "table" and panel["description"] == "One row per campaign."
    assert [(t["refId"], t["expr"], t["instant"], t["format"]) for t in panel["targets"]] == [
        ("A", "x", True, "table"),
        ("B", "y", True, "table"),
        ("C", "z", True, "table"),
    ]
    options = organize(panel)
    assert options["renameByName"] == {
        "campaign_name": "Campaign",
        "campaign_id": "ID",
        "Value #A": "Agents",
        "Value #B": "Drop rate today",
        "Value #C": "Custom heading",
    }
    assert options["indexByName"] == {"campaign_name": 0, "campaign_id": 1, "Value #A": 2, "Value #B": 3, "Value #C": 4}
    assert options["excludeByName"] == {"Time": True, "job": True, "instance": True}
    assert panel["options"]["sortBy"] == [{"desc": False, "displayName": "Campaign"}]


def test_todays_drop_rate_column_is_a_percentage_unless_told_otherwise():
    default = scope_table("Q", "D.", "queue", [("y", "drop rate")])
    assert default["fieldConfig"]["overrides"] == [
        {
            "matcher": {"id": "byName", "options": "Drop rate today"},
            "properties": [{"id": "unit", "value": "percentunit"}],
        }
    ]
    assert default["fieldConfig"]["defaults"]["unit"] == "short"
    assert organize(default)["renameByName"]["queue_name"] == "Queue"
    custom = scope_table("Q", "D.", "queue", [("y", "Rate")], hidden=("target",), units={"Rate": "percent"})
    assert custom["fieldConfig"]["overrides"][0]["matcher"]["options"] == "Rate"
    assert len(custom["fieldConfig"]["overrides"]) == 1
    assert organize(custom)["excludeByName"] == {"Time": True, "job": True, "instance": True, "target": True}
    assert scope_table("Q", "D.", "queue", [("y", "Rate")], units={})["fieldConfig"]["overrides"] == []
