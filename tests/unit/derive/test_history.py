"""convoso_exporter.derive.history: the Deriver advances a target's Derived (day counters,
and the account's agent time) by one answer, across the day boundary of the account's
time zone, logging each glitch episode once."""

from __future__ import annotations

import datetime
import logging
import zoneinfo

import pytest

from convoso_exporter.api.model import Agent, CallData, SearchResult
from convoso_exporter.api.parse import parse_search
from convoso_exporter.config.schema import ACCOUNT, CAMPAIGN, Target
from convoso_exporter.derive.counters import PATIENCE
from convoso_exporter.derive.history import Derived, Deriver
from convoso_exporter.simulator.center import ContactCenter, FakeClock

NEW_YORK = "America/New_York"
# 2026-01-15 00:00 in New York (EST, UTC-5) is 05:00 UTC.
MIDNIGHT = datetime.datetime(2026, 1, 15, 5, 0, tzinfo=datetime.UTC).timestamp()
ACCOUNT_TARGET = Target("account", kind=ACCOUNT)
SALES = Target("campaign:1001", campaign_id="1001", kind=CAMPAIGN)
# The counters in the order Derived keeps them, and what each reads (docs/metrics.md).
COUNTERS = (
    ("convoso_queue_calls_total", "calls"),
    ("convoso_queue_answered_total", "answered"),
    ("convoso_queue_dropped_total", "dropped"),
    ("convoso_calls_total", "calls"),
    ("convoso_calls_answered_total", "answered"),
    ("convoso_calls_dropped_total", "dropped"),
)
HISTORY_LOG = "convoso_exporter.derive.history"


def day_figures(calls: int, answered: int, dropped: int) -> SearchResult:
    return SearchResult(queue_calls_today=calls, queue_answered=answered, queue_dropped=dropped,
                        call_data=CallData(total_calls=calls, answered=answered, dropped=dropped))


def answered(value: int) -> SearchResult:
    return SearchResult(queue_answered=value)  # the other figures not sent


def totals(derived: Derived) -> list[int]:
    return [tally.total for tally in derived.counters.tallies]


def feed(deriver: Deriver, target: Target, answers: list[tuple[float, SearchResult]]) -> Derived:
    derived = None
    for wall, result in answers:
        derived = deriver.advance(target, derived, result, wall)
    return derived


# --- one answer at a time ----------------------------------------------------------------


def test_the_first_answer_is_every_counters_baseline_and_counts_nothing():
    derived = Deriver().advance(SALES, None, day_figures(300, 120, 4), MIDNIGHT - 3600)
    assert totals(derived) == [0] * 6
    assert [t.baseline for t in derived.counters.tallies] == [300, 120, 4, 300, 120, 4]
    assert {t.created for t in derived.counters.tallies} == {MIDNIGHT - 3600}
    assert derived.counters.glitches == () and derived.agent_time is None


def test_increases_add_to_each_counter_from_its_own_figure():
    derived = feed(Deriver(), SALES, [(MIDNIGHT - 3600, day_figures(300, 120, 4)),
                                      (MIDNIGHT - 3585, day_figures(310, 125, 4)),
                                      (MIDNIGHT - 3570, day_figures(312, 125, 6))])
    assert totals(derived) == [12, 5, 2, 12, 5, 2]


def test_advancing_leaves_the_previous_derived_as_it_was():
    deriver = Deriver()
    first = deriver.advance(ACCOUNT_TARGET, None, day_figures(300, 120, 4), MIDNIGHT - 3600)
    kept = (first.counters, first.agent_time)
    one = deriver.advance(ACCOUNT_TARGET, first, day_figures(320, 130, 5), MIDNIGHT - 3585)
    other = deriver.advance(ACCOUNT_TARGET, first, day_figures(301, 121, 4), MIDNIGHT - 3585)
    assert (first.counters, first.agent_time) == kept and totals(first) == [0] * 6
    assert totals(one) == [20, 10, 1, 20, 10, 1] and totals(other) == [1, 1, 0, 1, 1, 0]


def test_only_the_account_derives_agent_time_each_agent_once():
    def listing(*agents: tuple[str, str, int]) -> SearchResult:
        return SearchResult(agents=tuple(Agent(user_id=u, status=s, status_time_sec=t, campaign_id="1001",
                                               queue_id="2001") for u, s, t in agents))

    first, second = listing(("1", "READY", 30)), listing(("1", "INCALL", 4), ("1", "PAUSED", 2))  # 1 listed twice
    account = feed(Deriver(), ACCOUNT_TARGET, [(1000.0, first), (1015.0, second)])
    time = account.agent_time
    assert (time.polled_at, time.created) == (1015.0, 1000.0)
    # READY from the first poll until the change 4 s before the second, then INCALL; the repeat ignored.
    assert time.seconds[("1001", "2001", "READY")] == pytest.approx(11.0)
    assert time.seconds[("1001", "2001", "INCALL")] == pytest.approx(4.0)
    assert time.seconds[("1001", "2001", "PAUSED")] == 0.0
    assert sum(time.seconds.values()) == pytest.approx(15.0)
    assert time.entries[("1001", "2001", "INCALL")] == 1 and time.entries[("1001", "2001", "PAUSED")] == 0
    assert feed(Deriver(), SALES, [(1000.0, first), (1015.0, second)]).agent_time is None


# --- the day boundary -------------------------------------------------------------------------


