"""The simulator without sockets: an httpx transport that hands each request straight
to a `Simulator`, for long backtests of the real client on a `FakeClock`.

    client = ConvosoClient("http://simulator.invalid/v1", token, transport=SimulatorTransport(sim))

Everything past the socket is the same code as over loopback: routing, faults (scoped,
healing), token check, styles, the encoded-answer cache, the control endpoint. What
differs is only what a socket adds: no TCP connection is opened (`connections_opened`
does not move, the server need not be started), `reset` raises `httpx.ReadError` after
half the body instead of resetting a connection, and the request limits of the HTTP
server (header and body size, send time) do not apply. `slow` and `latency` still
sleep in real time.

Why: a 45-day backtest through the exporter's `ConvosoClient` (30 agents, account +
3 campaigns every 5 simulated minutes: 51,840 requests, live style) took 122 s over
loopback on a 2-core machine, most of it TCP and HTTP framing on both sides; through
this transport 42 s, nearly all of it httpx and the client's own parsing (the
simulator's share is about 7 s; rendering and `parse_search` alone take about 20 s).
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, unquote

import httpx

from convoso_exporter.simulator.faults import CutShort
from convoso_exporter.web.http import Request, text_response

log = logging.getLogger(__name__)


class SimulatorTransport(httpx.AsyncBaseTransport):
    """Serve an httpx client from `simulator` (a `Simulator`) in the same event loop."""

    def __init__(self, simulator) -> None:
        self._simulator = simulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        forwarded = Request(
            method=request.method,
            path=unquote(url.path),
            query=dict(parse_qsl(url.query.decode("ascii"), keep_blank_values=True)),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=await request.aread(),
        )
        try:
            answer = await self._simulator.handle(forwarded)
        except Exception as exc:  # as the HTTP server does: a handler bug is a 500
            log.error("handler failed for %s %s: %s: %s", request.method, forwarded.path, type(exc).__name__, exc)
            answer = text_response(500)
        headers = [("Content-Type", answer.content_type), *answer.headers]
        if not isinstance(answer, CutShort):
            return httpx.Response(answer.status, headers=headers, content=answer.body, request=request)
        headers.append(("Content-Length", str(len(answer.body))))
        return httpx.Response(answer.status, headers=headers, stream=_CutShortStream(answer), request=request)


class _CutShortStream(httpx.AsyncByteStream):
    """The first `sent` bytes of a body, then the connection 'resets'."""

    def __init__(self, answer: CutShort) -> None:
        self._part = answer.body[: answer.sent]

    async def __aiter__(self):
        yield self._part
        raise httpx.ReadError("connection reset by peer (simulated)")
