"""convoso_exporter.web.board: what a supervisor sees, from the states the exporter holds:
the View, a scope's figures and drop rate, agents narrowed to a scope and counted by
status, the floor order, and the landing page's campaign lines."""

from __future__ import annotations

from collections import Counter
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.api.model import FOLDED, Agent, Scope, SearchResult
from convoso_exporter.api.parse import parse_search
from convoso_exporter.config.schema import ACCOUNT, CAMPAIGN, QUEUE, Target
from convoso_exporter.poll.state import TargetState
from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.web.board import (
    ServiceCounts,
    service_counts,
    DROP_RATE_RED,
    Figures,
    View,
    by_status,
    campaign_lines,
    count_check,
    drop_rate,
    figures,
    floor_order,
    logged_in,
    matches,
    scope_names,
    scoped_agents,
)
from tests.unit.web.floor import ACCOUNT_AGENTS, NOW, agent, answer, floor_states, ok, view, with_service_counts

FLOOR = ("READY", "INCALL", "PAUSED", "WRAP", "RINGING", "TRANSFER")


def account_view(result: SearchResult, *extra: TargetState) -> View:
    states = [ok(Target("account", kind=ACCOUNT), result), *extra]
    return View(states=MappingProxyType({state.target.name: state for state in states}))


# --- View -------------------------------------------------------------------------------


def test_view_finds_the_account_by_kind_and_scopes_by_kind_and_id():
    states = floor_states()
    renamed = TargetState(Target("everything", kind=ACCOUNT))
    current = view({"everything": renamed, "campaign:1001": states["campaign:1001"]})
    assert current.account() is renamed
    assert current.scope_target(CAMPAIGN, "1001") is states["campaign:1001"]
    assert current.scope_target(CAMPAIGN, "1002") is None  # not polled
    assert current.scope_target(QUEUE, "1001") is None


def test_a_custom_target_named_like_a_scope_is_not_that_scope():
    impostor = TargetState(Target("campaign:1001", campaign_id="1001"))  # kind custom
    current = view({"campaign:1001": impostor})
    assert current.scope_target(CAMPAIGN, "1001") is None
    assert current.account() is None


# --- figures and the drop rate ------------------------------------------------------------


def test_figures_are_the_targets_own_day_figures_and_their_drop_rate():
    today = figures(answer((), 6000, 2000, 1000, 40))
    assert today == Figures(dialable_leads=6000, calls_today=2000, answered_today=1000, dropped_today=40,
                            drop_rate=0.04)
    assert today.drop_red is True


def test_figures_the_api_did_not_send_stay_unknown():
    today = figures(SearchResult())
    assert today == Figures(None, None, None, None, None)
    assert today.drop_red is False


@pytest.mark.parametrize(
    "dropped, answered, rate",
    [(30, 1500, 0.02), (1, 4, 0.25), (0, 10, 0.0), (7, 7, 1.0), (5, 0, None), (0, 0, None), (None, 100, None),
     (3, None, None)],
)
def test_drop_rate_is_dropped_over_answered_and_unknown_without_answered_calls(dropped, answered, rate):
    assert drop_rate(dropped, answered) == rate


@pytest.mark.parametrize("dropped, red", [(29, False), (30, True), (31, True), (0, False)])
def test_the_drop_rate_turns_red_at_the_legal_line(dropped, red):
    assert DROP_RATE_RED == 0.03
    assert figures(answer((), 1, 1, 1000, dropped)).drop_red is red


# --- narrowing to a scope -----------------------------------------------------------------


def test_matches_every_filter_and_any_one_skill():
    sales = Agent(user_id="7", campaign_id="1001", queue_id="2001", skill_options=("english", "sales"))
    assert matches(sales, {})
    assert matches(sales, {"campaign_id": "1001", "queue_id": "2001", "user_id": "7"})
    assert not matches(sales, {"campaign_id": "1001", "queue_id": "2002"})  # every filter must hold
    assert not matches(sales, {"user_id": "8"})
    assert matches(sales, {"skills": ("spanish", "sales")})
    assert not matches(sales, {"skills": ("spanish", "support")})
    assert not matches(Agent(user_id="8"), {"skills": ("english",)})  # no skills sent: none of them


