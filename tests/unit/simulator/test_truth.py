"""convoso_exporter.simulator.truth: the ground truth the exporter is held against. The
ledger's books by hand (days, removed scopes, agent time), its JSON form, and, on a
living center, the per-day counters growing within a day and starting again at local
midnight, agreeing with what the API shows."""

from __future__ import annotations

import copy
import random
from itertools import cycle

from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.simulator.layout import Layout
from convoso_exporter.simulator.model import AgentState
from convoso_exporter.simulator.truth import Ledger, counts, truth_json

NOON = 1_767_268_800  # 2026-01-01 12:00:00 UTC
# 2026-01-02 00:00 local time
MIDNIGHTS = {"UTC": 1_767_312_000, "America/New_York": 1_767_312_000 + 5 * 3600}
FEW = settings(max_examples=12, deadline=None)
ZERO = {"calls": 0, "answered": 0, "dropped": 0}


def account_with_counts() -> Layout:
    """Queues dealt round-robin: 1001 has 2001 and 2004, 1002 has 2002 and 2005, 1003 has 2003."""
    account = Layout(random.Random(0), campaigns=3, queues=5, leads_per_queue=100)
    for queue_id, (calls, answered, dropped) in {
        "2001": (100, 40, 2), "2002": (50, 20, 1), "2003": (30, 10, 0), "2004": (9, 4, 1), "2005": (6, 3, 0)
    }.items():
        queue = account.by_queue[queue_id]
        queue.calls_today, queue.answered, queue.dropped = calls, answered, dropped
    return account


def as_counts(calls: int, answered: int, dropped: int) -> dict[str, int]:
    return {"calls": calls, "answered": answered, "dropped": dropped}


# --- the ledger, by hand ------------------------------------------------------------------------


def test_counts_reads_a_queue_or_a_tally():
    account = account_with_counts()
    assert counts(account.by_queue["2003"]) == as_counts(30, 10, 0)
    assert counts(account.retired) == ZERO


def test_a_day_is_every_queue_its_campaigns_and_the_account():
    account = account_with_counts()
    assert Ledger().day(account) == {
        "account": as_counts(195, 77, 4),
        "campaigns": {"1001": as_counts(109, 44, 3), "1002": as_counts(56, 23, 1), "1003": as_counts(30, 10, 0)},
        "queues": {"2001": as_counts(100, 40, 2), "2002": as_counts(50, 20, 1), "2003": as_counts(30, 10, 0),
                   "2004": as_counts(9, 4, 1), "2005": as_counts(6, 3, 0)},
    }


def test_scopes_removed_today_stay_in_the_day_as_they_stood_when_they_went():
    account, ledger = account_with_counts(), Ledger()
    before = ledger.day(account)
    queue = account.by_queue["2004"]
    account.remove_queue(queue)
    ledger.queue_removed(queue)
    queue.calls_today = 999  # what happens to the record afterwards is not the day's
    campaign = account.by_campaign["1002"]
    gone = list(campaign.queues)
    account.remove_campaign(campaign)
    for each in gone:
        ledger.queue_removed(each)
    ledger.campaign_removed(campaign)
    assert ledger.day(account) == before  # nothing fell, nothing vanished


def test_closing_a_day_writes_it_down_and_forgets_todays_removed_scopes():
    account, ledger = account_with_counts(), Ledger()
    queue = account.by_queue["2004"]
    account.remove_queue(queue)
    ledger.queue_removed(queue)
    ledger.close_day("2026-01-01", account)
    written = copy.deepcopy(ledger.days)
    for tally in account.tallies():  # what the center does at midnight
        tally.calls_today = tally.answered = tally.dropped = 0
    assert set(written["2026-01-01"]["queues"]) == {"2001", "2002", "2003", "2004", "2005"}
    assert ledger.days == written  # the closed day does not follow the counters
    assert ledger.day(account) == {
        "account": ZERO,
        "campaigns": {"1001": ZERO, "1002": ZERO, "1003": ZERO},
        "queues": {"2001": ZERO, "2002": ZERO, "2003": ZERO, "2005": ZERO},
    }


