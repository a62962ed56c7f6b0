"""convoso_exporter.demo: the preset config (the account polled, every campaign and queue
discovered, no target list) and the simulator it starts in-process on loopback, with a
fresh random token per run."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.config.schema import Config, ConvosoSettings, DiscoverySettings
from convoso_exporter.demo import DEMO_AGENTS, DEMO_DISCOVERY_INTERVAL, DEMO_POLL_INTERVAL, demo_config, start_demo


def test_the_demo_polls_every_5s_and_its_discovered_targets_every_15s():
    assert (DEMO_AGENTS, DEMO_POLL_INTERVAL, DEMO_DISCOVERY_INTERVAL) == (60, 5.0, 15.0)


def test_the_preset_config_points_at_the_simulator_and_discovers_everything():
    config = demo_config("http://127.0.0.1:4321/v1", "tok-Zq9Xw7")
    assert config.convoso == ConvosoSettings(
        base_url="http://127.0.0.1:4321/v1", auth_token="tok-Zq9Xw7", timeout=5.0, concurrency=4, max_backoff=20.0,
    )
    assert config.convoso.max_response_bytes == 32 * 1024 * 1024  # the default, as a new user's config
    assert config.poll_interval == 5.0
    assert config.targets == ()  # no target list: the account is polled and its scopes discovered
    assert config.discovery == DiscoverySettings(interval=15.0)
    assert config.discovery.enabled and config.discovery.campaigns and config.discovery.queues
    assert (config.timezone, config.agent_metrics, config.agent_names) == ("UTC", True, True)


def test_the_preset_config_never_shows_its_token():
    config = demo_config("http://127.0.0.1:4321/v1", "tok-Zq9Xw7")
    assert "tok-Zq9Xw7" not in repr(config) and "tok-Zq9Xw7" not in str(config)


async def search(client: httpx.AsyncClient, base_url: str, token: str) -> dict:
    response = await client.post(f"{base_url}/agent-monitor/search", data={"auth_token": token})
    assert response.status_code == 200
    return response.json()


def test_start_demo_serves_a_60_agent_center_on_loopback_with_a_random_token():
    async def main():
        sim, config = await start_demo()
        url, token = sim.base_url, config.convoso.auth_token
        try:
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", sim.base_url) and sim.port > 0
            assert isinstance(config, Config) and config == demo_config(sim.base_url, token)
            assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)  # 16 random bytes, URL-safe
            state = sim.state()
            assert (len(state["agents"]), len(state["campaigns"]), len(state["queues"])) == (60, 3, 4)
            async with httpx.AsyncClient(timeout=5.0) as client:
                answer = await search(client, sim.base_url, token)
                assert len(answer["agents"]) == 60 and answer["agent_total"] == 60
                refused = await search(client, sim.base_url, token + "x")
                assert refused == {"success": False, "error": "Invalid authentication token"}
        finally:
            await sim.close()
        return url, token

    first_url, first_token = asyncio.run(main())
    _, second_token = asyncio.run(main())
    assert first_token != second_token  # no fixed credential
    with pytest.raises(httpx.ConnectError):  # closed: nothing listens there any more
        httpx.post(f"{first_url}/agent-monitor/search", timeout=2.0)


def test_the_exporters_client_reads_the_demo_with_the_preset_config():
    async def main():
        sim, config = await start_demo(agents=8, seed=3)
        try:
            async with ConvosoClient.from_settings(config.convoso) as client:
                result = await client.search()
                one_queue = await client.search(queue_id=sim.state()["queues"][0]["queue_id"])
        finally:
            await sim.close()
        return sim, result, one_queue

    sim, result, one_queue = asyncio.run(main())
    assert len(result.agents) == 8 and result.agent_total == 8
    assert len(one_queue.agents) <= 8
    assert sim.requests_served == 2


def test_agents_and_seed_are_passed_to_the_center():
    async def centers():
        built = []
        for seed in (11, 11, 12):
            sim, _ = await start_demo(agents=6, seed=seed)
            await sim.close()
            built.append(sim.state())
        return built

    same, again, other = asyncio.run(centers())
    assert len(same["agents"]) == 6 and len(same["campaigns"]) == 3 and len(same["queues"]) == 4
    assert (same["campaigns"], same["queues"]) == (again["campaigns"], again["queues"])
    assert same["campaigns"] != other["campaigns"]  # another seed, other campaigns


def test_the_demo_flags_offer_exactly_the_simulators_styles():
    # The command line names them without importing the simulator (only the demo does).
    from convoso_exporter.cli import _run_parser
    from convoso_exporter.simulator.render import COUNT_STYLES, STYLES

    actions = {action.dest: action for action in _run_parser()._actions}
    assert tuple(actions["demo_style"].choices) == STYLES
    assert tuple(actions["demo_count_style"].choices) == tuple(COUNT_STYLES)


def test_a_live_style_demo_shows_what_the_live_service_sends_and_a_count_style_the_gap():
    from convoso_exporter.app import App, RunOptions
    from convoso_exporter.web.board import count_check

    async def main():
        sim, config = await start_demo(style="live", count_style="ringing-as-ready")
        app = App(config, RunOptions())
        try:
            await app.poll_all_once()
            return app.view(), app.render_now().body.decode()
        finally:
            await app.client.aclose()
            await sim.close()

    view, text = asyncio.run(main())
    kinds = {(entry.field, entry.kind) for entry in view.drift.entries}
    assert ("data.entries", "wrapped") in kinds and ("agents", "keyed_by_id") in kinds
    assert 'convoso_exporter_api_drift_total{endpoint="search",field="data.entries",kind="wrapped"}' in text
    ringing = sum(agent.status == "RINGING" for agent in view.states["account"].snapshot.agents)
    assert ringing > 0 and not count_check(view).agree
    assert f'convoso_exporter_count_disagreement{{figure="ready",target="account"}} {ringing:.1f}' in text
