"""An httpx transport that hands each request straight to a `web.http` handler, in the
same event loop, without sockets: the simulator's (`simulator/transport.py`) and a
recording's replay (`record/replay.py`) serve the real client this way.

Everything past the socket is the handler's own code. What differs from loopback is only
what a socket adds: no TCP connection is opened, a `CutShort` answer raises
`httpx.ReadError` after its `sent` body bytes instead of resetting a connection, and the
request limits of the HTTP server (header and body size, send time) do not apply.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, unquote

import httpx

from convoso_exporter.web.cutshort import CutShort
from convoso_exporter.web.http import Handler, Request, call_handler

log = logging.getLogger(__name__)


class InProcessTransport(httpx.AsyncBaseTransport):
    """Serve an httpx client from `handler` (what `HttpServer` would call) in-process."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        forwarded = Request(
            method=request.method,
            # The raw target, decoded once as the HTTP server decodes it (`url.path` is decoded already).
            path=unquote(url.raw_path.partition(b"?")[0].decode("ascii")),
            query=dict(parse_qsl(url.query.decode("ascii"), keep_blank_values=True)),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=await request.aread(),
        )
        answer = await call_handler(self._handler, forwarded, log)  # as the HTTP server: a handler bug is a 500
        headers = [("Content-Type", answer.content_type), *answer.headers, ("Content-Length", str(len(answer.body)))]
        # A stream, as a network transport gives it: httpx neither reads nor decodes it
        # ahead (`content=` would, undoing a Content-Encoding the client decodes itself).
        stream = _CutShort(answer) if isinstance(answer, CutShort) else httpx.ByteStream(answer.body)
        return httpx.Response(answer.status, headers=headers, stream=stream, request=request)


class _CutShort(httpx.AsyncByteStream):
    """The first `sent` bytes of a body, then the connection 'resets'."""

    def __init__(self, answer: CutShort) -> None:
        self._part = answer.body[: answer.sent]

    async def __aiter__(self):
        yield self._part
        raise httpx.ReadError("connection reset by peer (simulated)")
