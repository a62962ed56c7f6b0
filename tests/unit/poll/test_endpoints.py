"""poll/endpoints.py: the optional endpoints' targets beside the scopes, and whether each
endpoint is on: the config's word, a refusal (one warning, off, a probe an hour later,
back on with its answer), the statuses the pages and the gauge read."""

from __future__ import annotations

import logging

from convoso_exporter.config.schema import (
    Config,
    PerformanceSettings,
    Target,
    UserActivitySettings,
)
from convoso_exporter.poll.endpoints import (
    RETRY_SECONDS,
    EndpointStatus,
    Endpoints,
    configured,
    endpoint_targets,
)

ACCOUNT = Target("account", kind="account")
SALES = Target("campaign:1", campaign_id="1", kind="campaign", interval=60.0, campaign_name="Sales")
QUEUE = Target("queue:2", queue_id="2", kind="queue", interval=60.0)
CUSTOM = Target("vip", user_id="7")
HIDDEN = Target("account", kind="account", interval=60.0, publish=False)  # another shard publishes it


def test_beside_the_account_and_each_campaign_at_their_intervals():
    config = Config(performance=PerformanceSettings(interval=120.0))
    made = endpoint_targets(config, [ACCOUNT, SALES, QUEUE, CUSTOM], configured(config))
    assert [(t.name, t.kind, t.scope, t.interval, t.campaign_id) for t in made] == [
        ("user_activity:account", "user_activity", "account", None, None),
        ("user_activity:campaign:1", "user_activity", "campaign:1", 60.0, "1"),
        ("performance:account", "performance", "account", 120.0, None),
        ("performance:campaign:1", "performance", "campaign:1", 120.0, "1"),
    ]
    assert made[1].campaign_name == "Sales" and all(t.publish and not t.keeps_agents for t in made)
    # Not beside an account another shard publishes; the account's agent figures only with agent_metrics.
    assert endpoint_targets(config, [HIDDEN], configured(config)) == []
    for quiet in (Config(agent_metrics=False), Config(max_agents_per_target=0)):
        assert [t.name for t in endpoint_targets(quiet, [ACCOUNT, SALES], {"performance": True})] == [
            "performance:campaign:1"]


def test_the_config_turns_each_off():
    config = Config(performance=PerformanceSettings(enabled=False), user_activity=UserActivitySettings(enabled=False))
    assert configured(config) == {} and endpoint_targets(config, [ACCOUNT, SALES], configured(config)) == []
    endpoints = Endpoints(config)
    assert endpoints.polling() == {} and endpoints.enabled() == {
        "search": True, "performance": False, "user_activity": False}
    assert endpoints.statuses()[1] == EndpointStatus(
        "performance", False, "turned off in the config (performance.enabled: false)")


def test_a_refusal_turns_the_endpoint_off_with_one_warning_and_an_hourly_probe(caplog):
    now = [1000.0]
    endpoints = Endpoints(Config(), wall=lambda: now[0])
    assert endpoints.polling() == {"performance": True, "user_activity": True}
    with caplog.at_level(logging.INFO, logger="convoso_exporter.poll.endpoints"):
        endpoints.deny("performance", "performance: HTTP 403: access denied")
        now[0] += 10
        endpoints.deny("performance", "performance: HTTP 403: access denied")  # an in-flight poll's
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "tick the Agent Performance permission" in warnings[0] and "agent-monitor figures are unaffected" in warnings[0]
    assert endpoints.polling() == {"user_activity": True}
    assert endpoints.enabled() == {"search": True, "performance": False, "user_activity": True}
    status = endpoints.statuses()[1]
    assert (status.enabled, status.permission, status.since) == (False, "Agent Performance", 1000.0)
    assert status.reason == "the token lacks the Agent Performance permission: performance: HTTP 403: access denied"
    now[0] += RETRY_SECONDS
    assert endpoints.polling() == {"performance": False, "user_activity": True}  # one target: a probe
    assert endpoints.enabled()["performance"] is False  # the gauge says off until it answers
    assert endpoints.allow("performance") is True and endpoints.allow("performance") is False
    assert endpoints.polling() == {"performance": True, "user_activity": True}
    assert endpoints.enabled()["performance"] is True


def test_a_probe_refused_again_waits_another_hour():
    now = [0.0]
    endpoints = Endpoints(Config(), wall=lambda: now[0])
    endpoints.deny("user_activity", "refused")
    now[0] = RETRY_SECONDS
    assert "user_activity" in endpoints.polling()
    endpoints.deny("user_activity", "refused")
    assert "user_activity" not in endpoints.polling()
    assert endpoints.statuses()[2].since == 0.0  # the episode began at the first refusal