def agent(account: Layout, index: int, queue_id: str, status: str, accrued_from: int) -> AgentState:
    return AgentState(index=index, user_id=str(100_001 + index), user_full_name="A B",
                      queue=account.by_queue[queue_id], extension="1", connection_type="VoIP", skills=(),
                      inbound_only=False, queue_assignment="", status=status, accrued_from=accrued_from)


def test_agent_time_is_the_books_plus_the_time_not_yet_booked():
    account, ledger = account_with_counts(), Ledger()
    first, gone = account.by_queue["2001"], account.by_queue["2004"]
    first.seconds["READY"], first.entries["READY"] = 40, 3
    first.seconds["INCALL"], first.entries["INCALL"] = 100, 2
    first.seconds["WRAP"] = 5  # time with no entry (a status held since the start) is still time
    gone.seconds["PAUSED"], gone.entries["PAUSED"] = 30, 1
    gone.entries["READY"] = 1  # an entry with no whole second booked yet
    account.remove_queue(gone)
    ledger.queue_removed(gone)
    account.by_queue["2002"].entries["READY"] = 1
    agents = [agent(account, 0, "2001", "READY", 90), agent(account, 1, "2001", "INCALL", 95),
              agent(account, 2, "2002", "READY", 100)]
    seconds, entries = ledger.agent_time(account, agents, 100)
    assert seconds == {
        ("1001", "2001", "READY"): 50,
        ("1001", "2001", "INCALL"): 105,
        ("1001", "2001", "WRAP"): 5,
        ("1002", "2002", "READY"): 0,
        ("1001", "2004", "PAUSED"): 30,
        ("1001", "2004", "READY"): 0,
    }
    assert entries == {
        ("1001", "2001", "READY"): 3, ("1001", "2001", "INCALL"): 2, ("1001", "2001", "WRAP"): 0,
        ("1002", "2002", "READY"): 1, ("1001", "2004", "PAUSED"): 1, ("1001", "2004", "READY"): 1,
    }
    assert first.seconds["READY"] == 40  # asking books nothing


def test_truth_json_joins_the_keys_and_leaves_the_rest_alone():
    truth = {
        "tick": 5,
        "agent_seconds": {("1001", "2001", "READY"): 7},
        "entries": {("1001", "2001", "READY"): 1, ("1002", "2002", "WRAP"): 2},
        "days": {"2026-01-01": {"account": ZERO}},
    }
    original = copy.deepcopy(truth)
    assert truth_json(truth) == {
        "tick": 5,
        "agent_seconds": {"1001/2001/READY": 7},
        "entries": {"1001/2001/READY": 1, "1002/2002/WRAP": 2},
        "days": {"2026-01-01": {"account": ZERO}},
    }
    assert truth == original


# --- on a living center ---------------------------------------------------------------------------


def change(center: ContactCenter, action: str, pick: int) -> None:
    """A layout change the center accepts (or nothing, when it would refuse)."""
    campaigns = center.campaigns()
    if action == "add campaign":
        center.add_campaign(agents=pick % 5)
    elif action == "add queue":
        center.add_queue(campaigns[pick % len(campaigns)]["campaign_id"], agents=pick % 4)
    elif action == "remove queue":
        spare = [qid for c in campaigns if len(c["queue_ids"]) > 1 for qid in c["queue_ids"]]
        if spare:
            center.remove_queue(spare[pick % len(spare)])
    elif action == "remove campaign" and len(campaigns) > 1:
        center.remove_campaign(campaigns[pick % len(campaigns)]["campaign_id"])


actions = st.lists(st.tuples(st.sampled_from(("none", "add campaign", "add queue", "remove queue", "remove campaign")),
                             st.integers(0, 99)), min_size=1, max_size=8)