def test_scoped_agents_are_each_user_once_within_the_filters():
    result = answer(ACCOUNT_AGENTS, 1, 1, 1, 0)
    everyone = scoped_agents(result, {})
    assert [a.user_id for a in everyone] == ["100001", "100002", "100003", "100004", "100005", "100006", "100007",
                                             "100008"]
    assert next(a for a in everyone if a.user_id == "100002").status == "READY"  # the first entry wins
    renewals = scoped_agents(result, {"campaign_id": "1002"})
    assert [a.user_id for a in renewals] == ["100005", "100006", "100007", "100008"]
    assert [a.user_id for a in scoped_agents(result, {"skills": ("spanish",)})] == ["100003"]
    assert scoped_agents(None, {}) == []


# --- counted by status --------------------------------------------------------------------


def test_by_status_lists_every_common_status_then_others_then_logged_out():
    agents = [agent("1", "LUNCH", 1), agent("2", "READY", 1), agent("3", "LOGGED_OUT", 1), agent("4", None, 1),
              agent("5", "ACW", 1), agent("6", "READY", 1)]
    assert list(by_status(agents).items()) == [
        ("READY", 2), ("INCALL", 0), ("PAUSED", 0), ("WRAP", 0), ("RINGING", 0), ("TRANSFER", 0),
        ("", 1), ("ACW", 1), ("LUNCH", 1), ("LOGGED_OUT", 1),
    ]
    assert by_status([]) == dict.fromkeys([*FLOOR, "LOGGED_OUT"], 0)


def test_logged_in_is_everyone_but_logged_out():
    assert logged_in({"READY": 2, "LOGGED_OUT": 3, "LUNCH": 1, "": 1}) == 4
    assert logged_in({"LOGGED_OUT": 3}) == 0


def simulated(seed: int, seconds: int) -> tuple[ContactCenter, SearchResult]:
    clock = FakeClock(0.0)
    center = ContactCenter(agents=24, campaigns=3, queues=5, seed=seed, clock=clock, start_wall=NOW)
    clock.advance(seconds)
    return center, parse_search(center.search())


@settings(max_examples=8, deadline=None)
@given(st.integers(1, 1000), st.integers(0, 3600))
def test_counts_by_status_are_the_simulators_own_agents_each_once(seed, seconds):
    center, result = simulated(seed, seconds)
    truth = Counter(a.status for a in center.select().agents)
    counts = by_status(scoped_agents(result, {}))
    assert {status: n for status, n in counts.items() if n} == dict(truth)
    assert sum(counts.values()) == 24 == len(center.agent_ids())
    assert logged_in(counts) == 24 - truth["LOGGED_OUT"]
    per_campaign = Counter()
    for campaign in center.campaign_ids():
        mine = by_status(scoped_agents(result, {"campaign_id": campaign}))
        expected = Counter(a.status for a in center.select(campaign_id=campaign).agents)
        assert {status: n for status, n in mine.items() if n} == dict(expected), campaign
        per_campaign.update(mine)
    assert {status: n for status, n in per_campaign.items() if n} == dict(truth)  # a partition of the account
    for queue in center.queue_ids():
        users = {a.user_id for a in scoped_agents(result, {"queue_id": queue})}
        assert users == {a.user_id for a in center.select(queue_id=queue).agents}, queue
    skill = center.skills[0]
    users = {a.user_id for a in scoped_agents(result, {"skills": (skill,)})}
    assert users == {a.user_id for a in center.select(skills=skill).agents}


# --- floor order --------------------------------------------------------------------------


