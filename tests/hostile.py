"""A hostile Convoso API for tests: a raw HTTP/1.1 server on loopback, in its own thread.

Unlike the simulator (which always speaks well-formed HTTP through `web/http.py`), the
handler here returns the exact bytes to write: status line, headers, body and anything
after it (a second, unrequested response; a body that is not what its headers say).
It answers every request of a keep-alive connection, counts the requests it read and
when, and can be used from synchronous tests (exporter processes) and async ones alike.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

@dataclass
class Asked:
    """One request the server read."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    at: float  # time.monotonic() when the request was read whole

    @property
    def campaign(self) -> str | None:
        return self.form.get("campaign_id") or self.query.get("campaign_id")

    @property
    def token(self) -> str | None:
        return self.form.get("auth_token") or self.query.get("auth_token")


# What to write for a request: bytes, or an awaitable of them (to delay the answer).
Handler = Callable[[Asked], "bytes | Awaitable[bytes]"]


def response(body: bytes, status: int = 200, headers: dict[str, str] | None = None,
             content_type: str = "application/json") -> bytes:
    """A complete, well-framed HTTP/1.1 response (Content-Length)."""
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def answer(agents: list[dict] | None = None, **root: object) -> bytes:
    """A documented-shape search answer as a whole response."""
    return response(json.dumps({"agents": agents or [], **root}).encode())


def agent(user_id: str, status: str = "READY", **fields: object) -> dict:
    return {"user_id": user_id, "user_full_name": f"Agent {user_id}", "campaign_id": "1", "queue_id": "2",
            "status": status, "status_time_sec": 30, "calls_today": 3, **fields}


def gzip_layers(data: bytes, layers: int) -> bytes:
    for _ in range(layers):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    return data


@dataclass
class HostileServer:
    handler: Handler
    port: int = 0
    asked: list[Asked] = field(default_factory=list)
    connections: int = 0
    serving: set = field(default_factory=set)  # the connections' tasks

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def requests_for(self, campaign: str | None) -> list[Asked]:
        return [a for a in list(self.asked) if a.campaign == campaign]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.serving.add(asyncio.current_task())
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                method, target, _ = request_line.split(" ", 2)
                path, _, query = target.partition("?")
                asked = Asked(method, path, dict(parse_qsl(query)), dict(parse_qsl(body.decode("latin-1"))),
                              time.monotonic())
                self.asked.append(asked)
                data = self.handler(asked)
                if not isinstance(data, bytes):
                    data = await data
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.serving.discard(asyncio.current_task())
            writer.close()

    async def stop(self, tcp: asyncio.base_events.Server) -> None:
        tcp.close()
        for task in list(self.serving):
            task.cancel()
        await asyncio.gather(*self.serving, return_exceptions=True)



@asynccontextmanager
async def hostile(handler: Handler) -> AsyncIterator[HostileServer]:
    """The server on the running event loop (for async tests)."""
    server = HostileServer(handler)
    tcp = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    server.port = tcp.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        await server.stop(tcp)


@contextmanager
def hostile_thread(handler: Handler) -> Iterator[HostileServer]:
    """The server on an event loop of its own thread (for tests that run processes)."""
    loop = asyncio.new_event_loop()
    server = HostileServer(handler)
    started = threading.Event()
    stopping: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stopping
        stopping = asyncio.Event()
        tcp = await asyncio.start_server(server.serve, "127.0.0.1", 0)
        server.port = tcp.sockets[0].getsockname()[1]
        started.set()
        await stopping.wait()
        await server.stop(tcp)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10), "the hostile server did not start"
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stopping.set)
        thread.join(10)
