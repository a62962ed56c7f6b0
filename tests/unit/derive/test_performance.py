"""derive/performance.py: a campaign's agent-performance figures as counters that survive
midnight. Over a simulated day and its midnights, polled every 5 minutes as the exporter
polls (the simulator's answer on the wire ▶ read_performance ▶ Deriver ▶ TargetState), the
counters equal the simulator's ground truth for the day, its last minutes included (the
close); a glitched answer is a glitch, not a loss or a double count."""

from __future__ import annotations

import datetime
import json
import zoneinfo
from dataclasses import replace

from convoso_exporter.api.decode import Body
from convoso_exporter.api.endpoints.performance import AgentDay, PerformanceAnswer
from convoso_exporter.api.read import read_performance
from convoso_exporter.config.schema import Target
from convoso_exporter.derive.counters import Calendar
from convoso_exporter.derive.history import Deriver
from convoso_exporter.derive.performance import FIGURES, count_performance, new_counters
from convoso_exporter.poll.calls import closing_day
from convoso_exporter.poll.state import TargetState
from convoso_exporter.simulator import ContactCenter, FakeClock
from convoso_exporter.simulator import performance as simulated

ZONE = "America/New_York"
DAY, NEXT = "2026-11-24", "2026-11-25"
MIDNIGHT = datetime.datetime(2026, 11, 24, tzinfo=zoneinfo.ZoneInfo(ZONE)).timestamp()
SALES = Target("performance:campaign:1001", campaign_id="1001", kind="performance", interval=300.0,
               scope="campaign:1001")
# Truth's names for the figures, in `performance.READ` order (calls: those delivered to agents).
TRUTH = ("live_handled", "machine", None, "talk", "wait", "pause", "wrap")


def truth_of(row: dict) -> tuple[int, ...]:
    return tuple(row["live_handled"] + row["machine"] if name is None else row[name] for name in TRUTH)


def answer(center: ContactCenter, day: str) -> PerformanceAnswer:
    params = {"date_start": day, "date_end": day, "campaign_ids": "1001"}
    wire = json.dumps(simulated.search(center, params, "live")).encode()
    return read_performance(Body(wire, "application/json"), day)


def test_the_counters_of_a_day_polled_every_5_minutes_equal_the_truth_its_last_minutes_included():
    clock = FakeClock(0.0)
    center = ContactCenter(agents=6, campaigns=2, queues=2, seed=5, clock=clock, start_wall=MIDNIGHT - 3600,
                           timezone=ZONE)
    calendar, deriver, state = Calendar(ZONE), Deriver(ZONE), TargetState(SALES)
    first = last_of_day = None
    # Polls 150 s past each 5 minutes, from the day's first minutes to the next day's: the
    # last poll of the day is at 23:57:30, the first of the next at 00:02:30.
    for at in (MIDNIGHT + 150 + 300 * k for k in range(289)):
        clock.now = at - (MIDNIGHT - 3600)
        today = calendar.day(at)
        found = answer(center, today)
        if (closing := closing_day(state, today)) is not None:
            found = replace(found, closing=answer(center, closing))
        state = state.succeeded(found, wall=at, duration=0.1, derived=deriver.advance(SALES, state.derived, found, at))
        first = first or found.sums()
        last_of_day = found.sums() if today == DAY else last_of_day
    truth = center.truth()["performance"]
    day, started = truth_of(truth[DAY]["campaigns"]["1001"]), truth_of(truth[NEXT]["campaigns"]["1001"])
    totals = tuple(tally.total for tally in state.derived.counters.tallies)
    # Counted from the first figure seen (which is not added), to the day's end, plus what
    # the next day's first poll saw of it.
    assert totals == tuple(d - f + s for d, f, s in zip(day, first, started))
    assert state.derived.counters.glitches == ()
    assert day[3] > last_of_day[3]  # the close counted talk the last poll of the day had not seen


def test_a_dip_is_a_glitch_counted_once_and_its_recovery_adds_nothing():
    calendar = Calendar(ZONE)
    counters = new_counters()
    steps = [(7, 100), (8, 50), (9, 120)]  # (hour, live answered): a halved answer at 8:00
    started = []
    for hour, live in steps:
        figures = (live, 10, live + 10, 600, 60, 0, 30)
        found = PerformanceAnswer(DAY, (AgentDay("1", figures),))
        counters, glitches = count_performance(counters, found, MIDNIGHT + hour * 3600, calendar)
        started += glitches
    assert counters.tallies[0].total == 20 and started == [(FIGURES[0], "decrease"), (FIGURES[2], "decrease")]
    assert counters.glitch_count("live_answered", "decrease") == 1


def test_the_close_is_counted_as_of_its_days_end_never_as_a_new_day():
    """Closed long after midnight (the exporter was down): the day before's figure adds
    its last minutes, today's starts the new day; nothing twice."""
    calendar = Calendar(ZONE)
    row = lambda live: PerformanceAnswer(DAY, (AgentDay("1", (live,) + (0,) * 6),))  # noqa: E731
    counters, _ = count_performance(new_counters(), row(100), MIDNIGHT + 23 * 3600, calendar)
    late = replace(PerformanceAnswer(NEXT, (AgentDay("1", (5,) + (0,) * 6),)), closing=row(130))
    counters, glitches = count_performance(counters, late, MIDNIGHT + 86400 + 2 * 3600, calendar)
    assert counters.tallies[0].total == 30 + 5 and glitches == []
    # A day-before figure that went down is a dip (a glitch), not a new day added whole.
    later = replace(PerformanceAnswer(NEXT, (AgentDay("1", (9,) + (0,) * 6),)), closing=row(3))
    counters, glitches = count_performance(new_counters(), row(100), MIDNIGHT + 23 * 3600, calendar)
    counters, glitches = count_performance(counters, later, MIDNIGHT + 86400 + 60, calendar)
    assert counters.tallies[0].total == 9 and ("live_answered", "decrease") in glitches


def test_the_deriver_keeps_counters_for_a_campaigns_figures_only():
    deriver = Deriver(ZONE)
    found = PerformanceAnswer(DAY, (AgentDay("1", (1,) * 7),))
    assert deriver.advance(SALES, None, found, MIDNIGHT).counters.tallies[0].baseline == 1
    agents = Target("performance:account", kind="performance", interval=300.0, scope="account")
    assert deriver.advance(agents, None, found, MIDNIGHT) is None
    activity = Target("user_activity:account", kind="user_activity", scope="account")
    assert deriver.advance(activity, None, object(), MIDNIGHT) is None
