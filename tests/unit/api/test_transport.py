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


def test_a_proxy_the_environment_names_is_used_and_no_proxy_is_honoured(monkeypatch):
    """HTTP_PROXY routes the API through a forward proxy (here, one that answers itself
    and records the absolute URI it was asked for); NO_PROXY bypasses it."""
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        seen.append(head.split(b"\r\n")[0])
        body = b'{"agents": [], "agent_total": 7}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    async def scenario(no_proxy: str) -> int | None:
        server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("NO_PROXY", no_proxy)
        try:
            async with ConvosoClient("http://api.convoso.invalid/v1", TOKEN, timeout=5) as client:
                try:
                    return (await client.search()).agent_total
                except Exception:
                    return None
        finally:
            server.close()

    assert run(scenario("")) == 7
    assert seen and seen[0].startswith(b"POST http://api.convoso.invalid/v1/agent-monitor/search?")
    seen.clear()
    assert run(scenario("api.convoso.invalid")) is None  # bypassed: resolving .invalid fails
    assert seen == []
