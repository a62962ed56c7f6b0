"""convoso_exporter.derive.agent_time: agent-seconds placed at the real time of a change."""

from __future__ import annotations

import pytest

from convoso_exporter.api.model import Agent
from convoso_exporter.derive.agent_time import AgentTime, account_time


def agent(status: str, seconds: int | None, user: str = "1", campaign: str = "c", queue: str = "q") -> Agent:
    return Agent(user_id=user, status=status, status_time_sec=seconds, campaign_id=campaign, queue_id=queue)


KEEP_FOR = 180.0  # three discovery intervals of 60 s


def polls(*answers: tuple[float, list[Agent]]) -> AgentTime:
    time = AgentTime()
    for wall, agents in answers:
        time = account_time(time, agents, wall, KEEP_FOR)
    return time


def test_the_first_poll_is_the_baseline_with_every_common_status_at_zero():
    time = polls((1000.0, [agent("READY", 30)]))
    assert set(time.seconds.values()) == {0.0} and ("c", "q", "WRAP") in time.seconds
    assert set(time.entries.values()) == {0}


def test_a_change_between_polls_is_placed_when_it_happened():
    time = polls((1000.0, [agent("READY", 30)]), (1015.0, [agent("INCALL", 4)]))
    assert time.seconds[("c", "q", "READY")] == pytest.approx(11.0)
    assert time.seconds[("c", "q", "INCALL")] == pytest.approx(4.0)
    assert time.entries[("c", "q", "INCALL")] == 1 and time.entries[("c", "q", "READY")] == 0


def test_the_same_stint_keeps_counting_and_a_new_stint_of_the_same_status_is_an_entry():
    same = polls((1000.0, [agent("READY", 30)]), (1015.0, [agent("READY", 45)]), (1030.0, [agent("READY", 61)]))
    assert same.seconds[("c", "q", "READY")] == pytest.approx(30.0)
    assert same.entries[("c", "q", "READY")] == 0
    again = polls((1000.0, [agent("READY", 30)]), (1015.0, [agent("READY", 5)]))  # READY, RINGING.., READY
    assert again.seconds[("c", "q", "READY")] == pytest.approx(15.0)
    assert again.entries[("c", "q", "READY")] == 1


def test_an_agent_who_joins_counts_from_when_its_status_began():
    time = polls((1000.0, []), (1015.0, [agent("READY", 6)]), (1030.0, [agent("READY", 21), agent("PAUSED", 99, "2")]))
    assert time.seconds[("c", "q", "READY")] == pytest.approx(21.0)
    assert time.entries[("c", "q", "READY")] == 1
    # Agent 2 was PAUSED before the last poll: counted from it, and not as an entry.
    assert time.seconds[("c", "q", "PAUSED")] == pytest.approx(15.0)
    assert time.entries[("c", "q", "PAUSED")] == 0


def test_time_is_accrued_where_the_agent_was():
    time = polls((1000.0, [agent("READY", 0, campaign="a", queue="1")]),
                 (1010.0, [agent("INCALL", 4, campaign="b", queue="2")]))
    assert time.seconds[("a", "1", "READY")] == pytest.approx(6.0)
    assert time.seconds[("b", "2", "INCALL")] == pytest.approx(4.0)


def test_without_status_time_a_change_is_placed_at_the_poll():
    time = polls((1000.0, [agent("READY", None)]), (1015.0, [agent("INCALL", None)]))
    assert time.seconds[("c", "q", "READY")] == pytest.approx(15.0)
    assert time.seconds[("c", "q", "INCALL")] == 0.0
    assert time.entries[("c", "q", "INCALL")] == 1


def test_agents_without_id_or_status_and_agents_who_leave_add_nothing():
    time = polls((1000.0, [agent("READY", 0), Agent(status="READY"), Agent(user_id="3")]),
                 (1015.0, [Agent(status="READY"), Agent(user_id="3")]))
    assert sum(time.seconds.values()) == 0.0
    assert "1" not in time.agents


def test_every_second_between_two_polls_goes_somewhere_exactly_once():
    time = polls((1000.0, [agent("READY", 10), agent("WRAP", 50, "2")]),
                 (1015.0, [agent("INCALL", 7), agent("READY", 14, "2")]),
                 (1030.0, [agent("INCALL", 22), agent("RINGING", 3, "2")]))
    assert sum(time.seconds.values()) == pytest.approx(2 * 30.0)


# --- forgetting cells whose campaign, queue or status has gone (expiry.py) -------------------


def test_a_gone_campaigns_cells_are_kept_and_counted_for_three_intervals_then_forgotten():
    first = [agent("READY", 10, campaign="old", queue="q1"), agent("READY", 10, "2", campaign="stays")]
    moved = [agent("INCALL", 5, campaign="new", queue="q9"), agent("READY", 25, "2", campaign="stays")]
    time = polls((1000.0, first), (1015.0, moved))
    # The agent left "old" between the polls: its READY cell had its last increase at 1015.
    assert time.seconds[("old", "q1", "READY")] == pytest.approx(10.0)
    for wall in (1030.0, 1195.0):  # absent up to 180 s after its last increase: kept, unchanged
        time = account_time(time, moved, wall, KEEP_FOR)
        assert time.seconds[("old", "q1", "READY")] == pytest.approx(10.0)
        assert ("old", "q1", "WRAP") in time.entries
    time = account_time(time, moved, 1195.5, KEEP_FOR)
    assert not any(cell[0] == "old" for cell in (*time.seconds, *time.entries, *time.last_seen))
    # The campaigns with agents keep every cell, common statuses at 0 included.
    assert time.seconds[("stays", "q", "PAUSED")] == 0.0 and ("new", "q9", "WRAP") in time.seconds
    assert set(time.seconds) == set(time.last_seen) >= set(time.entries)


def test_a_status_no_agent_is_in_any_more_is_forgotten_but_common_ones_stay():
    time = polls((1000.0, [agent("LUNCH", 10)]), (1015.0, [agent("READY", 3)]))
    assert time.seconds[("c", "q", "LUNCH")] == pytest.approx(12.0)
    time = account_time(time, [agent("READY", 18)], 1195.0, KEEP_FOR)
    assert ("c", "q", "LUNCH") in time.seconds
    time = account_time(time, [agent("READY", 200)], 1200.0, KEEP_FOR)
    assert ("c", "q", "LUNCH") not in time.seconds and ("c", "q", "LUNCH") not in time.entries
    assert ("c", "q", "TRANSFER") in time.seconds  # common: kept at 0 while the pair has an agent


def test_cells_present_after_a_long_gap_between_polls_keep_their_totals():
    time = polls((1000.0, [agent("READY", 0)]), (1015.0, [agent("READY", 15)]),
                 (2000.0, [agent("READY", 1000)]))  # the account failed for 16 minutes
    assert time.seconds[("c", "q", "READY")] == pytest.approx(1000.0)
