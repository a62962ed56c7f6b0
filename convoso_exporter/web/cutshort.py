"""An answer cut short on purpose: the head promises the whole body, `sent` bytes of it
go out, then the connection is reset. The simulator's `reset` fault sends one, and so
does a recording's replay of an answer that was cut (record/replay.py).

The exporter's own `Response` knows nothing of this: `CutShortServer` (the HTTP server
with such answers) and `web/inprocess.py` (the transport without sockets) do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from convoso_exporter.web.http import HttpServer, Response, head_bytes


@dataclass
class CutShort(Response):
    """Send `sent` bytes of the body, then reset the connection."""

    sent: int = 0


class CutShortServer(HttpServer):
    """The HTTP server, writing a `CutShort` answer as one: part of it, then a reset."""

    async def respond(self, writer: asyncio.StreamWriter, response: Response, method: str, keep_alive: bool) -> bool:
        if not isinstance(response, CutShort):
            return await super().respond(writer, response, method, keep_alive)
        writer.write(head_bytes(response, len(response.body), True) + response.body[: response.sent])
        await asyncio.wait_for(writer.drain(), self.write_timeout)
        writer.transport.abort()
        return False
