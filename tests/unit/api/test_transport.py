"""A response belongs to its request (convoso_exporter/api/transport.py), over real sockets:
a hostile server that writes more than one response per request must never have the
extra bytes read as the answer to the next request on the pooled connection."""

from __future__ import annotations

import asyncio

import pytest

from convoso_exporter.api.client import ConvosoClient
from tests.hostile import Asked, agent, answer, hostile

TOKEN = "transport-T0ken"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


def own_answer(asked: Asked) -> bytes:
    return answer([agent(f"own-{asked.campaign}", campaign_id=asked.campaign)])


def chunked(body: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


UNREQUESTED = answer([agent("EVIL", campaign_id="666")])
# How the first answer is framed, each followed in the same write by a second response.
FRAMINGS = {
    "content-length": lambda asked: own_answer(asked) + UNREQUESTED,
    "chunked": lambda asked: chunked(b'{"agents": [{"user_id": "own-1"}]}') + UNREQUESTED,
    "stray bytes": lambda asked: own_answer(asked) + b"\r\n\r\n",
}


@pytest.mark.parametrize("framing", FRAMINGS)
def test_bytes_left_over_after_a_response_are_never_the_next_answer(framing):
    """Fails before api/transport.py: the second search got `EVIL`, the unrequested
    response the server wrote after the first answer, on the reused connection."""

    def handler(asked: Asked) -> bytes:
        if asked.campaign == "1":
            return FRAMINGS[framing](asked)
        return own_answer(asked)

    async def scenario() -> tuple[list[str], list[str], int]:
        async with hostile(handler) as server:
            async with ConvosoClient(server.base_url, TOKEN, concurrency=1) as client:
                first = await client.search(campaign_id="1")
                second = await client.search(campaign_id="2")
            return [a.user_id for a in first.agents], [a.user_id for a in second.agents], server.connections

    first, second, connections = run(scenario())
    assert first == ["own-1"]
    assert second == ["own-2"], "the next request was answered with bytes left over from the previous one"
    assert connections == 2, "the connection with bytes left over was reused"


def test_clean_answers_keep_the_connection_alive():
    async def scenario() -> int:
        async with hostile(own_answer) as server:
            async with ConvosoClient(server.base_url, TOKEN, concurrency=1) as client:
                for campaign in ("1", "2", "3"):
                    result = await client.search(campaign_id=campaign)
                    assert [a.user_id for a in result.agents] == [f"own-{campaign}"]
            return server.connections

    assert run(scenario()) == 1
