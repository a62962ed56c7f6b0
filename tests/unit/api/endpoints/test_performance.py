"""api/endpoints/performance.py: agent-performance answers in every shape the vendor shows
(keyed or an array, numbers as strings, HH:MM:SS past 24 hours, percentages), what one
bad row or value costs, the shape telemetry, the bounds, and the pages `total` asks for."""

from __future__ import annotations

import asyncio

import pytest

from convoso_exporter.api.drift import Tally
from convoso_exporter.api.endpoints.performance import (
    MAX_PAGES,
    AgentDay,
    PerformanceAnswer,
    all_pages,
    duration_kind,
    parse_performance,
    percent_kind,
    seconds,
)
from convoso_exporter.api.errors import AuthError, ProtocolError, ResponseTooLarge
from convoso_exporter.api.fields import Unreadable
from convoso_exporter.api.limits import Limits

DAY = "2026-11-24"
# The vendor's example, as the help centre prints it.
EXAMPLE = {"success": True, "code": 200, "total": 1, "data": {"100001": {
    "user_id": "100001", "name": "Jane Smith", "calls": 843, "human_answered": 708, "am": 135, "others": 708,
    "am_pt": 16.01, "others_pt": 83.99, "talk_sec": "03:24:51", "wait_sec": "01:02:10", "pause_sec": "00:41:03",
    "wrap_sec": "00:20:05", "total_time": "08:39:29", "talk_sec_pt": 39.43, "wait_sec_pt": 11.96,
    "pause_sec_pt": 7.9, "wrap_sec_pt": 3.87, "call_type": ""}}}
JANE = (708, 135, 843, 3 * 3600 + 24 * 60 + 51, 3730, 41 * 60 + 3, 20 * 60 + 5)


def parse(doc, **options) -> tuple[PerformanceAnswer, Tally]:
    tally = Tally("performance", "s3cret")
    return parse_performance(doc, tally, DAY, **options), tally


def notes(tally: Tally) -> set[tuple[str, str]]:
    return set(tally.notes)


def test_the_vendors_example_reads_whole_and_as_documented_notes_only_the_keyed_data():
    answer, tally = parse(EXAMPLE)
    assert answer == PerformanceAnswer(DAY, (AgentDay("100001", JANE),), total=1, entries=1)
    assert answer.sums() == JANE
    assert notes(tally) == {("data", "keyed_by_id")}


def test_an_array_with_numbers_as_strings_and_hours_past_a_day():
    row = dict(EXAMPLE["data"]["100001"], calls="843", human_answered=" 708", talk_sec="49:03:07", wait_sec=3730)
    answer, tally = parse({"success": True, "total": "1", "data": [row]})
    assert answer.agents[0].figures == (708, 135, 843, 49 * 3600 + 3 * 60 + 7, 3730, 2463, 1205)
    assert {("data.calls", "number_as_text"), ("data.human_answered", "number_as_text"), ("total", "number_as_text"),
            ("data.wait_sec", "other_type")} == notes(tally)


def test_one_bad_row_or_value_costs_that_row_or_value_never_the_answer():
    good = EXAMPLE["data"]["100001"]
    rows = [good, "not a row", Unreadable("9" * 40, "too long"),
            dict(good, user_id="100002", calls="abc", talk_sec="12:xx:00", am=-3, am_pt=140.0, name={"x": 1})]
    answer, tally = parse({"success": True, "data": rows})
    assert [agent.user_id for agent in answer.agents] == ["100001", "100002"]
    assert answer.agents[1].figures == (708, None, None, None, 3730, 2463, 1205)
    assert answer.entries == 4
    # The sums add what was read: one agent's cleared values are that agent's alone.
    assert answer.sums() == (1416, 135, 843, JANE[3], 7460, 4926, 2410)
    assert {("data", "wrong_type"), ("data", "out_of_bounds"), ("data.calls", "invalid_text"),
            ("data.talk_sec", "invalid_text"), ("data.am", "out_of_bounds"), ("data.am_pt", "out_of_bounds"),
            ("data.name", "wrong_type")} <= notes(tally)


def test_repeated_user_ids_count_once_and_the_key_is_the_id_when_the_row_has_none():
    row = {k: v for k, v in EXAMPLE["data"]["100001"].items() if k != "user_id"}
    answer, _ = parse({"success": True, "data": {"7": row, "8": dict(row, user_id="7")}})
    assert [agent.user_id for agent in answer.agents] == ["7"]


def test_no_data_is_no_figures_and_an_empty_one_is_zeros():
    answer, tally = parse({"success": True, "total": 0})
    assert answer.agents is None and answer.sums() == (None,) * 7 and ("data", "missing_field") in notes(tally)
    assert parse({"success": True, "total": 0, "data": []})[0].sums() == (0,) * 7


