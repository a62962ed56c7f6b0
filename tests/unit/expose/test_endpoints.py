"""expose/endpoints.py: what the optional endpoints' targets publish, under their scope's
name and never their own: Convoso's counts of a scope's agents, a campaign's day figures
and their counters (glitches from 0), each agent's day figures once (with agent_metrics,
bounded), nothing while stale but the glitches, nothing for an unpublished target."""

from __future__ import annotations

import dataclasses

from convoso_exporter.api.endpoints.activity import UserActivity
from convoso_exporter.api.endpoints.performance import AgentDay, PerformanceAnswer
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.expose.endpoints import endpoint_families
from convoso_exporter.poll.state import TargetState
from tests.unit.expose.support import INFO, NOW, names, renderer, value

DAY = "2023-11-14"
SALES = Target("performance:campaign:1", campaign_id="1", kind="performance", interval=300.0, scope="campaign:1")
AGENTS = Target("performance:account", kind="performance", interval=300.0, scope="account")
ACTIVITY = Target("user_activity:campaign:1", campaign_id="1", kind="user_activity", interval=60.0,
                  scope="campaign:1")
ROWS = (AgentDay("7", (3, 1, 4, 600, 120, 60, 30)), AgentDay("5", (2, None, 2, 300, 60, 0, 15)),
        AgentDay(None, (1, 1, 2, 10, 10, 10, 10)))


def polled(target: Target, *answers, age: float = 10.0) -> TargetState:
    """The target's state after polls with `answers`, the last `age` seconds ago."""
    state, deriver = TargetState(target, stale_after=900.0), Deriver()
    for i, answer in enumerate(answers):
        wall = NOW - age - 60 * (len(answers) - 1 - i)
        state = state.succeeded(answer, wall=wall, duration=0.1, derived=deriver.advance(target, state.derived,
                                                                                        answer, wall))
    return state


def render(*states, **options) -> bytes:
    return renderer(**options).render(list(states), ApiStats(), NOW, INFO).body


def test_a_campaigns_figures_today_and_counted_under_its_scopes_name():
    before = PerformanceAnswer(DAY, (AgentDay("7", (1, 0, 1, 100, 100, 0, 0)),))
    body = render(polled(SALES, before, PerformanceAnswer(DAY, ROWS)))
    target = "campaign:1"
    assert value(body, "convoso_campaign_live_answered_today", target=target) == 6
    assert value(body, "convoso_campaign_machine_answered_today", target=target) == 2  # 5's am not sent
    assert value(body, "convoso_campaign_agent_calls_today", target=target) == 8
    assert value(body, "convoso_campaign_agent_seconds_today", target=target, activity="talk") == 910
    assert value(body, "convoso_campaign_live_answered_total", target=target) == 5  # 6 - 1
    assert value(body, "convoso_campaign_agent_seconds_total", target=target, activity="wait") == 90
    assert value(body, "convoso_exporter_performance_glitches_total", target=target, kind="decrease") == 0
    assert not any(name.startswith("convoso_agent_") for name in names(body))
    assert "convoso_up" not in names(body) and "performance:campaign:1" not in body.decode()


def test_stale_it_keeps_only_its_glitches_and_unpublished_it_has_nothing():
    stale = polled(SALES, PerformanceAnswer(DAY, ROWS), age=1000.0)
    assert names(render(stale)) >= {"convoso_exporter_performance_glitches_total"}
    assert not any(name.startswith("convoso_campaign_") for name in names(render(stale)))
    hidden = dataclasses.replace(stale, target=dataclasses.replace(SALES, publish=False))
    assert endpoint_families(hidden, NOW, True, 10) == []


def test_each_agent_once_from_the_accounts_answer_with_agent_metrics_and_bounded():
    state = polled(AGENTS, PerformanceAnswer(DAY, ROWS))
    body = render(state)
    assert value(body, "convoso_agent_live_answered_today", user_id="7") == 3
    assert value(body, "convoso_agent_machine_answered_today", user_id="5") is None  # not sent: no sample
    assert value(body, "convoso_agent_activity_seconds_today", user_id="5", activity="wrap") == 15
    assert not any(name.startswith("convoso_campaign_") for name in names(body))
    families = endpoint_families(state, NOW, True, 1)  # the lowest user id kept
    assert {labels[0] for family in families for labels, _ in family.metrics} == {"5"}
    assert endpoint_families(state, NOW, False, 10) == []


def test_convoso_counts_a_scopes_agents_logged_in_and_available():
    body = render(polled(ACTIVITY, UserActivity(logged_in=31, available=None)))
    assert value(body, "convoso_user_activity_agents", target="campaign:1", state="logged_in") == 31
    assert value(body, "convoso_user_activity_agents", target="campaign:1", state="available") is None
