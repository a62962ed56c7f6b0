"""convoso_exporter.check: one real search per target, against the simulator over loopback."""

from __future__ import annotations

import asyncio
import io

import pytest

from convoso_exporter.check import check, report
from convoso_exporter.config.schema import (
    Config,
    ConvosoSettings,
    DiscoverySettings,
    PerformanceSettings,
    Target,
    UserActivitySettings,
)
from convoso_exporter.simulator import ContactCenter, Simulator
from tests.support import free_port

TOKEN = "check-T0KEN-s3cret"
BROKEN = (
    Target("ghost-campaign", campaign_id="9999"),
    Target("ghost-queue", queue_id="8888"),
    Target("nobody", user_id="1"),
)


async def run_check(targets, *, token: str = TOKEN, discovery: bool = True, max_requests_per_minute: int = 300,
                    endpoints: bool = True, deny: tuple[str, ...] = ()) -> tuple[int, str]:
    sim = Simulator(ContactCenter(agents=20, campaigns=2, queues=3, seed=4), token=TOKEN, deny=deny)
    await sim.start("127.0.0.1", 0)
    try:
        config = Config(
            convoso=ConvosoSettings(base_url=sim.base_url, auth_token=token, timeout=5.0,
                                    max_requests_per_minute=max_requests_per_minute),
            discovery=DiscoverySettings(enabled=discovery),
            performance=PerformanceSettings(enabled=endpoints),
            user_activity=UserActivitySettings(enabled=endpoints),
            targets=tuple(targets),
        )
        outcomes, budget = await check(config)
    finally:
        await sim.close()
    out = io.StringIO()
    return report(outcomes, budget, out), out.getvalue()


def lines_of(text: str) -> dict[str, str]:
    return {line.split()[0]: line for line in text.splitlines() if line.strip()}


def test_every_target_working_exits_0_with_the_account_and_what_discovery_found():
    code, text = asyncio.run(run_check([Target("spanish", skills=("spanish",))]))
    assert code == 0, text
    names = [line.split()[0] for line in text.splitlines()[1:] if line.strip() and not line.startswith(("API", "All"))]
    assert names == ["account", "campaign:1001", "campaign:1002", "queue:2001", "queue:2002", "queue:2003", "spanish",
                     "user_activity:account", "user_activity:campaign:1001", "user_activity:campaign:1002",
                     "performance:account", "performance:campaign:1001", "performance:campaign:1002"]
    lines = lines_of(text)
    assert lines["account"].split()[1:3] == ["account", "20"]
    # Convoso's logged-in count; agent-performance: the agents with a row today.
    assert lines["user_activity:account"].split()[1] == "user_activity" and lines["user_activity:account"].endswith("OK")
    assert lines["performance:account"].split()[1:3] == ["performance", "20"]
    # 60/15 for the account, the slice and the account's user-activity, 60/60 for each of the
    # 5 discovered targets and the 2 campaigns' user-activity, 60/300 for the 3 agent-performance.
    assert ("API calls per minute this config implies: 19.6, within the ceiling of 300 "
            "(convoso.max_requests_per_minute)") in text
    assert "All 13 targets work." in text


def test_a_config_over_the_ceiling_is_told_what_would_be_stretched_and_what_to_do():
    # 4 + 4 + 5 × 1 a minute against 10: the 5 discovered scopes give up 3 of their 5 calls.
    code, text = asyncio.run(run_check([Target("spanish", skills=("spanish",))], max_requests_per_minute=10,
                                       endpoints=False))
    assert code == 0, text
    assert ("API calls per minute this config implies: 13.0, over the ceiling of 10 "
            "(convoso.max_requests_per_minute): campaign and queue intervals stretched x2.5; custom and account "
            "as configured; raise convoso.max_requests_per_minute, or lengthen discovery.interval / poll_interval"
            ) in text


def test_broken_targets_are_named_with_what_to_do_and_exit_1():
    code, text = asyncio.run(run_check([Target("spanish", skills=("spanish",)), *BROKEN], discovery=False))
    assert code == 1
    lines = lines_of(text)
    assert lines["spanish"].endswith("OK") and lines["account"].endswith("OK")
    assert "6026" in lines["ghost-campaign"] and "check campaign_id" in lines["ghost-campaign"]
    assert "6041" in lines["ghost-queue"] and "check queue_id" in lines["ghost-queue"]
    assert "6006" in lines["nobody"] and "check user_id" in lines["nobody"]
    assert "3 of 7 targets failed." in text  # the account's user-activity and agent-performance work


def test_a_wrong_token_says_so_and_never_shows_a_token():
    code, text = asyncio.run(run_check([], token="wrong-T0KEN-s3cret"))
    assert code == 1
    assert "the API refused the token" in text
    assert "T0KEN" not in text


@pytest.mark.parametrize("discovery", [True, False])
def test_without_a_working_account_there_is_no_discovery_round(discovery):
    code, text = asyncio.run(run_check([], token="nope", discovery=discovery))
    assert code == 1 and "campaign:" not in text


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        ("http://127.0.0.1:{port}/v1", "FAILED: search: connection refused by 127.0.0.1:{port}; is the API up and is "
                                       "base_url right?"),
        ("https://api.convoso.invalid/v1", "FAILED: search: cannot resolve host api.convoso.invalid (DNS: "),
    ],
    ids=["refused", "dns"],
)
def test_an_unreachable_api_is_named_by_host_and_port_with_what_to_check(base_url, says):
    # The message already says what to check: no second, generic advice after it.
    port = free_port()
    config = Config(convoso=ConvosoSettings(base_url=base_url.format(port=port), auth_token=TOKEN, timeout=5.0))
    out = io.StringIO()
    assert report(*asyncio.run(check(config)), out) == 1
    line = lines_of(out.getvalue())["account"]
    assert says.format(port=port) in line and " -> " not in line
    assert "T0KEN" not in out.getvalue()


def test_a_token_without_the_agent_performance_permission_is_told_which_to_tick():
    code, text = asyncio.run(run_check([], deny=("performance",)))
    assert code == 1
    lines = lines_of(text)
    refused = [name for name in lines if name.startswith("performance:")]
    assert refused == ["performance:account", "performance:campaign:1001", "performance:campaign:1002"]
    for name in refused:
        assert "tick the Agent Performance permission for this token in Convoso" in lines[name]
        assert "performance.enabled: false" in lines[name]
    assert all(line.endswith("OK") for name, line in lines.items() if name.startswith(("account", "campaign:",
                                                                                      "user_activity:")))
    assert "3 of 12 targets failed." in text and "T0KEN" not in text  # no spanish slice here
