"""convoso_exporter.simulator.layout: the account's campaigns and queues, built from the
seed and added and removed at run time (ids in order, never reused; today's counts kept
when a scope goes); and, through the center, a removed queue's agents moving
round-robin to the queues left."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.simulator.layout import CAMPAIGN_THEMES, MAX_NAME, Layout, check_name
from convoso_exporter.simulator.model import UnknownScope

NOON = 1_767_268_800  # 2026-01-01 12:00:00 UTC
FEW = settings(max_examples=25, deadline=None)


def layout(campaigns: int = 3, queues: int = 4, leads: int = 1000, seed: int = 0) -> Layout:
    return Layout(random.Random(seed), campaigns=campaigns, queues=queues, leads_per_queue=leads)


def owned(account: Layout) -> dict[str, list[str]]:
    return {c.campaign_id: [q.queue_id for q in c.queues] for c in account.campaigns}


def today(account: Layout) -> tuple[int, int, int]:
    """Today's counts over everything that holds them."""
    tallies = account.tallies()
    return (sum(t.calls_today for t in tallies), sum(t.answered for t in tallies), sum(t.dropped for t in tallies))


def count(account: Layout, queue_id: str, calls: int, answered: int, dropped: int) -> None:
    queue = account.by_queue[queue_id]
    queue.calls_today, queue.answered, queue.dropped = calls, answered, dropped


# --- built from the seed ----------------------------------------------------------------------


def test_queues_are_dealt_round_robin_to_campaigns_in_id_order():
    account = layout(campaigns=3, queues=7)
    assert owned(account) == {"1001": ["2001", "2004", "2007"], "1002": ["2002", "2005"], "1003": ["2003", "2006"]}
    assert [q.queue_id for q in account.queues] == ["2001", "2002", "2003", "2004", "2005", "2006", "2007"]
    assert set(account.by_campaign) == {"1001", "1002", "1003"}
    assert set(account.by_queue) == {"2001", "2002", "2003", "2004", "2005", "2006", "2007"}
    assert all(account.by_queue[qid].campaign is account.by_campaign[cid]
               for cid, qids in owned(account).items() for qid in qids)


def test_each_queue_has_its_own_list_leads_and_lead_numbers():
    account = layout(campaigns=2, queues=3, leads=1000)
    assert [(q.list_id, q.next_lead) for q in account.queues] == [(50_000, 1_000_000), (50_100, 2_000_000),
                                                                   (50_200, 3_000_000)]
    assert all(500 <= q.dialable_leads <= 1000 for q in account.queues)
    assert all(q.calls_today == q.answered == q.dropped == 0 for q in account.queues)
    assert [q.dialable_leads for q in layout(campaigns=1, queues=5, leads=1).queues] == [1] * 5  # never empty


def test_campaign_names_are_distinct_themes_then_numbered_rounds():
    account = layout(campaigns=12, queues=12, seed=7)
    names = [c.campaign_name for c in account.campaigns]
    assert sorted(names[:10]) == sorted(CAMPAIGN_THEMES)
    assert names[10:] == [names[0] + " 2", names[1] + " 2"]
    assert names != [c.campaign_name for c in layout(campaigns=12, queues=12, seed=8).campaigns]
    assert names == [c.campaign_name for c in layout(campaigns=12, queues=12, seed=7).campaigns]


def test_queue_names_follow_their_campaigns_kinds_then_rounds():
    account = layout(campaigns=1, queues=8)
    name = account.campaigns[0].campaign_name
    kinds = ["Main", "Spanish", "Callbacks", "Overflow", "Retention", "VIP", "Main 2", "Spanish 2"]
    assert [q.queue_name for q in account.queues] == [f"{name} {kind}" for kind in kinds]


def test_lookups_take_ids_as_text_or_numbers():
    account = layout()
    assert account.campaign(1002) is account.campaign("1002") is account.campaigns[1]
    assert account.queue(2004) is account.queue("2004") is account.queues[3]


@pytest.mark.parametrize(
    "look, message",
    [
        (lambda a: a.campaign("1999"), "campaign 1999 not found"),
        (lambda a: a.campaign(True), "campaign True not found"),
        (lambda a: a.queue(2001.0), "queue 2001.0 not found"),
        (lambda a: a.queue(None), "queue None not found"),
        (lambda a: a.queue("1001"), "queue 1001 not found"),
    ],
)
def test_unknown_ids_are_unknown_scopes_in_one_line(look, message):
    with pytest.raises(UnknownScope) as raised:
        look(layout())
    assert str(raised.value) == message


# --- growth ----------------------------------------------------------------------------------


