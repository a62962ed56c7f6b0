"""The simulator without sockets: an httpx transport that hands each request straight
to a `Simulator`, for long backtests of the real client on a `FakeClock`.

    client = ConvosoClient("http://simulator.invalid/v1", token, transport=SimulatorTransport(sim))

Everything past the socket is the same code as over loopback: routing, faults (scoped,
healing), token check, styles, the encoded-answer cache, the control endpoint. What
differs is only what a socket adds: no TCP connection is opened (`connections_opened`
does not move, the server need not be started), `reset` raises `httpx.ReadError` after
half the body instead of resetting a connection, and the request limits of the HTTP
server (header and body size, send time) do not apply. `slow` and `latency` still
sleep in real time. The transport is `web/inprocess.py`'s, shared with the replay of a
recording (`record/replay.py`).

Why: a 45-day backtest through the exporter's `ConvosoClient` (30 agents, account +
3 campaigns every 5 simulated minutes: 51,840 requests, live style) took 122 s over
loopback on a 2-core machine, most of it TCP and HTTP framing on both sides; through
this transport 42 s, nearly all of it httpx and the client's own parsing (the
simulator's share is about 7 s; rendering and `parse_search` alone take about 20 s).
"""

from __future__ import annotations

from convoso_exporter.web.inprocess import InProcessTransport


class SimulatorTransport(InProcessTransport):
    """Serve an httpx client from `simulator` (a `Simulator`) in the same event loop."""

    def __init__(self, simulator) -> None:
        super().__init__(simulator.handle)
