"""convoso_exporter.simulator.daybook: every second of every agent in exactly one slot of
one row of its local day (DST days included), calls counted where and when they connect,
rows following agents across moves, the kept days bounded."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.simulator.daybook import (
    AM,
    LIVE,
    OUT,
    SLOTS,
    WIDTH,
    DayBook,
    figures,
    summarize,
)
from convoso_exporter.simulator.model import DAYS_KEPT, STATUSES
from convoso_exporter.simulator.truth import Ledger

ZONE = zoneinfo.ZoneInfo("America/New_York")
# DST begins on 8 March 2026 at 02:00 local: that local day lasts 23 hours.
START = datetime.datetime(2026, 3, 7, 22, 0, tzinfo=ZONE).timestamp()
MIDNIGHTS = [datetime.datetime(2026, 3, day, tzinfo=ZONE).timestamp() for day in (8, 9)]
AGENTS = 8


def seconds_booked(rows: dict) -> int:
    """Every second in a day's rows (the call counts left out)."""
    return sum(sum(row) - row[AM] - row[LIVE] for row in rows.values())


@pytest.fixture(scope="module")
def run() -> tuple[ContactCenter, list[dict]]:
    """From 22:00 on 7 March to 02:00 on the 9th, local; truth every half hour; an agent
    logged out and a queue removed on the way."""
    clock = FakeClock()
    center = ContactCenter(agents=AGENTS, campaigns=2, queues=3, seed=4, clock=clock, start_wall=START,
                           timezone="America/New_York")
    truths = []
    for step in range(2 * 28):
        clock.advance(1800)
        if step == 5:
            center.logout("100003")
        if step == 30:
            center.remove_queue("2003")
        truths.append(center.truth())
    return center, truths


def test_every_agent_second_is_in_one_slot_of_its_local_day(run):
    center, truths = run
    first_day = MIDNIGHTS[0] - START
    assert seconds_booked(center.day_rows("2026-03-07")) == AGENTS * first_day
    assert seconds_booked(center.day_rows("2026-03-08")) == AGENTS * 23 * 3600  # the short day
    assert seconds_booked(center.day_rows("2026-03-09")) == AGENTS * (truths[-1]["tick"] - (MIDNIGHTS[1] - START))
    assert center.kept_days() == ["2026-03-07", "2026-03-08", "2026-03-09"]


def test_each_days_answered_is_machine_plus_live_handled_plus_dropped(run):
    _, truths = run
    for truth in truths:  # every half hour, the day in progress and the closed ones
        for date, performance in truth["performance"].items():
            for campaign_id, counted in truth["days"][date]["campaigns"].items():
                figures_ = performance["campaigns"][campaign_id]
                assert counted["answered"] == figures_["machine"] + figures_["live_handled"] + counted["dropped"]
                assert {name: figures_[name] for name in counted} == counted
            account = performance["account"]
            assert account["machine"] == sum(item["machine"] for item in performance["agents"].values())


def test_closed_days_stay_as_they_were(run):
    _, truths = run
    closed = truths[-1]["performance"]["2026-03-08"]
    assert closed == next(t for t in truths if t["today"] == "2026-03-09")["performance"]["2026-03-08"]
    assert closed["account"]["talk"] > 0 and closed["account"]["machine"] > 0


def test_time_follows_the_agent_to_its_new_queue(run):
    """Queue 2003 went at 13:00 on the 8th: its agents' rows there stop, new ones start."""
    center, _ = run
    before = {key for key in center.day_rows("2026-03-08") if key[1] == "2003"}
    after = {key for key in center.day_rows("2026-03-09") if key[1] == "2003"}
    assert before and not after
    moved = {key[3] for key in before}
    assert moved <= {key[3] for key in center.day_rows("2026-03-09")}


def test_todays_rows_are_copies_with_the_time_not_yet_booked():
    clock = FakeClock()
    center = ContactCenter(agents=3, seed=2, clock=clock, start_wall=START)
    today = center.truth()["today"]
    clock.advance(100)
    rows = center.day_rows(today)
    assert seconds_booked(rows) == 3 * 100
    next(iter(rows.values()))[0] += 1000
    assert seconds_booked(center.day_rows(today)) == 3 * 100


def test_slots_cover_every_status_for_both_outcomes():
    for slots in SLOTS:
        assert set(slots) == set(STATUSES) and set(slots.values()) < set(range(WIDTH))
        assert slots["LOGGED_OUT"] == OUT
    assert SLOTS[0]["INCALL"] != SLOTS[1]["INCALL"] and SLOTS[0]["READY"] == SLOTS[1]["READY"]


def test_figures_by_hand():
    row = [3, 7, 30, 400, 10, 90, 4, 20, 300, 600, 5000]  # AM LIVE TALK×2 WRAP×2 RING×2 WAIT PAUSE OUT
    assert figures(row) == {
        "machine": 3, "live_handled": 7, "talk": 430, "wait": 300, "pause": 600, "wrap": 100, "ringing": 24,
        "logged_in": 1454,
    }
    counts = {"account": {"calls": 9}, "campaigns": {"1001": {"calls": 5}, "1002": {"calls": 4}}}
    summary = summarize({("1001", "2001", "50000", "100001"): row}, counts)
    assert summary["campaigns"]["1002"] == {"calls": 4, **figures([0] * WIDTH)}  # no agent there: zeros
    assert summary["account"] == {"calls": 9, **figures(row)} and list(summary["agents"]) == ["100001"]


def test_the_book_and_the_ledger_keep_the_last_days_only():
    book, ledger = DayBook(), Ledger()
    dates = [(datetime.date(2026, 1, 1) + datetime.timedelta(days=n)).isoformat() for n in range(DAYS_KEPT + 10)]
    empty = {"account": {}, "campaigns": {}}
    for date in dates:
        book.open_day(date)
        book.close_day(0, (), empty)
        ledger.close_day(date, _NoLayout())
    assert sorted(book.days) == dates[-DAYS_KEPT:] and sorted(book.summaries) == dates[-DAYS_KEPT:]
    assert sorted(ledger.days) == dates[-(DAYS_KEPT - 1):]  # and today, the one in progress


class _NoLayout:
    campaigns: list = []
    queues: list = []