def test_a_figure_no_row_sends_is_absent_not_zero():
    row = {k: v for k, v in EXAMPLE["data"]["100001"].items() if k != "am"}
    answer, tally = parse({"success": True, "data": [row]})
    assert answer.sums()[1] is None and ("data.am", "missing_field") in notes(tally)


def test_unknown_fields_are_noted_and_the_token_never_kept():
    row = dict(EXAMPLE["data"]["100001"], user_id="s3cret", extra_field=1)
    answer, tally = parse({"success": True, "page": 1, "data": [row]}, secret="s3cret")
    assert answer.agents[0].user_id == "<redacted>"
    assert {("page", "unknown_field"), ("data.extra_field", "unknown_field")} <= notes(tally)


def test_refusals_and_answers_that_hold_no_rows_fail_the_answer():
    with pytest.raises(AuthError):
        parse({"success": False, "code": 403, "text": "Access denied"})
    for doc in ([], {"success": True, "data": "rows"}, {"success": True, "data": 3}):
        with pytest.raises(ProtocolError):
            parse(doc)
    with pytest.raises(ResponseTooLarge):
        parse({"success": True, "data": [EXAMPLE["data"]["100001"]] * 3}, limits=Limits(max_agents=2))


@pytest.mark.parametrize(("value", "expected", "kind"), [
    ("00:20:05", 1205, None), ("125:00:01", 450001, None), ("05:00", 300, None), (61, 61, "other_type"),
    ("61", 61, "other_type"), ("1:xx", None, "invalid_text"), ("9" * 40 + ":00", None, "out_of_bounds"),
    ("99999999999999999:00:00", None, "out_of_bounds"), ("-", None, "empty_as_text"), (None, None, "missing_field"),
    (True, None, "wrong_type"),
])
def test_durations(value, expected, kind):
    assert seconds(value) == expected and duration_kind(value) == kind


@pytest.mark.parametrize(("value", "kind"), [
    (16.01, None), (0, None), (100, None), ("16.01", "number_as_text"), (100.5, "out_of_bounds"), (-1, "out_of_bounds"),
    ("x", "invalid_text"), ("", "empty_as_text"), (None, "missing_field"), ([1], "wrong_type"), (False, "wrong_type"),
])
def test_percentages(value, kind):
    assert percent_kind(value) == kind


def pages_of(rows: list[str], size: int, total: int | None = None, repeat: bool = False):
    """A `page(number)` serving `rows` (user ids) `size` at a time, saying `total`; the pages asked."""
    asked: list[int] = []

    async def page(number: int) -> PerformanceAnswer:
        asked.append(number)
        start = 0 if repeat else (number - 1) * size
        agents = tuple(AgentDay(user, (1,) * 7) for user in rows[start:start + size])
        return PerformanceAnswer(DAY, agents, len(rows) if total is None else total, len(agents))

    return page, asked


def test_pages_are_read_while_total_says_more_rows():
    page, asked = pages_of([str(i) for i in range(25)], 10)
    answer = asyncio.run(all_pages(page))
    assert asked == [1, 2, 3] and len(answer.agents) == 25 and answer.sums()[0] == 25 and answer.entries == 25
    one, asked = pages_of(["1", "2"], 10)
    assert len(asyncio.run(all_pages(one)).agents) == 2 and asked == [1]


def test_pages_that_add_nothing_or_never_end_fail_the_answer():
    same, _ = pages_of([str(i) for i in range(25)], 10, repeat=True)
    with pytest.raises(ProtocolError, match="page 2 added none"):
        asyncio.run(all_pages(same))
    endless, asked = pages_of([str(i) for i in range(10 * MAX_PAGES + 5)], 10)
    with pytest.raises(ProtocolError, match=f"in {MAX_PAGES} pages"):
        asyncio.run(all_pages(endless))
    assert len(asked) == MAX_PAGES
    many, _ = pages_of([str(i) for i in range(30)], 10)
    with pytest.raises(ResponseTooLarge):
        asyncio.run(all_pages(many, Limits(max_agents=15)))


def test_answers_at_the_bounds_are_read_whole():
    """At the bounds, nothing is refused: as many rows as max_agents, as many pages as MAX_PAGES."""
    rows, _ = parse({"success": True, "data": [dict(EXAMPLE["data"]["100001"], user_id=str(100 + i)) for i in range(2)]},
                 limits=Limits(max_agents=2))
    assert [agent.user_id for agent in rows.agents] == ["100", "101"]
    every, asked = pages_of([str(i) for i in range(10 * MAX_PAGES)], 10)
    answer = asyncio.run(all_pages(every))
    assert len(asked) == MAX_PAGES and len(answer.agents) == 10 * MAX_PAGES
    thirty, _ = pages_of([str(i) for i in range(30)], 10)
    assert len(asyncio.run(all_pages(thirty, Limits(max_agents=30))).agents) == 30
