"""convoso_exporter.poll.plan: which targets a replica polls, and what that costs."""

from __future__ import annotations

from convoso_exporter.config.schema import Config, DiscoverySettings, Target
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


def test_account_then_discovered_then_explicit():
    config = Config(targets=EXPLICIT)
    targets = plan(config, DISCOVERED, None)
    assert targets[0].name == ACCOUNT_NAME and targets[0].kind == "account" and targets[0].publish
    assert targets[0].filters() == {} and targets[0].interval is None
    assert targets[1:] == DISCOVERED + EXPLICIT


def test_the_budget_of_a_2000_agent_20_campaign_40_queue_account():
    targets = plan(Config(), DISCOVERED, None)
    assert budget_per_minute(targets, 15.0) == 4 + 60
    assert budget_per_minute(plan(Config(targets=EXPLICIT), DISCOVERED, None), 15.0) == 4 + 60 + 8


def test_calls_per_minute_by_kind_and_the_order_kinds_give_up_their_interval():
    targets = plan(Config(targets=EXPLICIT), DISCOVERED, None)
    assert calls_per_minute(targets, 15.0) == {"account": 4, "campaign": 20, "queue": 40, "custom": 8}
    # Discovered scopes (and any kind not listed, such as a future endpoint's) first, the account last.
    assert [stretch_priority(k) for k in ("campaign", "queue", "agent_performance", "custom", "account")] == [
        0, 0, 0, 1, 2]


def test_shards_split_everything_and_publish_each_series_once():
    config = Config(targets=EXPLICIT)
    shards = [plan(config, DISCOVERED, (i, 3)) for i in range(3)]
    published = [t.name for targets in shards for t in targets if t.publish]
    assert sorted(published) == sorted([ACCOUNT_NAME] + [t.name for t in DISCOVERED + EXPLICIT])
    owner = shard_of(ACCOUNT_NAME, 3)
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
