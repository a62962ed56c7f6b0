"""A small asyncio HTTP/1.1 server, shared by the exporter's endpoints and the simulator.

Why not `http.server` or prometheus_client's server: those render on the request
thread and block on slow clients. This one serves pre-built bytes from the event
loop, keeps connections alive, and bounds what a client can make it hold: header
size, body size, and how long a client may take to send its request; and what a
client that does not read can make it hold:

- a body is written in WRITE_CHUNK slices of the one shared bytes object (memoryview,
  no copy), draining between them, so a connection holds at most a chunk beyond the
  transport's high-water mark. Handing a 14 MB exposition to the transport at once made
  it copy what the socket did not take: 30 scrapers that never read added 314 MB;
- a client must take a response (all but the transport's last 64 KiB) within
  `write_timeout`, or the connection is dropped;
- running out of file descriptors is logged once per episode (web/listen.py);
- at most `max_connections` connections are served at once (256: far more than the
  scrapers of an exporter, enough for the simulator's load tests; about 80 MB at most
  in bodies held for clients that do not read). When all are taken, a new connection
  takes the slot of the one that has waited longest for a request (idle, slowloris,
  keep-alive between requests), which is closed; only when every slot is working on a
  request is one more answered 503 with `Retry-After` and closed (web/slots.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Awaitable, Callable, Sequence
from urllib.parse import parse_qsl, unquote

from convoso_exporter.web.listen import Listener, shown
from convoso_exporter.web.messages import (  # the server's vocabulary, re-exported for its users
    SERVER_NAME,
    WRITE_CHUNK,
    BadRequest,
    Body,
    Pieces,
    Request,
    Response,
    chunks,
    head_bytes,
    parse_head,
    text_response,
    wants_keep_alive,
)
from convoso_exporter.web.slots import Slots

log = logging.getLogger(__name__)

__all__ = ["SERVER_NAME", "WRITE_CHUNK", "BadRequest", "Body", "Handler", "HttpServer", "ListenError", "Pieces",
           "Request", "Response", "chunks", "head_bytes", "parse_listen_address", "text_response"]

Handler = Callable[[Request], Awaitable[Response]]

# How long a connection refused for being one too many may take to send its request.
REFUSE_TIMEOUT = 1.0


class ListenError(Exception):
    """A listen address that cannot be listened on; one line naming it."""


def parse_listen_address(value: str) -> tuple[str, int]:
    """`:10717` (every address, IPv6 and IPv4: the host ""), `0.0.0.0:10717`,
    `127.0.0.1:18080`, `[::1]:9000`, `[::]:9000`, `localhost:9000` → (host, port).
    An IPv6 address goes in brackets, as in a URL (`::1:9000` is refused, as Go does)."""
    host, sep, port_text = value.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]") and len(host) > 2
    if bracketed:
        host = host[1:-1]
    if (not sep or not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535
            or "[" in host or "]" in host or (":" in host and not bracketed)):
        raise ValueError(f"invalid listen address {value!r}: expected [host]:port")
    return host, int(port_text)


class HttpServer:
    """Serve `handler` over HTTP/1.1 (optionally TLS) with bounded per-client resources."""

    def __init__(
        self,
        handler: Handler,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_header_bytes: int = 16 * 1024,
        max_body_bytes: int = 1024 * 1024,
        header_timeout: float = 10.0,
        idle_timeout: float = 75.0,
        write_timeout: float = 60.0,
        max_connections: int = 256,
    ) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.header_timeout = header_timeout
        self.idle_timeout = idle_timeout
        self.write_timeout = write_timeout
        self.max_connections = max_connections
        self._slots = Slots(max_connections)
        # Our own accept loop (web/listen.py): asyncio's floods the log when descriptors run out.
        self._listener = Listener(self._accepted)
        self._handshakes: set[asyncio.Task[None]] = set()
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        # TCP connections accepted since start: how the benchmark proves keep-alive works.
        self.connections_opened = 0

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port as well (which sockets: web/listen.py)."""
        await self._listener.start(host, port)

    async def listen(self, addresses: Sequence[str]) -> None:
        """Listen on every address (`--web.listen-address`, repeatable), all or none:
        ListenError naming the first address that cannot be listened on."""
        for address in addresses:
            host, port = parse_listen_address(address)
            try:
                await self.start(host, port)
            except OSError as exc:
                await self.close()
                raise ListenError(f"{address}: {exc.strerror or exc}") from None

    def adopt(self, sockets: list[socket.socket]) -> None:
        """Serve on sockets already listening (systemd's, web/systemd.py)."""
        self._listener.serve(sockets)

    @property
    def connections_evicted(self) -> int:
        """Connections closed, waiting for a request, to serve a new one (all slots taken)."""
        return self._slots.evicted

    @property
    def connections_refused(self) -> int:
        """Connections answered 503: every slot was working on a request."""
        return self._slots.refused

    @property
    def addresses(self) -> list[str]:
        """Where it listens, as listen addresses: `[::]:10717`, `127.0.0.1:9000`."""
        return [shown(sock.getsockname()) for sock in self._listener.sockets]

    @property
    def port(self) -> int:
        assert self._listener.sockets, "server not started"
        return self._listener.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and drop open connections (idle keep-alive ones included)."""
        await self._listener.close()
        for pending in list(self._handshakes):
            pending.cancel()
        for task, writer in list(self._connections.items()):
            _drop(task, writer)
        if self._connections or self._handshakes:
            await asyncio.wait([*self._connections, *self._handshakes], timeout=1.0)

    def _accepted(self, conn: socket.socket) -> None:
        task = asyncio.get_running_loop().create_task(self._connect(conn))
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)

    async def _connect(self, conn: socket.socket) -> None:
        """A transport and streams for an accepted socket (after the TLS handshake, if
        any): then `_serve_connection` runs, as `asyncio.start_server` would run it."""
        reader = asyncio.StreamReader(limit=self.max_header_bytes)
        protocol = asyncio.StreamReaderProtocol(reader, self._serve_connection)
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: protocol, conn, ssl=self.ssl_context,
                ssl_handshake_timeout=self.header_timeout if self.ssl_context else None,
            )
        except (OSError, ssl.SSLError, TimeoutError):
            conn.close()  # a failed or timed-out handshake: nothing to answer

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections[task] = writer
        self.connections_opened += 1
        served = self._slots.take(task, lambda: _drop(task, writer))
        try:
            if served:
                await self._serve_requests(task, reader, writer)
            else:
                await self._refuse(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass  # the client went away or stalled; nothing to answer
        except asyncio.CancelledError:
            pass
        finally:
            self._slots.release(task)
            self._connections.pop(task, None)
            writer.close()

    async def _serve_requests(self, task, reader, writer) -> None:
        timeout = self.header_timeout
        while True:
            try:
                request, keep_alive = await self._read_request(reader, timeout)
            except BadRequest as bad:
                await self._write(writer, text_response(bad.status, str(bad)), "GET", keep_alive=False)
                return
            # Not answered when it was closed to make room just as its request completed.
            if request is None or not self._slots.working(task):
                return
            response = await call_handler(self.handler, request, log)
            if not await self.respond(writer, response, request.method, keep_alive):
                return
            self._slots.wait(task)
            timeout = self.idle_timeout

    async def respond(self, writer: asyncio.StreamWriter, response: Response, method: str, keep_alive: bool) -> bool:
        """Write one answer; whether the connection may serve another request. A subclass
        may write some answers its own way (the simulator's faults)."""
        await self._write(writer, response, method, keep_alive)
        return keep_alive

    async def _read_request(self, reader, timeout: float) -> tuple[Request | None, bool]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        except asyncio.IncompleteReadError as partial:
            if partial.partial.strip():
                raise BadRequest(400, "incomplete request") from None
            return None, False
        except asyncio.LimitOverrunError:
            raise BadRequest(431, "request headers too large") from None
        except (TimeoutError, asyncio.TimeoutError):
            return None, False
        method, target, version, headers = parse_head(head)
        body = await self._read_body(reader, headers)
        path, _, query_text = target.partition("?")
        request = Request(
            method=method,
            path=unquote(path),
            query=dict(parse_qsl(query_text, keep_blank_values=True)),
            headers=headers,
            body=body,
        )
        return request, wants_keep_alive(version, headers)

    async def _read_body(self, reader, headers: dict[str, str]) -> bytes:
        if "transfer-encoding" in headers:
            raise BadRequest(501, "chunked request bodies are not supported; send Content-Length")
        length_text = headers.get("content-length", "0").strip()
        if not (length_text.isascii() and length_text.isdigit()):  # "²".isdigit()
            raise BadRequest(400, "invalid Content-Length")
        length = int(length_text)
        if length > self.max_body_bytes:
            raise BadRequest(413, f"request body over {self.max_body_bytes} bytes")
        if length == 0:
            return b""
        return await asyncio.wait_for(reader.readexactly(length), self.header_timeout)

    async def _refuse(self, reader, writer) -> None:
        """One connection too many: read its request (so closing does not reset the
        answer away), answer 503, close."""
        try:
            async with asyncio.timeout(REFUSE_TIMEOUT):
                await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        message = f"too many connections (at most {self.max_connections}); retry later"
        response = text_response(503, message, headers=[("Retry-After", "1")])
        writer.write(head_bytes(response, len(response.body), False) + response.body)
        async with asyncio.timeout(REFUSE_TIMEOUT):
            await writer.drain()

    async def _write(self, writer, response: Response, method: str, keep_alive: bool) -> None:
        """Head and body, the body in WRITE_CHUNK slices; before each slice, and at the end,
        the transport must drain below its high-water mark, all within `write_timeout`
        (else TimeoutError: the caller drops the connection). A client that reads as fast
        as we write costs no wait and no timer."""
        transport = writer.transport
        deadline = asyncio.get_running_loop().time() + self.write_timeout

        async def drained() -> None:
            if transport.get_write_buffer_size():
                async with asyncio.timeout_at(deadline):
                    await writer.drain()

        writer.write(head_bytes(response, len(response.body), keep_alive))
        for chunk in chunks(response.body if method != "HEAD" else b""):
            await drained()
            writer.write(chunk)
        await drained()


async def call_handler(handler: Handler, request: Request, logger: logging.Logger) -> Response:
    """`handler`'s answer, or a 500 logged on `logger` (the caller's, so the record says
    which serves): the server's and web/inprocess.py's transport's alike."""
    try:
        return await handler(request)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a handler bug must not take the server down
        logger.error("handler failed for %s %s: %s: %s", request.method, request.path, type(exc).__name__, exc)
        return text_response(500)


def _drop(task: asyncio.Task, writer: asyncio.StreamWriter) -> None:
    """Close a connection: one waiting for a request, to make room for a new one, or any
    on `close`."""
    task.cancel()
    # Close the socket too: on Python 3.11 a cancel that lands just as a `wait_for`
    # finishes is lost, and the task would wait for another request.
    writer.close()


