"""convoso_exporter.derive.counters: day figures -> counters that survive midnight."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convoso_exporter.api.model import CallData, SearchResult
from convoso_exporter.derive.counters import (
    DECREASE,
    EARLY,
    LATE,
    PATIENCE,
    REBASED,
    Calendar,
    DayCounters,
    Tally,
    advance,
    count_day,
)
from tests.support import without_system_time_zones

UTC = Calendar("UTC")
MIDNIGHT = datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone.utc).timestamp()


def run(values: list[tuple[float, int | None]], calendar: Calendar = UTC) -> tuple[Tally, list[str | None]]:
    """Feed (seconds after MIDNIGHT, figure) pairs; the final tally and each step's glitch."""
    tally, glitches = Tally(), []
    for offset, value in values:
        step = advance(tally, value, MIDNIGHT + offset, calendar)
        tally = step.tally
        glitches.append(step.glitch)
    return tally, glitches


def test_the_first_figure_is_the_baseline_and_increases_add():
    tally, glitches = run([(-3600, 400), (-3585, 410), (-3570, 410), (-3555, 425)])
    assert tally.total == 25 and tally.baseline == 425 and tally.created == MIDNIGHT - 3600
    assert glitches == [None] * 4


def test_a_reset_at_midnight_is_a_new_day_and_the_new_value_adds():
    tally, glitches = run([(-30, 500), (-15, 502), (5, 3), (20, 6)])
    assert tally.total == 2 + 3 + 3 and glitches == [None] * 4
    assert tally.reset_for == MIDNIGHT


def test_a_reset_the_account_makes_a_little_before_or_after_our_midnight():
    early, _ = run([(-EARLY - 30, 500), (-EARLY + 10, 2), (15, 4)])
    assert early.total == 2 + 2
    late, _ = run([(-15, 500), (5, 501), (LATE - 20, 1), (LATE, 9)])  # not reset yet at 00:00:05
    assert late.total == 1 + 1 + 8


def test_polled_across_midnight_long_ago_the_first_value_is_the_new_day_whatever_it_is():
    tally, _ = run([(-7200, 500), (LATE + 600, 640)])  # the exporter was away across midnight
    assert tally.total == 640


def test_a_dip_during_the_day_is_a_glitch_and_its_recovery_adds_nothing():
    tally, glitches = run([(-7200, 500), (-7185, 250), (-7170, 505), (-7155, 510)])
    assert tally.total == 10
    assert glitches == [None, DECREASE, None, None]


def test_a_dip_that_lasts_is_taken_as_the_new_level_once():
    values = [(-7200, 500)] + [(-7200 + 15 * i, 300) for i in range(1, PATIENCE + 1)] + [(-7000, 320)]
    tally, glitches = run(values)
    assert tally.total == 20 and tally.baseline == 320
    assert glitches.count(DECREASE) == 1 and glitches.count(REBASED) == 1


def test_a_glitch_near_midnight_is_undone_when_the_next_figure_is_back():
    tally, glitches = run([(-60, 500), (-30, 250), (-15, 505), (5, 2), (20, 4)])
    # 250 looked like a reset (+250), then 505 showed it was a dip: undone, +5 from 500.
    assert tally.total == 5 + 2 + 2
    assert glitches == [None, None, DECREASE, None, None]


def test_one_reset_per_midnight():
    tally, glitches = run([(-15, 500), (5, 3), (20, 9), (35, 4), (50, 10)])
    assert tally.total == 3 + 6 + 1  # the second drop is a dip, not another new day
    assert glitches == [None, None, None, DECREASE, None]


def test_missing_figures_change_nothing():
    tally, _ = run([(-60, 500), (-45, None), (-30, 510)])
    assert tally.total == 10


@pytest.mark.parametrize(("day", "utc_hour"), [(datetime.date(2026, 1, 15), 5), (datetime.date(2026, 7, 15), 4)])
def test_the_day_boundary_is_local_midnight_in_the_accounts_zone(day, utc_hour):
    new_york = Calendar("America/New_York")
    local_midnight = datetime.datetime.combine(day, datetime.time(utc_hour), tzinfo=datetime.timezone.utc)
    assert new_york.midnight_before(local_midnight.timestamp() + 1) == local_midnight.timestamp()
    start = local_midnight.timestamp()
    tally = Tally()
    for offset, value in [(-30, 500), (5, 2)]:
        tally = advance(tally, value, start + offset, new_york).tally
    assert tally.total == 2
    # The same figures at UTC midnight in New York are a glitch.
    tally = Tally()
    for offset, value in [(-30, 500), (5, 2)]:
        tally = advance(tally, value, start - utc_hour * 3600 + offset, new_york).tally
    assert tally.total == 0