def grew(earlier: dict[str, dict[str, int]], later: dict[str, dict[str, int]]) -> bool:
    """Every scope of `earlier` is still in `later`, none of its counts lower."""
    return all(all(later[scope][name] >= value for name, value in item.items()) for scope, item in earlier.items())


@FEW
@given(st.integers(0, 10_000), st.sampled_from(sorted(MIDNIGHTS)), st.integers(600, 2400), st.integers(150, 500),
       actions)
def test_the_days_counters_only_grow_within_a_day_and_start_again_at_local_midnight(seed, zone, before, step, plan):
    agents = 20
    clock = FakeClock()
    center = ContactCenter(agents=agents, campaigns=2, queues=3, seed=seed, clock=clock, timezone=zone,
                           start_wall=MIDNIGHTS[zone] - before)
    ticks = sorted({*range(0, 2 * before, step), before - 1, before, before + 1, 2 * before})
    previous = last_of_day = None
    for tick, (action, pick) in zip(ticks, cycle(plan)):
        clock.advance(tick - clock())
        change(center, action, pick)
        truth = center.truth()
        assert truth["today"] == ("2026-01-01" if tick < before else "2026-01-02")
        today = truth["days"][truth["today"]]
        if previous is not None and previous[0] == truth["today"]:
            assert grew(previous[1]["campaigns"], today["campaigns"]) and grew(previous[1]["queues"], today["queues"])
            assert grew({"": previous[1]["account"]}, {"": today["account"]})
        if tick == before - 1:
            last_of_day = copy.deepcopy(today)
        if tick >= before:
            assert truth["days"]["2026-01-01"] == last_of_day  # the day, as it was at its last second
        if tick == before:  # local midnight: only this very second's calls
            assert today["account"]["answered"] <= 2 * agents < last_of_day["account"]["answered"]
            assert all(item["answered"] <= today["account"]["answered"] for item in today["campaigns"].values())
        previous = (truth["today"], copy.deepcopy(today))


@FEW
@given(st.integers(0, 10_000), st.lists(st.integers(1, 400), min_size=1, max_size=8), actions)
def test_the_truth_is_what_the_api_shows_and_books_every_agent_second(seed, steps, plan):
    clock = FakeClock()
    center = ContactCenter(agents=15, campaigns=2, queues=3, seed=seed, clock=clock, start_wall=NOON)
    owners = {q["queue_id"]: q["campaign_id"] for q in center.queues()}
    removed_today: set[str] = set()
    earlier: dict = {}
    for seconds, (action, pick) in zip(steps, cycle(plan)):
        clock.advance(seconds)
        live = set(center.campaign_ids()) | set(center.queue_ids())
        change(center, action, pick)
        owners.update({q["queue_id"]: q["campaign_id"] for q in center.queues()})
        removed_today |= live - set(center.campaign_ids()) - set(center.queue_ids())
        truth = center.truth()
        today = truth["days"]["2026-01-01"]
        for scope, listed in (("campaign_id", center.campaign_ids()), ("queue_id", center.queue_ids())):
            for scope_id in listed:
                data = center.search(**{scope: scope_id})["call_data"]
                shown = as_counts(data["total_calls"], data["answered"], data["dropped"])
                assert today["campaigns" if scope == "campaign_id" else "queues"][scope_id] == shown
        data = center.search()["call_data"]
        assert today["account"] == as_counts(data["total_calls"], data["answered"], data["dropped"])
        assert removed_today <= set(today["campaigns"]) | set(today["queues"])
        assert sum(truth["agent_seconds"].values()) == 15 * truth["tick"]
        assert set(truth["entries"]) == set(truth["agent_seconds"])
        assert all(owners[queue_id] == campaign_id for campaign_id, queue_id, _ in truth["agent_seconds"])
        assert all(truth["agent_seconds"][key] >= value for key, value in earlier.items())
        earlier = truth["agent_seconds"]