def test_a_reset_at_local_midnight_in_the_accounts_zone_is_a_new_day(caplog):
    polls = [(-60, 500), (-15, 510), (15, 3), (30, 7), (45, 8), (60, 12)]
    with caplog.at_level(logging.WARNING, logger=HISTORY_LOG):
        derived = feed(Deriver(NEW_YORK), SALES, [(MIDNIGHT + s, answered(v)) for s, v in polls])
    assert derived.counters.tallies[1].total == 10 + 3 + 4 + 1 + 4
    assert derived.counters.glitches == () and not caplog.records


def test_the_same_reset_in_another_zone_is_a_glitch_logged_once_per_episode(caplog):
    polls = [(-60, 500), (-15, 510), (15, 3), (30, 7), (45, 8), (60, 12)]
    with caplog.at_level(logging.WARNING, logger=HISTORY_LOG):
        derived = feed(Deriver("UTC"), SALES, [(MIDNIGHT + s, answered(v)) for s, v in polls])
    # 3 and 7 are a dip under 510 (not counted); the third low figure, 8, is taken as the level.
    assert derived.counters.tallies[1].total == 10 + 4
    assert derived.counters.glitches == (("convoso_queue_answered_total", "decrease", 1),
                                         ("convoso_queue_answered_total", "rebased", 1))
    assert [r.getMessage() for r in caplog.records] == [
        f"target campaign:1001: convoso_queue_answered_total went down outside the day boundary ({kind}); "
        "not counted"
        for kind in ("decrease", "rebased")
    ]
    assert {r.levelno for r in caplog.records} == {logging.WARNING}
    assert {getattr(r, "target", None) for r in caplog.records} == {"campaign:1001"}


def test_the_default_zone_is_utc():
    utc_midnight = MIDNIGHT - 5 * 3600
    derived = feed(Deriver(), SALES, [(utc_midnight - 15, answered(500)), (utc_midnight + 15, answered(3))])
    assert derived.counters.tallies[1].total == 3 and derived.counters.glitches == ()


# --- held to the simulator across midnight -------------------------------------------------------


def grid_polls() -> tuple[list[tuple[float, SearchResult]], dict, dict]:
    """A simulated account in New York polled every 15 s from 23:40 to 00:20 local, the last poll
    of the day at 23:59:59; the answers, and the truth at the first and the last poll."""
    start = MIDNIGHT - 1200
    clock = FakeClock(0.0)
    center = ContactCenter(agents=24, campaigns=3, queues=4, seed=8, clock=clock, start_wall=start,
                           timezone=NEW_YORK)
    answers, first = [], None
    for k in range(-79, 81):
        wall = MIDNIGHT - 1 + 15 * k
        clock.now = wall - start
        answers.append((wall, parse_search(center.search())))
        if first is None:
            first = center.truth()
    return answers, first, center.truth()


def test_across_local_midnight_every_counter_is_the_truth_and_agent_time_adds_up(caplog):
    answers, first, last = grid_polls()
    day = datetime.datetime.fromtimestamp(MIDNIGHT, zoneinfo.ZoneInfo(NEW_YORK)).date()
    yesterday, today = (day - datetime.timedelta(days=1)).isoformat(), day.isoformat()
    assert (first["today"], last["today"]) == (yesterday, today)
    at_first = first["days"][yesterday]["account"]
    closed, so_far = last["days"][yesterday]["account"], last["days"][today]["account"]
    with caplog.at_level(logging.WARNING, logger=HISTORY_LOG):
        derived = feed(Deriver(NEW_YORK), ACCOUNT_TARGET, answers)
    expected = [closed[what] - at_first[what] + so_far[what] for _, what in COUNTERS]
    assert totals(derived) == expected
    assert so_far["calls"] > 0 and closed["calls"] > at_first["calls"]  # both days had calls to count
    assert not caplog.records and derived.counters.glitches == ()
    # Every agent is in some status all along: agent-seconds are agents x the time between the polls.
    span = answers[-1][0] - answers[0][0]
    truth_seconds = sum(last["agent_seconds"].values()) - sum(first["agent_seconds"].values())
    assert sum(derived.agent_time.seconds.values()) == pytest.approx(24 * span) == truth_seconds
    assert derived.agent_time.created == answers[0][0]


def test_across_local_midnight_a_deriver_in_the_wrong_zone_loses_the_new_days_start():
    answers, first, last = grid_polls()
    derived = feed(Deriver("UTC"), ACCOUNT_TARGET, answers)
    day = datetime.datetime.fromtimestamp(MIDNIGHT, zoneinfo.ZoneInfo(NEW_YORK)).date()
    yesterday = (day - datetime.timedelta(days=1)).isoformat()
    at_first, closed = first["days"][yesterday]["account"], last["days"][yesterday]["account"]
    # After midnight the figures are a dip until the PATIENCE-th low one is taken as the level:
    # what the new day counted up to that poll is lost.
    after = [result for wall, result in answers if wall > MIDNIGHT]
    rebased_at = after[PATIENCE - 1]
    lost = [rebased_at.queue_calls_today, rebased_at.queue_answered, rebased_at.queue_dropped]
    so_far = last["days"][day.isoformat()]["account"]
    for index, (name, what) in enumerate(COUNTERS):
        assert totals(derived)[index] == closed[what] - at_first[what] + so_far[what] - lost[index % 3], name
        assert derived.counters.glitch_count(name, "decrease") == 1
    assert lost[0] > 0  # calls were lost: the zone matters
