"""convoso_exporter.poll.plan: which targets a replica polls, and what that costs."""

from __future__ import annotations

import pytest

from convoso_exporter.config.schema import (
    Config,
    DiscoverySettings,
    PerformanceSettings,
    Target,
    UserActivitySettings,
)
from convoso_exporter.poll.plan import (
    ACCOUNT_NAME,
    budget_per_minute,
    calls_per_minute,
    plan,
    same_plan,
    stretch_priority,
)
from convoso_exporter.shard import shard_of

DISCOVERED = tuple(
    Target(f"campaign:{i}", campaign_id=str(i), kind="campaign", interval=60.0) for i in range(1000, 1020)
) + tuple(Target(f"queue:{i}", queue_id=str(i), kind="queue", interval=60.0) for i in range(2000, 2040))
EXPLICIT = (Target("spanish", skills=("spanish",)), Target("vip", user_id="7"))
SEARCH_ONLY = Config(performance=PerformanceSettings(enabled=False), user_activity=UserActivitySettings(enabled=False))


def test_account_then_discovered_then_explicit():
    config = Config(targets=EXPLICIT)
    targets = plan(config, DISCOVERED, None)
    assert targets[0].name == ACCOUNT_NAME and targets[0].kind == "account" and targets[0].publish
    assert targets[0].filters() == {} and targets[0].interval is None
    searches = len(DISCOVERED + EXPLICIT) + 1
    assert targets[1:searches] == DISCOVERED + EXPLICIT
    # Then the optional endpoints' calls beside the account and each campaign (not queues,
    # not the config's slices): user-activity, then agent-performance.
    beside = [(t.kind, t.scope) for t in targets[searches:]]
    campaigns = [t.name for t in DISCOVERED if t.kind == "campaign"]
    assert beside == [("user_activity", s) for s in [ACCOUNT_NAME, *campaigns]] + [
        ("performance", s) for s in [ACCOUNT_NAME, *campaigns]]


def test_the_budget_of_a_2000_agent_20_campaign_40_queue_account():
    # Before the optional endpoints (search only): 4 account + 60 scopes a minute.
    assert budget_per_minute(plan(SEARCH_ONLY, DISCOVERED, None), 15.0) == 4 + 60
    # With both on at their defaults: user-activity beside the account (15 s) and each of
    # the 20 campaigns (60 s), agent-performance of the account and of each campaign every 5 min.
    assert budget_per_minute(plan(Config(), DISCOVERED, None), 15.0) == pytest.approx(4 + 60 + 24 + 21 * 0.2)
    assert budget_per_minute(plan(Config(targets=EXPLICIT), DISCOVERED, None), 15.0) == pytest.approx(92.2 + 8)


def test_calls_per_minute_by_kind_and_the_order_kinds_give_up_their_interval():
    targets = plan(Config(targets=EXPLICIT), DISCOVERED, None)
    assert calls_per_minute(targets, 15.0) == pytest.approx(
        {"account": 4, "campaign": 20, "queue": 40, "custom": 8, "user_activity": 24, "performance": 4.2})
    # Discovered scopes (and any kind not listed, such as a future endpoint's) first, the account last.
    assert [stretch_priority(k) for k in ("campaign", "queue", "agent_performance", "custom", "account")] == [
        0, 0, 0, 1, 2]


def test_shards_split_everything_and_publish_each_series_once():
    config = Config(targets=EXPLICIT)
    shards = [plan(config, DISCOVERED, (i, 3)) for i in range(3)]
    published = [t.name for targets in shards for t in targets if t.publish]
    assert sorted(published) == sorted(t.name for t in plan(config, DISCOVERED, None))
    owner = shard_of(ACCOUNT_NAME, 3)
    # An optional endpoint's figures carry their scope's label: they go with the scope.
    for index, targets in enumerate(shards):
        mine = {t.name for t in targets if t.publish and t.scope is None}
        assert {t.scope for t in targets if t.scope is not None} <= mine
        assert all(t.publish for t in targets if t.scope is not None)
    for index, targets in enumerate(shards):
        account = targets[0]
        assert account.name == ACCOUNT_NAME  # every replica needs it for discovery
        assert account.publish == (index == owner)
        assert account.interval == (None if index == owner else config.discovery.interval)


def test_without_discovery_other_shards_skip_the_account():
    config = Config(discovery=DiscoverySettings(enabled=False), targets=EXPLICIT)
    owner = shard_of(ACCOUNT_NAME, 2)
    other = plan(config, (), (1 - owner, 2))
    assert ACCOUNT_NAME not in [t.name for t in other]
    assert plan(config, (), (owner, 2))[0].name == ACCOUNT_NAME


def test_same_plan_sees_names_that_equality_ignores():
    a = Target("campaign:1", campaign_id="1", kind="campaign", campaign_name="Old")
    b = Target("campaign:1", campaign_id="1", kind="campaign", campaign_name="New")
    assert a == b
    assert same_plan([a], [a]) and not same_plan([a], [b]) and not same_plan([a], [])


def test_an_endpoint_off_or_probed_after_a_refusal():
    config = Config()
    campaigns = [t.name for t in DISCOVERED if t.kind == "campaign"]
    off = plan(config, DISCOVERED, None, {"user_activity": True})
    assert {t.kind for t in off} == {"account", "campaign", "queue", "user_activity"}
    probe = plan(config, DISCOVERED, None, {"performance": False})
    assert [(t.kind, t.scope) for t in probe if t.scope is not None] == [("performance", ACCOUNT_NAME)]
    no_agents = plan(Config(agent_metrics=False), DISCOVERED, None)
    assert [t.scope for t in no_agents if t.kind == "performance"] == campaigns
    assert plan(SEARCH_ONLY, DISCOVERED, None) == plan(config, DISCOVERED, None, {})