@pytest.mark.parametrize("zone", ["US/Eastern", "America/New_York", "UTC"])
def test_the_calendar_resolves_every_iana_name_without_the_system_database(zone):
    with without_system_time_zones():
        calendar = Calendar(zone)
    winter = datetime.datetime(2026, 1, 15, 0 if zone == "UTC" else 5, tzinfo=datetime.timezone.utc).timestamp()
    assert calendar.midnight_before(winter + 60) == winter


def test_count_day_advances_every_figure_and_counts_glitches_by_counter():
    counters = DayCounters()
    first = SearchResult(queue_answered=100, queue_dropped=2, call_data=CallData(total_calls=300, answered=100, dropped=2))
    dip = SearchResult(queue_answered=50, queue_dropped=2, call_data=CallData(total_calls=300, answered=100, dropped=2))
    counters, started = count_day(counters, first, MIDNIGHT - 7200, UTC)
    counters, started = count_day(counters, dip, MIDNIGHT - 7185, UTC)
    assert started == [("convoso_queue_answered_total", DECREASE)]
    assert counters.glitch_count("convoso_queue_answered_total", DECREASE) == 1
    assert counters.glitch_count("convoso_queue_dropped_total", DECREASE) == 0


# Hypothesis: a true day-by-day series, polled at random moments outside the boundary
# window (inside it, a figure that did not go down is taken as not yet reset: see the
# next test), counts every call after the first poll.
@st.composite
def days(draw):
    polls = []
    total = 0
    for day in range(draw(st.integers(1, 4))):
        today = 0
        moments = st.integers(int(LATE) + 1, 86_400 - int(EARLY) - 1)
        for moment in sorted(draw(st.lists(moments, min_size=1, max_size=12, unique=True))):
            today += draw(st.integers(0, 50))
            polls.append((day * 86400 + moment, today))
        total += today
    return polls, total


@given(days())
def test_without_glitches_the_counter_counts_every_call_after_the_first_poll(case):
    polls, _ = case
    tally = Tally()
    for offset, value in polls:
        tally = advance(tally, value, MIDNIGHT + offset, UTC).tally
    first_day = polls[0][0] // 86400
    expected = sum(v for o, v in polls if (o // 86400 != first_day) and
                   o == max(x for x, _ in polls if x // 86400 == o // 86400))
    last_of_first = max(v for o, v in polls if o // 86400 == first_day)
    assert tally.total == expected + last_of_first - polls[0][1]


def test_inside_the_boundary_window_a_figure_that_did_not_go_down_is_not_yet_reset():
    # The account may reset up to LATE after our midnight: 501 at 00:01 is still yesterday.
    tally, _ = run([(-86_000, 400), (60, 501)])
    assert tally.total == 101
    # Once LATE is past with no poll since before midnight, the new day is certain.
    tally, _ = run([(-86_000, 400), (LATE + 1, 501)])
    assert tally.total == 501


@given(days(), st.data())
def test_single_poll_dips_during_the_day_change_nothing(case, data):
    polls, _ = case
    clean = Tally()
    for offset, value in polls:
        clean = advance(clean, value, MIDNIGHT + offset, UTC).tally
    dipped, glitches = Tally(), 0
    for index, (offset, value) in enumerate(polls):
        same_day = index > 0 and polls[index - 1][0] // 86400 == offset // 86400
        if same_day and polls[index - 1][1] > 1 and data.draw(st.booleans()):
            before = polls[index - 1]
            step = advance(dipped, before[1] // 2, MIDNIGHT + (before[0] + offset) / 2, UTC)  # a partial answer
            dipped, glitches = step.tally, glitches + (step.glitch == DECREASE)
        dipped = advance(dipped, value, MIDNIGHT + offset, UTC).tally
    assert dipped.total == clean.total


def test_the_calendar_names_the_accounts_day_and_when_it_ends_across_dst():
    calendar = Calendar("America/New_York")
    # 2026-11-01: DST ends, a 25-hour day; 03:30 UTC is still 31 October in New York (UTC-4).
    assert calendar.day(datetime.datetime(2026, 11, 1, 3, 30, tzinfo=datetime.timezone.utc).timestamp()) == "2026-10-31"
    assert calendar.end_of("2026-11-01") - calendar.end_of("2026-10-31") == 25 * 3600
    assert calendar.end_of("2026-10-31") == calendar.midnight_after(calendar.end_of("2026-10-31") - 1)