def test_a_new_campaign_takes_the_next_id_and_has_no_queue_until_given_one():
    account = layout(campaigns=2, queues=3)
    campaign = account.new_campaign("Winter Promo")
    assert (campaign.campaign_id, campaign.campaign_name, campaign.queues) == ("1003", "Winter Promo", [])
    assert account.campaign("1003") is campaign and account.campaigns[-1] is campaign
    queue = account.new_queue(campaign, "Late Shift")
    assert (queue.queue_id, queue.queue_name, queue.campaign) == ("2004", "Late Shift", campaign)
    assert campaign.queues == [queue] and account.queues[-1] is queue and account.queue("2004") is queue
    generated = account.new_queue(campaign)
    assert generated.queue_name == "Winter Promo Spanish"  # its second queue


@pytest.mark.parametrize("name", ["", "   ", "\t\n", 7, "x" * (MAX_NAME + 1), b"bytes"])
def test_bad_names_are_refused_in_one_line_and_use_up_no_id(name):
    account = layout(campaigns=1, queues=1)
    with pytest.raises(ValueError) as raised:
        account.new_campaign(name)
    message = str(raised.value)
    assert message.startswith(f"name must be a non-blank string of at most {MAX_NAME} characters, got ")
    assert "\n" not in message and len(message) < 160  # a long name is cut short
    with pytest.raises(ValueError):
        account.new_queue(account.campaigns[0], name)
    assert account.new_campaign("Next").campaign_id == "1002"
    assert account.new_queue(account.campaigns[0], "Next").queue_id == "2002"
    assert len(account.campaigns) == 2 and len(account.queues) == 2


def test_no_name_is_a_generated_name_but_check_name_refuses_none():
    account = layout(campaigns=1, queues=1)
    assert account.new_campaign(None).campaign_name in CAMPAIGN_THEMES
    with pytest.raises(ValueError, match="got None"):
        check_name(None)


def test_a_name_of_the_longest_length_is_kept():
    name = "y" * MAX_NAME
    assert check_name(name) is name and layout().new_campaign(name).campaign_name == name


# --- removal ------------------------------------------------------------------------------------


def test_a_removed_queue_goes_everywhere_and_its_counts_go_to_its_campaign():
    account = layout(campaigns=2, queues=4)  # 1001: 2001, 2003; 1002: 2002, 2004
    count(account, "2003", 30, 12, 1)
    count(account, "2001", 100, 40, 2)
    before = today(account)
    campaign = account.campaign("1001")
    account.remove_queue(account.queue("2003"))
    assert owned(account) == {"1001": ["2001"], "1002": ["2002", "2004"]}
    assert [q.queue_id for q in account.queues] == ["2001", "2002", "2004"] and "2003" not in account.by_queue
    assert (campaign.retired.calls_today, campaign.retired.answered, campaign.retired.dropped) == (30, 12, 1)
    assert account.removed_queue_ids == {"2003"} and account.removed_campaign_ids == set()
    assert today(account) == before == (130, 52, 3)
    assert account.retired_tallies() == [campaign.retired, account.campaign("1002").retired, account.retired]
    with pytest.raises(UnknownScope):
        account.queue("2003")


def test_a_removed_campaign_takes_its_queues_and_its_counts_go_to_the_account():
    account = layout(campaigns=3, queues=5)  # 1002: 2002, 2005
    count(account, "2002", 20, 8, 1)
    count(account, "2005", 50, 30, 2)
    count(account, "2001", 7, 7, 0)
    account.remove_queue(account.queue("2005"))  # 1002 keeps 2005's counts in its retired tally
    before = today(account)
    account.remove_campaign(account.campaign("1002"))
    assert owned(account) == {"1001": ["2001", "2004"], "1003": ["2003"]}
    assert [q.queue_id for q in account.queues] == ["2001", "2003", "2004"]
    assert (account.retired.calls_today, account.retired.answered, account.retired.dropped) == (70, 38, 3)
    assert account.removed_campaign_ids == {"1002"} and account.removed_queue_ids == {"2002", "2005"}
    assert today(account) == before == (77, 45, 3)
    assert "1002" not in account.by_campaign and not {"2002", "2005"} & set(account.by_queue)


def test_ids_are_never_reused_after_removals():
    account = layout(campaigns=2, queues=2)
    account.remove_campaign(account.campaign("1002"))
    campaign = account.new_campaign()
    assert campaign.campaign_id == "1003" and account.new_queue(campaign).queue_id == "2003"
    extra = account.new_queue(campaign)
    account.remove_queue(extra)
    assert account.new_queue(campaign).queue_id == "2005"


def test_removals_leaving_a_campaign_or_the_account_without_a_queue_are_refused():
    lonely = layout(campaigns=1, queues=1)
    with pytest.raises(ValueError, match=r"^queue 2001 is the account's last queue: it cannot be removed$"):
        lonely.remove_queue(lonely.queue("2001"))
    with pytest.raises(ValueError, match=r"^campaign 1001 holds the account's last queue: it cannot be removed$"):
        lonely.remove_campaign(lonely.campaign("1001"))
    account = layout(campaigns=2, queues=3)  # 1002 has only 2002
    with pytest.raises(ValueError, match=r"^queue 2002 is campaign 1002's last queue: remove the campaign instead$"):
        account.remove_queue(account.queue("2002"))
    single = layout(campaigns=1, queues=3)
    with pytest.raises(ValueError, match="last queue"):
        single.remove_campaign(single.campaign("1001"))
    for refused in (lonely, account, single):
        assert refused.removed_queue_ids == refused.removed_campaign_ids == set()
    assert owned(account) == {"1001": ["2001", "2003"], "1002": ["2002"]} and len(single.queues) == 3


