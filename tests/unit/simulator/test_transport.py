"""The in-process transport: the real client gets from it what it gets over loopback,
faults included, with no socket opened."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.errors import ApiError, AuthError, ConnectionFailed, ProtocolError, RateLimited, ServerError
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator

TOKEN = "in-process-token"
URL = "http://simulator.invalid/v1"


def make_simulator(style: str = "documented") -> tuple[Simulator, FakeClock]:
    clock = FakeClock()
    center = ContactCenter(agents=25, campaigns=2, queues=3, seed=5, clock=clock, start_wall=1_767_268_800)
    return Simulator(center, token=TOKEN, style=style), clock


@pytest.mark.parametrize("style", ["documented", "live"])
def test_the_client_reads_the_same_over_the_transport_as_over_loopback(style):
    async def main():
        sim, clock = make_simulator(style)
        await sim.start("127.0.0.1", 0)
        try:
            direct = ConvosoClient(URL, TOKEN, transport=sim.transport())
            async with ConvosoClient(sim.base_url, TOKEN) as wire, direct:
                for _ in range(3):
                    clock.advance(240)
                    for filters in ({}, {"campaign_id": "1002"}, {"queue_id": "2003"}, {"skills": ["spanish"]}):
                        assert await direct.search(**filters) == await wire.search(**filters)
                user = sim.center.agent_ids()[3]
                await direct.logout(user)
                with pytest.raises(ApiError) as again:
                    await wire.logout(user)
                assert again.value.code == 6012
        finally:
            await sim.close()
        return sim

    sim = asyncio.run(main())
    assert sim.requests_served == 2 * 3 * 4 + 2 and sim.connections_opened == 1  # the loopback client's only


@pytest.mark.parametrize(
    "fault, options, error",
    [
        ("429", {"retry_after": 7}, RateLimited),
        ("500", {}, ServerError),
        ("502_html", {}, ServerError),
        ("401", {}, AuthError),
        ("truncated", {}, ProtocolError),
        ("not_json", {}, ProtocolError),
        ("reset", {}, ConnectionFailed),
    ],
)
def test_faults_reach_the_client_as_over_the_wire(fault, options, error):
    async def main():
        sim, _ = make_simulator()
        sim.set_fault(fault, times=1, **options)
        async with ConvosoClient(URL, TOKEN, transport=sim.transport()) as client:
            with pytest.raises(error) as raised:
                await client.search()
            healed = await client.search()
        return raised.value, healed

    raised, healed = asyncio.run(main())
    assert healed.agent_total == 25
    if fault == "429":
        assert raised.retry_after == 7


def test_control_endpoint_and_unknown_paths_without_a_server():
    async def main():
        sim, clock = make_simulator()
        async with httpx.AsyncClient(transport=sim.transport(), base_url="http://simulator.invalid") as client:
            body = {"action": "add", "agents": 2}
            added = (await client.post(f"/_sim/campaign?auth_token={TOKEN}", json=body)).json()
            clock.advance(60)
            state = (await client.get(f"/_sim/state?auth_token={TOKEN}")).json()
            truth = (await client.get(f"/_sim/truth?auth_token={TOKEN}")).json()
            missing = await client.post(f"/v1/agent-monitor/nothing?auth_token={TOKEN}")
        return sim, added, state, truth, missing

    sim, added, state, truth, missing = asyncio.run(main())
    assert added["campaign_id"] in [c["campaign_id"] for c in state["campaigns"]]
    assert sum(truth["agent_seconds"].values()) == 25 * 60
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert state["connections_opened"] == 0 and sim.requests_served == 0  # control and 404s are not API requests


def test_a_handler_failure_is_a_500_not_a_crash(monkeypatch, caplog):
    async def main():
        sim, _ = make_simulator()

        def broken(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(sim.center, "select", broken)
        async with httpx.AsyncClient(transport=sim.transport(), base_url="http://simulator.invalid") as client:
            return await client.post(f"/v1/agent-monitor/search?auth_token={TOKEN}")

    assert asyncio.run(main()).status_code == 500
    assert "boom" in caplog.text
