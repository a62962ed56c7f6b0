"""The dashboard around the panels (convoso_exporter/mixin/layout.py): rows on Grafana's
24-column grid that never overlap, the template variables, and the JSON envelope that
says which module generated the dashboard.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.mixin.layout import (
    campaign_variables,
    common_variables,
    dashboard,
    info_variable,
    layout,
    query_variable,
    row,
    scope_variables,
    target_variables,
)
from convoso_exporter.mixin.panels import DATASOURCE
from tests.dashboard_queries import query_result_options

GRID = 24


def box(name: str) -> dict:
    """A stand-in panel: layout only reads and copies it."""
    return {"title": name, "type": "stat"}


def positions(placed: list[dict]) -> list[tuple[str, int, int, int, int]]:
    return [(p["title"], p["gridPos"]["x"], p["gridPos"]["y"], p["gridPos"]["w"], p["gridPos"]["h"]) for p in placed]


def assert_no_overlap(placed: list[dict]) -> None:
    occupied: dict[tuple[int, int], str] = {}
    for panel in placed:
        pos = panel["gridPos"]
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] >= 0 and pos["x"] + pos["w"] <= GRID, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in occupied, f"{panel['title']} overlaps {occupied[(x, y)]}"
                occupied[(x, y)] = panel["title"]


# ---------------------------------------------------------------- the grid


def test_a_row_is_an_open_heading():
    assert row("Agents") == {"collapsed": False, "panels": [], "title": "Agents", "type": "row"}


def test_panels_go_left_to_right_under_their_heading_and_the_next_heading_below_the_tallest():
    placed = layout(
        [
            ("First", [(box("a"), 6, 4), (box("b"), 18, 8)]),
            ("Second", [(box("c"), 24, 3)]),
        ]
    )
    assert positions(placed) == [
        ("First", 0, 0, 24, 1),
        ("a", 0, 1, 6, 4),
        ("b", 6, 1, 18, 8),
        ("Second", 0, 9, 24, 1),
        ("c", 0, 10, 24, 3),
    ]
    assert [p["type"] for p in placed] == ["row", "stat", "stat", "row", "stat"]


def test_a_line_wider_than_the_grid_wraps_below_its_tallest_panel():
    placed = layout([("Wide", [(box("a"), 12, 4), (box("b"), 12, 6), (box("c"), 8, 3), (box("d"), 20, 2)])])
    assert positions(placed) == [
        ("Wide", 0, 0, 24, 1),
        ("a", 0, 1, 12, 4),
        ("b", 12, 1, 12, 6),
        ("c", 0, 7, 8, 3),
        ("d", 0, 10, 20, 2),
    ]


def test_ids_count_up_in_reading_order_and_the_panels_given_are_not_changed():
    given_panel = box("a")
    placed = layout([("One", [(given_panel, 12, 2), (box("b"), 12, 2)]), ("Two", [])])
    assert [p["id"] for p in placed] == [1, 2, 3, 4]
    assert given_panel == {"title": "a", "type": "stat"}, "layout must copy, not edit, the panels it is given"
    assert positions(placed)[-1] == ("Two", 0, 3, 24, 1)


widths = st.integers(min_value=1, max_value=GRID)
heights = st.integers(min_value=1, max_value=12)
lines = st.lists(st.tuples(widths, heights), max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(lines, min_size=1, max_size=5))
def test_no_two_panels_ever_share_a_cell(sections):
    spec = [
        (f"row {i}", [(box(f"{i}.{j}"), width, height) for j, (width, height) in enumerate(line)])
        for i, line in enumerate(sections)
    ]
    placed = layout(spec)
    assert_no_overlap(placed)
    assert [p["id"] for p in placed] == list(range(1, len(placed) + 1))
    assert [p["title"] for p in placed] == [
        t for title, line in spec for t in [title, *(p["title"] for p, _, _ in line)]
    ]
    # Each heading sits below everything placed before it.
    bottom = 0
    for panel in placed:
        if panel["type"] == "row":
            assert panel["gridPos"]["y"] == bottom and panel["gridPos"]["w"] == GRID
        bottom = max(bottom, panel["gridPos"]["y"] + panel["gridPos"]["h"])


# ---------------------------------------------------------------- variables


def test_a_query_variable_is_multi_valued_with_all_on_the_datasource_variable():
    variable = query_variable("job", "Job", "label_values(up, job)")
    assert variable["datasource"] == DATASOURCE == {"type": "prometheus", "uid": "${datasource}"}
    assert (variable["multi"], variable["includeAll"], variable["allValue"]) == (True, True, ".+")
    assert variable["query"] == variable["definition"] == "label_values(up, job)"
    assert variable["current"]["value"] == ["$__all"] and variable["type"] == "query"
    assert variable["refresh"] == 2, "refreshed when the time range changes"


def test_an_info_variable_keeps_ids_as_values_and_shows_names():
    variable = info_variable("queue", "Queue", "convoso_queue_info", "queue_id", "queue_name")
    assert variable["query"] == (
        'query_result(max by (queue_id, queue_name) (convoso_queue_info{job=~"$job",instance=~"$instance"}))'
    )
    assert variable["allValue"] == ".*", "All must keep agents without a queue"
    lines = [
        '{queue_id="77",queue_name="Inbound sales"} 1 1700000000000',
        '{queue_id="78"} 1 1700000000000',
        '{queue_id="79",queue_name="Say \\"hi\\""} 1 1700000000000',
        '{queue_id=""} 1 1700000000000',
    ]
    assert query_result_options(variable["regex"], lines) == [
        ("77", "Inbound sales"),
        ("78", "78"),
        ("79", 'Say \\"hi\\"'),
        ("", ""),
    ]


def test_every_dashboard_starts_with_datasource_job_and_instance_each_narrowed_by_the_one_before():
    datasource, job, instance = common_variables()
    assert (datasource["name"], datasource["type"], datasource["query"]) == ("datasource", "datasource", "prometheus")
    assert job["query"] == "label_values(convoso_exporter_build_info, job)"
    assert instance["query"] == 'label_values(convoso_exporter_build_info{job=~"$job"}, instance)'


def test_the_three_sets_of_variables():
    assert [v["name"] for v in scope_variables()] == ["datasource", "job", "instance", "campaign", "queue"]
    assert [v["name"] for v in campaign_variables()] == ["datasource", "job", "instance", "campaign"]
    assert [v["name"] for v in target_variables()] == ["datasource", "job", "instance", "target"]
    (target,) = target_variables()[3:]
    assert target["query"] == 'label_values(convoso_up{job=~"$job",instance=~"$instance"}, target)'
    assert target["allValue"] == ".+"
    (campaign,) = campaign_variables()[3:]
    assert campaign["query"].startswith("query_result(max by (campaign_id, campaign_name) (convoso_campaign_info{")


# ---------------------------------------------------------------- the envelope


def test_a_dashboard_is_read_only_tagged_linked_and_says_which_module_generates_it():
    board = dashboard(
        "convoso_exporter.mixin.dashboards.example",
        "convoso-example",
        "Convoso / Example",
        "What it shows.",
        [("Only", [(box("a"), 24, 4)])],
        target_variables(),
    )
    assert board["description"] == (
        "What it shows. Generated by `python -m convoso_exporter.mixin` "
        "(convoso_exporter/mixin/dashboards/example.py); edit that, not this file."
    )
    assert (board["uid"], board["title"], board["editable"], board["id"]) == (
        "convoso-example",
        "Convoso / Example",
        False,
        None,
    )
    assert "convoso" in board["tags"]
    (link,) = board["links"]
    assert link["tags"] == ["convoso"] and link["includeVars"] and link["keepTime"]
    assert positions(board["panels"]) == [("Only", 0, 0, 24, 1), ("a", 0, 1, 24, 4)]
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource", "job", "instance", "target"]
    assert board["schemaVersion"] >= 39
