"""convoso_exporter.derive.breakdown: an additive partition of the account's agents."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from convoso_exporter.api.model import COMMON_STATUSES, Agent
from convoso_exporter.derive.breakdown import breakdown, distinct_agents

ids = st.one_of(st.none(), st.sampled_from(["", "1", "2", "3"]))
statuses = st.one_of(st.none(), st.sampled_from(COMMON_STATUSES + ("LUNCH", "")))
agents = st.lists(st.builds(Agent, user_id=st.one_of(st.none(), st.sampled_from("abcdefgh")),
                            campaign_id=ids, queue_id=ids, status=statuses), max_size=40)


@given(agents)
def test_every_distinct_agent_is_counted_once_whatever_it_lacks(listed):
    distinct = distinct_agents(listed)
    cells = breakdown(distinct)
    assert sum(cells.values()) == len(distinct)
    # Summing over any one label gives the same total (the partition is additive).
    for position in range(3):
        merged: dict[tuple, int] = {}
        for cell, count in cells.items():
            key = cell[:position] + cell[position + 1:]
            merged[key] = merged.get(key, 0) + count
        assert sum(merged.values()) == len(distinct)


def test_first_of_a_repeated_user_id_wins_and_anonymous_agents_all_stay():
    agents = [Agent(user_id="7", status="READY"), Agent(user_id="7", status="INCALL"), Agent(), Agent()]
    assert [a.status for a in distinct_agents(agents)] == ["READY", None, None]


def test_common_statuses_are_present_for_every_pair_in_sorted_order():
    cells = breakdown([Agent(campaign_id="1", queue_id="2", status="LUNCH")])
    assert cells[("1", "2", "LUNCH")] == 1
    assert all(cells[("1", "2", status)] == 0 for status in COMMON_STATUSES)
    assert list(cells) == sorted(cells)