def test_floor_order_is_by_status_then_longest_first_then_user_id():
    agents = [
        agent("9", "LOGGED_OUT", 99999),
        agent("5", "READY", 20),
        agent("2", "LUNCH", 900),
        agent("4", "READY", 700),
        agent("8", "INCALL", 5),
        agent("3", "READY", 20),
        agent("6", "READY", None),
        agent("7", None, 50),
        agent("1", "PAUSED", 0),
    ]
    ordered = [a.user_id for a in floor_order(agents)]
    # READY longest first (700, then the two at 20 by id, unknown time last), INCALL, PAUSED,
    # no status before the other statuses, LOGGED_OUT last.
    assert ordered == ["4", "3", "5", "6", "8", "1", "7", "2", "9"]
    assert floor_order([]) == []


# --- the landing page's lines ---------------------------------------------------------------


def test_campaign_lines_are_the_account_then_each_campaign_with_its_own_figures():
    states = floor_states()
    lines = campaign_lines(view(states))
    assert [(line.kind, line.ident, line.name) for line in lines] == [
        (ACCOUNT, None, None), (CAMPAIGN, "1001", "Sales"), (CAMPAIGN, "1002", "Renewals")]
    account, sales, renewals = lines
    assert account.state is states["account"] and sales.state is states["campaign:1001"]
    assert account.by_status == {"READY": 2, "INCALL": 2, "PAUSED": 1, "WRAP": 1, "RINGING": 0, "TRANSFER": 0,
                                 "LUNCH": 1, "LOGGED_OUT": 1}
    assert sales.by_status == {"READY": 2, "INCALL": 1, "PAUSED": 1, "WRAP": 0, "RINGING": 0, "TRANSFER": 0,
                               "LOGGED_OUT": 0}
    assert renewals.by_status == {"READY": 0, "INCALL": 1, "PAUSED": 0, "WRAP": 1, "RINGING": 0, "TRANSFER": 0,
                                  "LUNCH": 1, "LOGGED_OUT": 1}
    assert account.figures.drop_rate == pytest.approx(0.02) and not account.figures.drop_red
    assert sales.figures.drop_rate == pytest.approx(0.04) and sales.figures.drop_red
    assert renewals.figures.drop_rate == pytest.approx(0.01)
    assert (account.wallboard_query, sales.wallboard_query) == ("", "?campaign=1001")


def test_every_agent_with_a_campaign_is_on_exactly_one_campaign_line():
    _, result = simulated(seed=3, seconds=900)
    account, *campaigns = campaign_lines(account_view(result))
    assert len(campaigns) == 3
    assert sum(account.by_status.values()) == 24
    assert sum(sum(line.by_status.values()) for line in campaigns) == 24
    for status, n in account.by_status.items():
        assert sum(line.by_status.get(status, 0) for line in campaigns) == n, status


def test_a_campaign_only_polled_or_only_listed_still_gets_a_line():
    listed_only = SearchResult(agents=(agent("1", "READY", 5, campaign="1001"),), campaigns=(Scope("1003", "Leads"),))
    polled = ok(Target("campaign:1002", campaign_id="1002", kind=CAMPAIGN, campaign_name="Renewals"),
                answer((), 10, 10, 10, 1))
    lines = campaign_lines(account_view(listed_only, polled))
    assert [(line.ident, line.name) for line in lines[1:]] == [("1001", "Sales"), ("1002", "Renewals"),
                                                                ("1003", "Leads")]
    by_id = {line.ident: line for line in lines[1:]}
    assert by_id["1002"].state is polled and sum(by_id["1002"].by_status.values()) == 0
    assert by_id["1002"].figures.drop_rate == pytest.approx(0.1)
    assert by_id["1003"].state is None and by_id["1003"].figures is None


def test_without_an_account_answer_the_account_line_is_empty():
    never_polled = View(states=MappingProxyType({"account": TargetState(Target("account", kind=ACCOUNT))}))
    (line,) = campaign_lines(never_polled)
    assert sum(line.by_status.values()) == 0 and line.figures is None
    (line,) = campaign_lines(View(states=MappingProxyType({})))
    assert line.state is None and line.figures is None


# --- scope names ---------------------------------------------------------------------------


