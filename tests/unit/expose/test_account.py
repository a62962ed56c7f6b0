"""convoso_exporter.expose.account: the breakdown, the scope names and the per-agent
series, from the account-wide answer only."""

from __future__ import annotations

from convoso_exporter.api.model import COMMON_STATUSES, Scope, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import Target
from convoso_exporter.derive.history import Deriver
from tests.unit.expose.support import (
    ACCOUNT_FAMILIES,
    INFO,
    NOW,
    PER_AGENT,
    STALE_AFTER,
    account,
    agent,
    api_stats,
    families,
    hostile_states,
    names,
    reference,
    renderer,
    samples,
    state,
    value,
)


def cells(body: bytes) -> dict[tuple[str, str, str], float]:
    return {
        (d["campaign_id"], d["queue_id"], d["status"]): v
        for (name, labels), v in samples(body).items()
        if name == "convoso_agents"
        for d in [dict(labels)]
    }


def test_the_breakdown_adds_up_to_the_agents_in_the_answer():
    agents = (
        agent("1", "READY", campaign_id="111", queue_id="222"),
        agent("2", "INCALL", campaign_id="111", queue_id="222"),
        agent("3", "INCALL", campaign_id="111", queue_id="223"),
        agent("4", "LUNCH", campaign_id="112", queue_id="224"),
        agent("5", None, campaign_id="112", queue_id="224"),  # no status: still counted
        agent("6", "PAUSED"),  # no campaign, no queue
        agent(None, "READY", campaign_id="111", queue_id="222"),  # no id: cannot be told apart, counted
        agent("1", "WRAP", campaign_id="111", queue_id="222"),  # a repeat of 1: counted once
    )
    body = renderer().render([account(agents)], ApiStats(), NOW, INFO).body
    breakdown = cells(body)
    assert sum(breakdown.values()) == 7
    assert breakdown[("111", "222", "READY")] == 2 and breakdown[("111", "222", "WRAP")] == 0
    assert breakdown[("111", "223", "INCALL")] == 1
    assert breakdown[("112", "224", "LUNCH")] == 1 and breakdown[("112", "224", "")] == 1
    assert breakdown[("", "", "PAUSED")] == 1
    # Every (campaign, queue) pair has every common status, 0 when nobody is in it.
    for pair in (("111", "222"), ("111", "223"), ("112", "224"), ("", "")):
        assert {status for (c, q, status) in breakdown if (c, q) == pair} >= set(COMMON_STATUSES)
    # Summed over any label, the breakdown agrees with itself.
    by_status: dict[str, float] = {}
    for (_, _, status), count in breakdown.items():
        by_status[status] = by_status.get(status, 0) + count
    assert sum(by_status.values()) == 7 and by_status["INCALL"] == 2


def test_only_the_account_publishes_the_breakdown_and_per_agent_series():
    shared = (agent("1", campaign_id="111"), agent("2", "INCALL", campaign_id="111"))
    # Two overlapping custom slices and the account, all listing the same agents.
    states = [account(shared), state("sales", shared), state("sales-english", shared)]
    body = renderer().render(states, ApiStats(), NOW, INFO).body  # samples() fails on a duplicate series
    assert sum(cells(body).values()) == 2
    users = [dict(labels)["user_id"] for (name, labels) in samples(body) if name == "convoso_agent_info"]
    assert sorted(users) == ["1", "2"]
    assert value(body, "convoso_target_agents", target="sales", status="INCALL") == 1


def test_without_the_account_there_is_no_breakdown():
    body = renderer().render([state("sales", (agent("1"),))], ApiStats(), NOW, INFO).body
    assert not names(body) & (ACCOUNT_FAMILIES | PER_AGENT)


def test_campaign_and_queue_names_from_the_lists_and_the_agents():
    snapshot = SearchResult(
        agents=(agent("1", campaign_id="111", campaign_name="From agent", queue_id="222", queue_name="Main"),
                agent("2", campaign_id="113", queue_id="223")),
        campaigns=(Scope("111", "Sales"), Scope("112")),
        queues=(Scope("222"),),
    )
    body = renderer().render([account(snapshot=snapshot)], ApiStats(), NOW, INFO).body
    campaigns = {dict(l)["campaign_id"]: dict(l)["campaign_name"] for (n, l) in samples(body) if n == "convoso_campaign_info"}
    queues = {dict(l)["queue_id"]: dict(l)["queue_name"] for (n, l) in samples(body) if n == "convoso_queue_info"}
    assert campaigns == {"111": "Sales", "112": "", "113": ""}
    assert queues == {"222": "Main", "223": ""}


