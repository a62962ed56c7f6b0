"""convoso_exporter.simulator.scope: what one search covers (the campaign, queue, user
and skills filters, combined), the root counters it answers, and user-activity's counts."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.simulator.layout import Layout
from convoso_exporter.simulator.model import AgentState, NotFound
from convoso_exporter.simulator.scope import activity, build_selection, totals

NOON = 1_767_268_800  # 2026-01-01 12:00:00 UTC
FEW = settings(max_examples=15, deadline=None)

# (user_id, queue_id, status, skills); campaign 1001 has queues 2001 and 2003, 1002 has 2002.
AGENTS = (
    ("100001", "2001", "READY", ("english",)),
    ("100002", "2002", "INCALL", ("spanish", "sales")),
    ("100003", "2003", "PAUSED", ("english", "support")),
    ("100004", "2001", "INCALL", ("sales",)),
    ("100005", "2002", "LOGGED_OUT", ()),
    ("100006", "2003", "WRAP", ("support",)),
)
# queue_id: (calls_today, answered, dropped, dialable_leads)
QUEUES = {"2001": (100, 40, 2, 500), "2002": (50, 20, 1, 300), "2003": (30, 10, 0, 200)}
CAMPAIGN_1001_RETIRED = (7, 3, 1)
ACCOUNT_RETIRED = (11, 5, 2)


class Account:
    """A hand-made layout and agents, with counters set by hand."""

    def __init__(self) -> None:
        self.layout = Layout(random.Random(0), campaigns=2, queues=3, leads_per_queue=1000)
        for queue_id, (calls, answered, dropped, leads) in QUEUES.items():
            queue = self.layout.by_queue[queue_id]
            queue.calls_today, queue.answered, queue.dropped, queue.dialable_leads = calls, answered, dropped, leads
        retired = self.layout.by_campaign["1001"].retired
        retired.calls_today, retired.answered, retired.dropped = CAMPAIGN_1001_RETIRED
        self.layout.retired.calls_today, self.layout.retired.answered, self.layout.retired.dropped = ACCOUNT_RETIRED
        self.agents = [
            AgentState(index=index, user_id=user_id, user_full_name=f"Agent {index}", queue=self.layout.by_queue[qid],
                       extension=str(1001 + index), connection_type="softphone", skills=skills, inbound_only=False,
                       queue_assignment="2026-01-01 08:00:00", status=status)
            for index, (user_id, qid, status, skills) in enumerate(AGENTS)
        ]
        self.by_user = {agent.user_id: agent for agent in self.agents}

    def select(self, campaign_id=None, queue_id=None, user_id=None, skills=()):
        return build_selection((campaign_id, queue_id, user_id, skills), self.layout, self.agents, self.by_user)


def ids(selection) -> tuple[list[str], list[str]]:
    return [agent.user_id for agent in selection.agents], [queue.queue_id for queue in selection.queues]


def shown(answer: dict) -> tuple[int, int, int, int]:
    """(calls, answered, dropped, dialable leads) of a totals answer."""
    return (answer["queue_calls_today"], answer["queue_answered"], answer["queue_dropped"],
            answer["queue_dialable_leads"])


# --- filters, by hand ----------------------------------------------------------------------


def test_the_account_covers_everyone_and_counts_todays_removed_scopes():
    account = Account()
    selection = account.select()
    assert ids(selection) == (["100001", "100002", "100003", "100004", "100005", "100006"], ["2001", "2002", "2003"])
    assert selection.key == (None, None, None, ()) and selection.campaign_id is None
    answer = totals(selection)
    assert answer == {
        "call_data": {"total_calls": 198, "answered": 78, "dropped": 6},  # queues + 1001's retired + the account's
        "queue_dialable_leads": 1000,
        "queue_calls_today": 198,
        "queue_dropped": 6,
        "queue_answered": 78,
        "agent_total": 6,
        "agent_incall": 2,
        "agent_ready": 1,
        "agent_paused": 1,
    }


def test_user_activity_counts_ready_agents_as_available_and_all_but_logged_out_as_logged_in():
    account = Account()
    assert activity(account.select()) == {"available_agents": 1, "logged_in_agents": 5}
    assert activity(account.select(campaign_id="1002")) == {"available_agents": 0, "logged_in_agents": 1}
    assert activity(account.select(skills=("support",))) == {"available_agents": 0, "logged_in_agents": 2}
    assert activity(account.select(campaign_id="1002", queue_id="2001")) == {"available_agents": 0, "logged_in_agents": 0}


def test_a_campaign_covers_its_queues_agents_and_its_own_removed_queues():
    account = Account()
    first = account.select(campaign_id="1001")
    assert ids(first) == (["100001", "100003", "100004", "100006"], ["2001", "2003"])
    assert first.campaign_id == "1001" and [c.campaign_id for c in first.campaigns] == ["1001"]
    answer = totals(first)
    assert shown(answer) == (100 + 30 + 7, 40 + 10 + 3, 2 + 0 + 1, 700)
    agents = answer["agent_total"], answer["agent_incall"], answer["agent_ready"], answer["agent_paused"]
    assert agents == (4, 1, 1, 1)
    second = totals(account.select(campaign_id="1002"))
    assert shown(second) == (50, 20, 1, 300) and second["agent_total"] == 2 and second["agent_incall"] == 1


def test_a_queue_covers_its_agents_and_only_its_own_counters():
    account = Account()
    selection = account.select(queue_id="2003")
    assert ids(selection) == (["100003", "100006"], ["2003"])
    assert shown(totals(selection)) == (30, 10, 0, 200)
    # Within its campaign: the same, without the campaign's removed queues.
    within = account.select(campaign_id="1001", queue_id="2001")
    assert ids(within) == (["100001", "100004"], ["2001"]) and shown(totals(within)) == (100, 40, 2, 500)


def test_a_user_covers_one_agent_and_the_counters_of_its_queue():
    account = Account()
    selection = account.select(user_id="100003")
    assert ids(selection) == (["100003"], ["2003"])
    answer = totals(selection)
    assert shown(answer) == (30, 10, 0, 200) and (answer["agent_total"], answer["agent_paused"]) == (1, 1)


@pytest.mark.parametrize(
    "filters",
    [
        {"campaign_id": "1001", "queue_id": "2002"},
        {"campaign_id": "1002", "user_id": "100003"},
        {"queue_id": "2001", "user_id": "100003"},
        {"user_id": "100005", "skills": ("english",)},
        {"skills": ("klingon",)},
        {"campaign_id": "1002", "skills": ("support",)},
    ],
)
def test_filters_that_exclude_each_other_cover_nothing_and_count_zero(filters):
    selection = Account().select(**filters)
    assert ids(selection) == ([], [])
    answer = totals(selection)
    assert shown(answer) == (0, 0, 0, 0) and answer["call_data"] == {"total_calls": 0, "answered": 0, "dropped": 0}
    assert answer["agent_total"] == answer["agent_incall"] == answer["agent_ready"] == answer["agent_paused"] == 0


@pytest.mark.parametrize(
    "skills, agents, queues, counted",
    [
        (("sales",), ["100002", "100004"], ["2001", "2002"], (150, 60, 3, 800)),
        (("support", "spanish"), ["100002", "100003", "100006"], ["2002", "2003"], (80, 30, 1, 500)),
        (("english",), ["100001", "100003"], ["2001", "2003"], (130, 50, 2, 700)),
    ],
)
def test_skills_cover_agents_with_any_of_them_and_count_only_their_queues(skills, agents, queues, counted):
    selection = Account().select(skills=skills)
    assert ids(selection) == (agents, queues)
    assert shown(totals(selection)) == counted  # no removed scopes: they have no agents


def test_skills_within_a_campaign_do_not_count_its_removed_queues():
    selection = Account().select(campaign_id="1001", skills=("english",))
    assert ids(selection) == (["100001", "100003"], ["2001", "2003"])
    assert shown(totals(selection)) == (130, 50, 2, 700)


@pytest.mark.parametrize(
    "filters, code, error",
    [
        ({"campaign_id": "9999"}, 6026, "Campaign not found"),
        ({"queue_id": "9999"}, 6041, "Queue not found"),
        ({"user_id": "999999"}, 6006, "User not found"),
        ({"campaign_id": "9999", "queue_id": "9999", "user_id": "999999"}, 6026, "Campaign not found"),
        ({"queue_id": "9999", "user_id": "999999"}, 6041, "Queue not found"),
        ({"campaign_id": "1001", "user_id": "999999"}, 6006, "User not found"),
    ],
)
def test_unknown_ids_are_not_found_campaign_first(filters, code, error):
    with pytest.raises(NotFound) as raised:
        Account().select(**filters)
    assert raised.value.as_dict() == {"success": False, "code": code, "error": error}


def test_a_removed_queue_is_not_found_and_its_counts_stay_with_its_campaign():
    account = Account()
    before = shown(totals(account.select(campaign_id="1001")))
    account.layout.remove_queue(account.layout.by_queue["2003"])
    for agent in account.agents:  # (the center moves them; here, by hand, to 2001)
        if agent.queue.queue_id == "2003":
            agent.queue = account.layout.by_queue["2001"]
    with pytest.raises(NotFound):
        account.select(queue_id="2003")
    after = account.select(campaign_id="1001")
    assert ids(after) == (["100001", "100003", "100004", "100006"], ["2001"])
    calls, answered, dropped, leads = shown(totals(after))
    assert (calls, answered, dropped) == before[:3] and leads == 500  # a removed queue's leads go with it
    assert shown(totals(account.select(queue_id="2001"))) == (100, 40, 2, 500)


# --- properties, on a living center -------------------------------------------------------------


def living_center(seed: int, agents: int, campaigns: int, extra_queues: int, seconds: int) -> ContactCenter:
    clock = FakeClock()
    center = ContactCenter(agents=agents, campaigns=campaigns, queues=campaigns + extra_queues, seed=seed,
                           clock=clock, start_wall=NOON)
    clock.advance(seconds)
    return center


def calls(answer: dict) -> tuple[int, int, int]:
    data = answer["call_data"]
    return data["total_calls"], data["answered"], data["dropped"]


centers = st.builds(
    living_center,
    seed=st.integers(0, 10_000),
    agents=st.integers(0, 30),
    campaigns=st.integers(1, 3),
    extra_queues=st.integers(0, 3),
    seconds=st.integers(0, 900),
)


@FEW
@given(centers)
def test_a_searchs_totals_are_the_agents_it_lists(center):
    scopes = [{}, *({"campaign_id": cid} for cid in center.campaign_ids()),
              *({"queue_id": qid} for qid in center.queue_ids()), {"skills": "spanish"}]
    for scope in scopes:
        answer = center.search(**scope)
        listed = Counter(agent["status"] for agent in answer["agents"])
        assert answer["agent_total"] == len(answer["agents"])
        assert (answer["agent_incall"], answer["agent_ready"], answer["agent_paused"]) == (
            listed["INCALL"], listed["READY"], listed["PAUSED"])
        assert calls(answer) == (answer["queue_calls_today"], answer["queue_answered"], answer["queue_dropped"])


@FEW
@given(centers)
def test_campaigns_partition_the_account_and_queues_partition_their_campaign(center):
    everyone = center.search()["agents"]
    assert sorted(agent["user_id"] for agent in everyone) == sorted(center.agent_ids())
    by_campaign: dict[str, list[dict]] = {cid: [] for cid in center.campaign_ids()}
    for agent in everyone:
        by_campaign[agent["campaign_id"]].append(agent)
    account_calls = [0, 0, 0]
    for campaign in center.campaigns():
        cid = campaign["campaign_id"]
        answer = center.search(campaign_id=cid)
        assert answer["agents"] == by_campaign[cid]  # a subset of the account's, in the same order
        mine = [center.search(queue_id=qid) for qid in campaign["queue_ids"]]
        assert sorted(a["user_id"] for q in mine for a in q["agents"]) == sorted(a["user_id"] for a in by_campaign[cid])
        assert calls(answer) == tuple(map(sum, zip(*(calls(q) for q in mine))))
        assert answer["queue_dialable_leads"] == sum(q["queue_dialable_leads"] for q in mine)
        account_calls = [total + part for total, part in zip(account_calls, calls(answer))]
    assert list(calls(center.search())) == account_calls


@FEW
@given(centers, st.sets(st.sampled_from(("english", "spanish", "sales", "support", "klingon")), min_size=1))
def test_a_skills_search_lists_the_agents_having_any_and_counts_their_queues(center, wanted):
    everyone = center.search()["agents"]
    having = [agent for agent in everyone if wanted & set(agent["skill_options"].split(","))]
    answer = center.search(skills=sorted(wanted))
    assert answer["agents"] == having
    staffed = sorted({agent["queue_id"] for agent in having})
    per_queue = [center.search(queue_id=qid) for qid in staffed]
    expected = [0, 0, 0]
    for queue in per_queue:
        expected = [total + part for total, part in zip(expected, calls(queue))]
    assert list(calls(answer)) == expected
    assert answer["queue_dialable_leads"] == sum(q["queue_dialable_leads"] for q in per_queue)


@FEW
@given(centers, st.data())
def test_a_campaign_filter_narrows_and_a_queue_filter_narrows_it_further(center, data):
    cid = data.draw(st.sampled_from(center.campaign_ids()))
    qid = data.draw(st.sampled_from(center.queue_ids()))
    account = {agent["user_id"] for agent in center.search()["agents"]}
    campaign = {agent["user_id"] for agent in center.search(campaign_id=cid)["agents"]}
    both = center.search(campaign_id=cid, queue_id=qid)
    assert campaign <= account
    assert {agent["user_id"] for agent in both["agents"]} <= campaign
    owner = next(q["campaign_id"] for q in center.queues() if q["queue_id"] == qid)
    if owner == cid:
        assert both == center.search(queue_id=qid)
    else:
        assert both["agents"] == [] and calls(both) == (0, 0, 0) and both["queue_dialable_leads"] == 0