# --- properties over changes ------------------------------------------------------------------------

changes = st.lists(st.tuples(st.sampled_from(("campaign+", "queue+", "queue-", "campaign-", "calls")),
                             st.integers(0, 50)), max_size=25)


@FEW
@given(st.integers(1, 3), st.integers(0, 3), changes)
def test_changes_keep_ids_in_order_every_campaign_staffed_and_todays_counts(campaigns, extra, steps):
    account = layout(campaigns=campaigns, queues=campaigns + extra)
    made_campaigns = [c.campaign_id for c in account.campaigns]
    made_queues = [q.queue_id for q in account.queues]
    counted = 0
    for step, number in steps:
        if step == "campaign+":
            made_campaigns.append(account.new_campaign().campaign_id)
            made_queues.append(account.new_queue(account.campaigns[-1]).queue_id)
        elif step == "queue+":
            made_queues.append(account.new_queue(account.campaigns[number % len(account.campaigns)]).queue_id)
        elif step == "calls":
            queue = account.queues[number % len(account.queues)]
            queue.calls_today, queue.answered, queue.dropped = (queue.calls_today + number, queue.answered + 1,
                                                                queue.dropped + (number % 2))
            counted += number
        else:
            removable = [q for q in account.queues if len(q.campaign.queues) > 1] if step == "queue-" else \
                [c for c in account.campaigns if len(c.queues) < len(account.queues)]
            if removable:
                target = removable[number % len(removable)]
                (account.remove_queue if step == "queue-" else account.remove_campaign)(target)
        assert today(account)[0] == counted  # today's calls never fall
    assert made_campaigns == [str(1001 + n) for n in range(len(made_campaigns))]
    assert made_queues == [str(2001 + n) for n in range(len(made_queues))]
    live_campaigns, live_queues = set(account.by_campaign), set(account.by_queue)
    assert live_campaigns | account.removed_campaign_ids == set(made_campaigns)
    assert live_queues | account.removed_queue_ids == set(made_queues)
    assert not live_campaigns & account.removed_campaign_ids and not live_queues & account.removed_queue_ids
    assert [q.queue_id for q in account.queues] == sorted(live_queues, key=int)
    assert [c.campaign_id for c in account.campaigns] == sorted(live_campaigns, key=int)
    assert all(c.queues for c in account.campaigns)
    assert sorted(q.queue_id for c in account.campaigns for q in c.queues) == sorted(live_queues)


# --- agents moving with removals (the center) -------------------------------------------------------


def make_center(**kwargs) -> ContactCenter:
    return ContactCenter(clock=FakeClock(), start_wall=NOON, **kwargs)


def homes(center: ContactCenter) -> dict[str, str]:
    return {agent["user_id"]: agent["queue_id"] for agent in center.search()["agents"]}


def test_a_removed_campaigns_agents_are_dealt_in_id_order_over_the_queues_left():
    center = make_center(agents=30, campaigns=3, queues=6, seed=4)  # 1002: 2002, 2005
    before = homes(center)
    movers = sorted((uid for uid, qid in before.items() if qid in ("2002", "2005")), key=int)
    center.remove_campaign("1002")
    after = homes(center)
    left = ["2001", "2003", "2004", "2006"]
    assert [after[uid] for uid in movers] == [left[turn % 4] for turn in range(len(movers))]
    assert {uid: qid for uid, qid in after.items() if uid not in movers} == {
        uid: qid for uid, qid in before.items() if uid not in movers}


@FEW
@given(st.integers(0, 1000), st.integers(0, 25), st.integers(2, 5), st.lists(st.integers(0, 99), max_size=4))
def test_removing_queues_loses_no_agent_and_moves_only_its_own_round_robin(seed, agents, queues, picks):
    center = make_center(agents=agents, campaigns=1, queues=queues, seed=seed)
    everyone = sorted(center.agent_ids())
    for pick in picks:
        live = center.queue_ids()
        if len(live) == 1:
            break
        gone = live[pick % len(live)]
        before = homes(center)
        center.remove_queue(gone)
        after = homes(center)
        left = [qid for qid in live if qid != gone]
        assert sorted(after) == everyone  # nobody lost, nobody twice
        assert set(after.values()) <= set(left) and center.queue_ids() == left
        movers = sorted((uid for uid, qid in before.items() if qid == gone), key=int)
        assert [after[uid] for uid in movers] == [left[turn % len(left)] for turn in range(len(movers))]
        assert all(after[uid] == qid for uid, qid in before.items() if qid != gone)