def test_per_agent_series_carry_no_target_and_names_can_be_left_out():
    agents = (agent("7", "PAUSED", status_time_sec=600, calls_today=9, total_calls=3, user_full_name="Jane Roe",
                    extension="1001", campaign_id="111", queue_id="222", connection_type="softphone"),)
    named = renderer().render([account(agents)], ApiStats(), NOW, INFO).body
    assert value(named, "convoso_agent_status_time_seconds", user_id="7", status="PAUSED") == 600
    assert value(named, "convoso_agent_calls_today", user_id="7") == 9
    assert value(named, "convoso_agent_session_calls", user_id="7") == 3
    info = dict(user_id="7", user_full_name="Jane Roe", extension="1001", campaign_id="111", queue_id="222",
                connection_type="softphone")
    assert value(named, "convoso_agent_info", **info) == 1
    anonymous = renderer(agent_names=False).render([account(agents)], ApiStats(), NOW, INFO).body
    assert value(anonymous, "convoso_agent_info", **{**info, "user_full_name": ""}) == 1
    assert b"Jane Roe" not in anonymous


def test_per_agent_series_are_truncated_to_the_lowest_user_ids():
    agents = tuple(agent(uid, status_time_sec=int(uid)) for uid in ("50", "10", "40", "20", "30")) + (agent(None),)
    body = renderer(max_agents_per_target=3).render([account(agents)], ApiStats(), NOW, INFO).body
    users = {dict(labels)["user_id"] for (name, labels) in samples(body) if name == "convoso_agent_status_time_seconds"}
    assert users == {"10", "20", "30"}
    assert value(body, "convoso_exporter_agents_truncated") == 2
    # The breakdown still counts every agent, the one without a user id included.
    assert sum(cells(body).values()) == 6


def test_duplicate_user_ids_keep_the_first_and_never_duplicate_series():
    agents = (
        agent("7", "READY", status_time_sec=12, calls_today=3),
        agent("5", "PAUSED"),
        agent("7", "INCALL", status_time_sec=99, calls_today=50),
        agent("7", "READY", status_time_sec=13),
    )
    body = renderer().render([account(agents)], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_agent_status_time_seconds", user_id="7", status="READY") == 12
    assert value(body, "convoso_agent_status_time_seconds", user_id="7", status="INCALL") is None
    assert value(body, "convoso_agent_calls_today", user_id="7") == 3
    assert cells(body)[("", "", "READY")] == 1 and cells(body)[("", "", "INCALL")] == 0
    assert value(body, "convoso_exporter_agents_truncated") == 0


def test_agents_without_user_id_or_status_get_no_per_agent_status_series():
    body = renderer().render([account((agent(None), agent(""), agent("5", None)))], ApiStats(), NOW, INFO).body
    assert [dict(labels)["user_id"] for (name, labels) in samples(body) if name == "convoso_agent_info"] == ["5"]
    assert value(body, "convoso_agent_status_time_seconds", user_id="5", status="") is None
    assert value(body, "convoso_agent_calls_today", user_id="5") == 4


def test_agent_metrics_off_keeps_the_breakdown():
    states = hostile_states()
    r = renderer(agent_metrics=False)
    body = r.render(states, api_stats(), NOW, INFO).body
    assert not names(body) & PER_AGENT
    assert ACCOUNT_FAMILIES <= names(body)
    assert body == reference(families(r, states, api_stats(), NOW, INFO))


def test_the_account_breakdown_goes_stale_like_any_data():
    body = renderer().render([account((agent("1"),), age=STALE_AFTER + 1)], ApiStats(), NOW, INFO).body
    assert not names(body) & (ACCOUNT_FAMILIES | PER_AGENT)
    assert value(body, "convoso_up", target="account") == 1


def test_the_account_target_is_a_target_like_the_others():
    body = renderer().render([account((agent("1"),))], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_target_info", target="account", kind="account", campaign_id="", campaign_name="",
                 queue_id="", queue_name="", user_id="", skills="") == 1
    assert value(body, "convoso_agent_count", target="account") == 1
    assert Target("account", kind="account").filters() == {}


def test_a_gone_campaigns_agent_time_is_published_for_three_discovery_intervals_then_not():
    deriver, derived = Deriver(discovery_interval=10.0), None  # kept 30 s after its last increase
    moved = (agent("1", "READY", campaign_id="222", queue_id="9", status_time_sec=4),)
    answers = [(NOW - 45, (agent("1", "READY", campaign_id="111", queue_id="8", status_time_sec=1),)),
               (NOW - 30, moved), (NOW, moved), (NOW + 0.5, moved)]
    published = []
    for wall, agents in answers:
        derived = deriver.advance(Target("account", kind="account"), derived, SearchResult(agents=agents), wall)
        body = renderer().render([account(agents, derived=derived, age=0)], ApiStats(), wall, INFO).body
        published.append(value(body, "convoso_agents_status_seconds_total", campaign_id="111", queue_id="8",
                               status="READY"))
    # 11 s in 111 before the move; the same 11 until 30 s after it, then the series is gone.
    assert published == [0.0, 11.0, 11.0, None]
