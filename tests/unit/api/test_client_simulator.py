"""The real client against the real simulator over loopback: every documented field
round-trips, filters narrow the answer, logout and its error codes map to the
taxonomy, in both response styles."""

from __future__ import annotations

import asyncio
from dataclasses import fields

import pytest

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.errors import ApiError, AuthError
from convoso_exporter.api.model import Agent, CallData, SearchResult
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator

TOKEN = "round-trip-token"


async def with_simulator(style: str, work):
    center = ContactCenter(agents=30, campaigns=2, queues=3, seed=11, clock=FakeClock(0.0), start_wall=1795514400.0)
    sim = Simulator(center, token=TOKEN, style=style)
    await sim.start("127.0.0.1", 0)
    try:
        async with ConvosoClient(sim.base_url, TOKEN) as client:
            return await work(client, center, sim.base_url)
    finally:
        await sim.close()


def test_documented_style_round_trips_every_documented_field():
    async def work(client, center, base_url):
        return await client.search()

    result = asyncio.run(with_simulator("documented", work))
    assert len(result.agents) == 30
    for agent in result.agents:
        missing = [f.name for f in fields(Agent) if getattr(agent, f.name) is None]
        assert missing == [], f"agent {agent.user_id} lost {missing}"
    missing_root = [f.name for f in fields(SearchResult) if getattr(result, f.name) is None]
    assert missing_root == ["campaigns", "queues"]  # only the live style lists scopes
    assert all(getattr(result.call_data, f.name) is not None for f in fields(CallData))
    assert result.agent_total == len(result.agents)


@pytest.mark.parametrize("style", ["documented", "live"])
def test_filters_narrow_the_answer(style):
    async def work(client, center, base_url):
        campaign = center.campaign_ids()[0]
        queue = center.queue_ids()[1]
        by_campaign = await client.search(campaign_id=campaign)
        by_queue = await client.search(queue_id=queue)
        by_skill = await client.search(skills=["spanish"])
        return campaign, queue, by_campaign, by_queue, by_skill

    campaign, queue, by_campaign, by_queue, by_skill = asyncio.run(with_simulator(style, work))
    assert by_campaign.agents and {a.campaign_id for a in by_campaign.agents} == {campaign}
    # The live style leaves some queue_ids empty ("" → None); none may be another queue.
    assert by_queue.agents and {a.queue_id for a in by_queue.agents} <= {queue, None}
    assert by_skill.agents and all("spanish" in (a.skill_options or ()) for a in by_skill.agents)


def test_unknown_ids_and_logout_errors_map_to_api_errors():
    async def work(client, center, base_url):
        codes = []
        for kwargs in ({"campaign_id": "999999"}, {"queue_id": "999999"}, {"user_id": "999999"}):
            with pytest.raises(ApiError) as err:
                await client.search(**kwargs)
            codes.append(err.value.code)
        user = center.agent_ids()[0]
        await client.logout(user)
        with pytest.raises(ApiError) as again:
            await client.logout(user)
        codes.append(again.value.code)
        return codes

    assert asyncio.run(with_simulator("documented", work)) == [6026, 6041, 6006, 6012]


def test_wrong_token_is_an_auth_error_without_the_token():
    async def work(client, center, base_url):
        async with ConvosoClient(base_url, "not-the-token-xyz") as wrong:
            with pytest.raises(AuthError) as err:
                await wrong.search()
        return err.value

    error = asyncio.run(with_simulator("documented", work))
    assert "not-the-token-xyz" not in str(error) + repr(error)