def test_scope_names_in_numeric_order_then_the_others():
    result = SearchResult(campaigns=(Scope("100"), Scope("abc", "Letters"), Scope("2", "Two"), Scope("10", "Ten")))
    assert list(scope_names(result, View(states=MappingProxyType({})), CAMPAIGN).items()) == [
        ("2", "Two"), ("10", "Ten"), ("100", None), ("abc", "Letters")]


def test_a_polled_target_names_a_scope_the_answer_leaves_unnamed_but_not_one_it_names():
    result = SearchResult(agents=(agent("1", "READY", 5, queue="2009"),),
                          queues=(Scope("2001", "Main"), Scope("2002")))
    targets = [ok(Target(f"queue:{ident}", queue_id=ident, kind=QUEUE, queue_name=name), SearchResult())
               for ident, name in (("2001", "Old name"), ("2002", "Spanish"), ("2004", "Polled only"))]
    names = scope_names(result, account_view(result, *targets), QUEUE)
    assert names == {"2001": "Main", "2002": "Spanish", "2004": "Polled only", "2009": None}
    assert list(names) == ["2001", "2002", "2004", "2009"]


def test_the_fold_value_is_not_a_scope():
    result = SearchResult(agents=(agent("1", "READY", 5, campaign=FOLDED), agent("2", "READY", 5)))
    lines = campaign_lines(account_view(result))
    assert [line.ident for line in lines] == [None, "1001"]
    assert sum(lines[0].by_status.values()) == 2  # the folded agent is still counted for the account


def test_an_id_of_digits_int_cannot_read_is_listed_with_the_other_ids():
    # "²".isdigit() is True and int("²") raises: the landing page and the JSON were 500s.
    answer_doc = {"agents": [{"user_id": "1", "campaign_id": "²", "queue_id": "٣", "status": "READY"},
                             {"user_id": "2", "campaign_id": "7", "queue_id": "12", "status": "READY"}]}
    result = parse_search(answer_doc)
    view_ = account_view(result)
    assert [line.ident for line in campaign_lines(view_)] == [None, "7", "²"]
    assert list(scope_names(result, view_, QUEUE)) == ["12", "٣"]


# --- the API's counts against ours ------------------------------------------------------


def test_count_check_lists_the_targets_whose_figures_differ_and_only_those():
    states = floor_states()
    check = count_check(view(states))
    assert check.compared == 4 and not check.agree  # the custom target has not answered
    # The floor's account lists user 100002 twice (READY, then INCALL): its own figures count both
    # entries, we count the user once. Its campaign 1001 answer does too; 1002 and queue 2002 agree.
    assert [(target, [(gap.figure, gap.difference) for gap in gaps]) for target, gaps in check.gaps] == [
        ("account", [("total", 1), ("incall", 1)]),
        ("campaign:1001", [("total", 1), ("incall", 1)]),
    ]


def test_count_check_agrees_when_every_answer_counts_as_we_do():
    distinct = tuple({a.user_id: a for a in reversed(ACCOUNT_AGENTS)}.values())  # first entries win
    check = count_check(account_view(answer(distinct, 0, 0, 0, 0)))
    assert check.compared == 1 and check.agree and check.gaps == ()
    assert count_check(view({})).compared == 0


def test_convoso_counts_beside_ours_come_from_the_scopes_user_activity_target_alone():
    states = with_service_counts(floor_states())
    current = view(states)
    assert service_counts(current, "account", NOW) == ServiceCounts(8, 3, NOW - 3, True)
    assert service_counts(current, "campaign:1001", NOW) == ServiceCounts(4, None, NOW - 200, False)
    assert service_counts(current, "campaign:1002", NOW) is None  # not polled beside it
    assert service_counts(view(floor_states()), "account", NOW) is None
    # The optional endpoints' targets are no search: the count check leaves them out.
    assert count_check(current).compared == count_check(view(floor_states())).compared == 4
    assert [state.target.name for state in current.searches()] == list(floor_states())
