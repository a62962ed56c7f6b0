"""convoso_exporter.web.http over raw loopback sockets: request parsing, keep-alive,
the limits (431, 413, 400, 501), the header timeout, HEAD, the connection slots, listening
on several addresses (all or none), and `parse_listen_address`."""

from __future__ import annotations

import asyncio
import json
import socket
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

import pytest

from convoso_exporter.web.http import (
    SERVER_NAME,
    WRITE_CHUNK,
    HttpServer,
    ListenError,
    Request,
    Response,
    parse_listen_address,
    text_response,
)
from tests.support import free_port


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


async def echo(request: Request) -> Response:
    """Everything the server parsed, as JSON."""
    seen = {
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": request.headers,
        "body": request.body.decode("latin-1"),
        "form": request.form(),
    }
    return Response(body=json.dumps(seen).encode(), content_type="application/json")


@asynccontextmanager
async def serving(handler=echo, **options) -> AsyncIterator[HttpServer]:
    server = HttpServer(handler, **options)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


async def read_response(reader: asyncio.StreamReader, *, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One response off a keep-alive connection: (status, headers, body)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *lines = head[:-4].split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), f"not a response head: {head!r}"
    headers = {}
    for line in lines:
        name, _, value = line.partition(": ")
        headers[name.lower()] = value
    length = 0 if head_only else int(headers["content-length"])
    return int(status_line.split(" ")[1]), headers, await reader.readexactly(length)


async def exchange(port: int, data: bytes) -> bytes:
    """Send `data` and end the sending side, then read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    return answer


def one_request(data: bytes, handler=echo, **options) -> bytes:
    async def scenario():
        async with serving(handler, **options) as server:
            return await exchange(server.port, data)

    return run(scenario())


# --- parsing --------------------------------------------------------------------------


def test_request_line_query_headers_and_body_are_parsed():
    body = b"user_id=7&skills=a%2Cb&user_id=8&empty="
    request = (
        b"post /v1/agent%20monitor?auth_token=t%2Bk&x=&x=2 HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nX-Twice: one\r\nx-twice: two\r\nX-Spaced:   padded  \r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    answer = one_request(request)
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    seen = json.loads(payload)
    assert seen["method"] == "POST"  # upper-cased
    assert seen["path"] == "/v1/agent monitor"  # percent-decoded
    assert seen["query"] == {"auth_token": "t+k", "x": "2"}  # decoded, blank kept, last wins
    assert seen["headers"]["x-twice"] == "one, two"  # names lower-cased, repeats joined
    assert seen["headers"]["x-spaced"] == "padded"
    assert seen["body"] == body.decode()
    assert seen["form"] == {"user_id": "8", "skills": "a,b", "empty": ""}


def test_response_head_carries_server_type_length_and_extra_headers():
    async def handler(request: Request) -> Response:
        return Response(status=201, body=b"made", content_type="text/x-test", headers=[("X-One", "1")])

    answer = one_request(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", handler)
    assert answer == (
        b"HTTP/1.1 201 Created\r\nServer: " + SERVER_NAME.encode() + b"\r\nContent-Type: text/x-test\r\n"
        b"Content-Length: 4\r\nX-One: 1\r\nConnection: close\r\n\r\nmade"
    )


def test_a_status_without_a_phrase_is_unknown():
    async def handler(request: Request) -> Response:
        return Response(status=599)

    assert one_request(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", handler).startswith(b"HTTP/1.1 599 Unknown\r\n")


def test_text_response_defaults_to_the_status_phrase():
    assert text_response(404).body == b"Not Found\n"
    assert text_response(503, "not ready", headers=[("Retry-After", "1")]).body == b"not ready\n"
    assert text_response(503, "x", headers=[("Retry-After", "1")]).headers == [("Retry-After", "1")]


def test_a_failing_handler_answers_500_and_the_connection_goes_on():
    calls = []

    async def handler(request: Request) -> Response:
        calls.append(request.path)
        if request.path == "/boom":
            raise RuntimeError("handler bug")
        return text_response(200, "fine")

    async def scenario():
        async with serving(handler) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /boom HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n")
            answers = [await read_response(reader), await read_response(reader)]
            writer.close()
            return answers

    (status1, _, body1), (status2, _, body2) = run(scenario())
    assert (status1, body1) == (500, b"Internal Server Error\n")
    assert (status2, body2) == (200, b"fine\n")
    assert calls == ["/boom", "/next"]


# --- malformed requests and limits ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        (b"GET /\r\n\r\n", 400, b"malformed request line"),
        (b"GET / HTTP/2.0\r\n\r\n", 400, b"malformed request line"),
        (b"GET  / HTTP/1.1\r\n\r\n", 400, b"malformed request line"),
        (b"G3T / HTTP/1.1\r\n\r\n", 400, b"malformed request line"),
        (b"GET metrics HTTP/1.1\r\n\r\n", 400, b"malformed request line"),
        (b"GET / HTTP/1.1\r\nNo-Colon\r\n\r\n", 400, b"malformed header line"),
        (b"GET / HTTP/1.1\r\n: empty-name\r\n\r\n", 400, b"malformed header line"),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, b"malformed header line"),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, b"invalid Content-Length"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400, b"invalid Content-Length"),
        # latin-1 "\xb2" is "²": str.isdigit() says yes, int() says no.
        (b"POST / HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400, b"invalid Content-Length"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501, b"chunked request bodies are not supported"),
        (b"GET / HTTP/1.1\r\nHost: x", 400, b"incomplete request"),
    ],
)
def test_malformed_requests_get_a_status_and_the_connection_is_closed(data, status, reason):
    answer = one_request(data)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status)
    assert b"\r\nConnection: close" in head
    assert body.startswith(reason)


def test_headers_over_the_limit_get_431():
    head = b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 1500 + b"\r\n\r\n"
    assert one_request(head, max_header_bytes=1024).startswith(b"HTTP/1.1 431 ")
    # Just under the limit is served.
    fits = b"GET / HTTP/1.1\r\nConnection: close\r\nX-Big: " + b"a" * 900 + b"\r\n\r\n"
    assert one_request(fits, max_header_bytes=1024).startswith(b"HTTP/1.1 200 ")


def test_a_body_over_the_limit_gets_413_without_being_read():
    answer = one_request(b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", max_body_bytes=100)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"request body over 100 bytes" in answer
    # The largest allowed body is read whole.
    exact = one_request(
        b"POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: 100\r\n\r\n" + b"b" * 100, max_body_bytes=100
    )
    assert json.loads(exact.partition(b"\r\n\r\n")[2])["body"] == "b" * 100


def test_a_client_that_sends_nothing_is_dropped_after_the_header_timeout():
    async def scenario():
        async with serving(header_timeout=0.2) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET / HTT")  # part of a request line, then silence
            await writer.drain()
            loop = asyncio.get_running_loop()
            started = loop.time()
            answer = await reader.read()
            writer.close()
            return answer, loop.time() - started

    answer, waited = run(scenario())
    assert answer == b""  # closed without an answer
    assert 0.15 <= waited < 2.0


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout():
    async def scenario():
        async with serving(idle_timeout=0.2, header_timeout=5.0) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET / HTTP/1.1\r\n\r\n")
            status, _, _ = await read_response(reader)
            loop = asyncio.get_running_loop()
            started = loop.time()
            rest = await reader.read()
            writer.close()
            return status, rest, loop.time() - started

    status, rest, waited = run(scenario())
    assert status == 200 and rest == b""
    assert 0.15 <= waited < 2.0  # the idle timeout, not the 5 s header timeout


# --- keep-alive --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        ("HTTP/1.1", None, True),
        ("HTTP/1.1", "close", False),
        ("HTTP/1.1", "Keep-Alive", True),
        ("HTTP/1.0", None, False),
        ("HTTP/1.0", "keep-alive", True),
    ],
)
def test_keep_alive_follows_the_version_and_connection_header(version, connection, keep_alive):
    extra = f"Connection: {connection}\r\n" if connection else ""
    request = f"GET /one {version}\r\n{extra}\r\n".encode()

    async def scenario():
        async with serving() as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request)
            status, headers, _ = await read_response(reader)
            if keep_alive:
                writer.write(b"GET /two HTTP/1.1\r\nConnection: close\r\n\r\n")
                second = await read_response(reader)
            else:
                second = None
            closed = await reader.read() == b""
            writer.close()
            return status, headers, second, closed, server.connections_opened

    status, headers, second, closed, opened = run(scenario())
    assert status == 200 and closed and opened == 1
    assert ("connection" not in headers) is keep_alive
    if keep_alive:
        assert second[0] == 200 and json.loads(second[2])["path"] == "/two"


def test_pipelined_requests_are_answered_in_order_on_one_connection():
    async def scenario():
        async with serving() as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(
                b"GET /a HTTP/1.1\r\n\r\n"
                b"POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1"
                b"GET /c HTTP/1.1\r\nConnection: close\r\n\r\n"
            )
            answers = [await read_response(reader) for _ in range(3)]
            writer.close()
            return answers, server.connections_opened

    answers, opened = run(scenario())
    seen = [json.loads(body) for _, _, body in answers]
    assert [(s["method"], s["path"], s["form"]) for s in seen] == [("GET", "/a", {}), ("POST", "/b", {"x": "1"}), ("GET", "/c", {})]
    assert opened == 1


def test_close_drops_idle_keep_alive_connections():
    async def scenario():
        server = HttpServer(echo)
        await server.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        await read_response(reader)
        await server.close()
        rest = await reader.read()
        writer.close()
        return rest

    assert run(scenario()) == b""


# --- HEAD -------------------------------------------------------------------------------------------


def test_head_gets_the_headers_of_get_and_no_body():
    async def handler(request: Request) -> Response:
        return Response(body=b"0123456789")

    async def scenario():
        async with serving(handler) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            head = await read_response(reader, head_only=True)
            get = await read_response(reader)
            rest = await reader.read()
            writer.close()
            return head, get, rest

    (head_status, head_headers, _), (get_status, get_headers, get_body), rest = run(scenario())
    assert head_status == get_status == 200
    assert head_headers["content-length"] == get_headers["content-length"] == "10"
    # Had HEAD carried a body, read_response would have met its bytes instead of a status line.
    assert get_body == b"0123456789" and rest == b""


# --- clients that do not read, and too many clients -----------------------------------------------

BIG = bytes(range(256)) * (32 * 1024)  # 8 MiB


async def big(request: Request) -> Response:
    return Response(body=BIG)


async def stalled_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that asks for the big body with a tiny receive buffer and does not read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(b"GET / HTTP/1.1\r\n\r\n")
    return reader, writer


def test_a_large_body_arrives_whole_in_chunks():
    async def scenario():
        async with serving(big) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET / HTTP/1.1\r\n\r\n")
            answer = await read_response(reader)
            writer.close()
            return answer

    status, headers, body = run(scenario())
    assert status == 200 and headers["content-length"] == str(len(BIG)) and body == BIG


def test_a_client_that_does_not_read_holds_a_chunk_and_is_dropped_after_the_write_timeout():
    async def scenario():
        async with serving(big, write_timeout=0.5) as server:
            reader, writer = await stalled_client(server.port)
            await asyncio.sleep(0.2)
            [transport_writer] = server._connections.values()
            buffered = transport_writer.transport.get_write_buffer_size()
            for _ in range(40):  # dropped after 0.5 s
                await asyncio.sleep(0.05)
                if not server._connections:
                    break
            still_open = len(server._connections)
            writer.close()
            return buffered, still_open

    buffered, still_open = run(scenario())
    assert buffered <= 2 * WRITE_CHUNK, f"{buffered} bytes of the body handed to the transport at once"
    assert still_open == 0


# --- connection slots: who gives way when every slot is taken ------------------------------------
# A small `max_connections` (SLOTS); idle sockets, slowloris senders (part of a request, a
# byte now and then) and clients that ask for a big body and never read, each alone and
# mixed, at the bound and past it; a normal scrape must be answered throughout.

SLOTS = 8


async def scrapeable(request: Request) -> Response:
    return Response(body=BIG) if request.path == "/big" else text_response(200, "metrics")


async def until(condition) -> None:
    """Wait for the server to catch up (the scenario's own timeout bounds it)."""
    while not condition():
        await asyncio.sleep(0.005)


@dataclass
class Client:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    rest: bytes = b"GET /metrics HTTP/1.1\r\n\r\n"  # what completes its request


async def idle(server: HttpServer) -> Client:
    """A connection that sends nothing, registered by the server before it returns."""
    opened = server.connections_opened
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await until(lambda: server.connections_opened > opened)
    return Client(reader, writer)


async def slowloris(server: HttpServer) -> Client:
    """A connection that sends part of a request head, to be dripped a byte at a time."""
    client = await idle(server)
    client.writer.write(b"GET /metrics HTTP/1.1\r\nX-Slow: a")
    await client.writer.drain()
    client.rest = b"\r\n\r\n"
    return client


async def non_reader(server: HttpServer) -> Client:
    """Asks for the big body and never reads; returns once the server is writing to it."""
    working = len(server._slots) - server._slots.waiting
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(b"GET /big HTTP/1.1\r\n\r\n")
    await until(lambda: len(server._slots) - server._slots.waiting > working)
    return Client(reader, writer)


async def scrape(server: HttpServer) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
    answer = await read_response(reader)
    writer.close()
    return answer


async def closed_by_server(client: Client) -> bool:
    """Whether the server closed it without a word (it was given way)."""
    return await client.reader.read() == b""


async def still_served(client: Client) -> int:
    """Complete the request a waiting client began; the answer's status."""
    client.writer.write(client.rest)
    return (await read_response(client.reader))[0]


def close_all(clients: list[Client]) -> None:
    for client in clients:
        client.writer.close()


@pytest.mark.parametrize("opener", [idle, slowloris], ids=["idle", "slowloris"])
def test_waiting_connections_give_way_oldest_first_at_the_bound_and_past_it(opener):
    async def scenario():
        async with serving(scrapeable, max_connections=SLOTS) as server:
            waiting = [await opener(server) for _ in range(SLOTS - 1)]
            at_bound = await scrape(server)  # the last free slot
            evicted_at_bound = server.connections_evicted
            waiting += [await opener(server) for _ in range(SLOTS + 2)]  # 17 opened for 8 slots
            for client in waiting[-3:]:  # a slowloris drips another byte: still no request
                client.writer.write(b"a")
            past_bound = [await scrape(server) for _ in range(3)]
            evicted = server.connections_evicted
            stayed = [await still_served(c) for c in waiting[evicted:]]
            gone = [await closed_by_server(c) for c in waiting[:evicted]]
            close_all(waiting)
            return at_bound, evicted_at_bound, past_bound, evicted, stayed, gone, server.connections_refused

    at_bound, evicted_at_bound, past_bound, evicted, stayed, gone, refused = run(scenario())
    assert at_bound[0] == 200 and evicted_at_bound == 0
    assert [status for status, _, _ in past_bound] == [200, 200, 200]
    # 17 waiting for 8 slots: 9 gave way; the first scrape took one more slot (and gave it
    # back), the next two found it free. The 10 that waited longest went, the 7 newest stay.
    assert evicted == 10 and gone == [True] * 10 and stayed == [200] * 7 and refused == 0


def test_an_idle_keep_alive_connection_waits_its_turn_from_its_last_answer():
    async def scenario():
        async with serving(scrapeable, max_connections=2) as server:
            keep_alive = await idle(server)
            first_idle = await idle(server)
            answered_before = await still_served(keep_alive)  # answered after first_idle came
            answered = await scrape(server)
            return answered_before, answered[0], await closed_by_server(first_idle), await still_served(keep_alive)

    assert run(scenario()) == (200, 200, True, 200)


def test_clients_that_do_not_read_keep_their_slots_and_only_then_is_one_more_refused():
    async def scenario():
        async with serving(scrapeable, max_connections=SLOTS) as server:
            stalled = [await non_reader(server) for _ in range(SLOTS - 1)]
            at_bound = await scrape(server)
            stalled.append(await non_reader(server))
            past_bound = await scrape(server)  # every slot is working: refused
            close_all(stalled[:1])
            await until(lambda: len(server._slots) < SLOTS)  # its write fails: a slot is free
            freed = await scrape(server)
            close_all(stalled)
            return at_bound, past_bound, freed, server.connections_evicted

    at_bound, (status, headers, body), freed, evicted = run(scenario())
    assert at_bound[0] == 200 and evicted == 0
    assert status == 503 and headers["retry-after"] == "1" and headers["connection"] == "close"
    assert body == b"too many connections (at most 8); retry later\n"
    assert freed[0] == 200


def test_mixed_clients_past_the_bound_the_waiting_give_way_and_the_non_readers_keep_their_slots():
    async def scenario():
        async with serving(scrapeable, max_connections=SLOTS) as server:
            stalled = [await non_reader(server) for _ in range(3)]
            waiting = []
            for opener in (idle, slowloris, idle, slowloris, idle, slowloris, idle):
                waiting.append(await opener(server))
            answers = [await scrape(server) for _ in range(3)]
            working = len(server._slots) - server._slots.waiting
            stayed = [await still_served(c) for c in waiting[3:]]
            gone = [await closed_by_server(c) for c in waiting[:3]]
            close_all(stalled + waiting)
            return answers, working, stayed, gone, server.connections_evicted

    answers, working, stayed, gone, evicted = run(scenario())
    assert [status for status, _, _ in answers] == [200, 200, 200]
    # 3 non-readers and 7 waiting for 8 slots, then a scrape: the 3 that waited longest
    # went, the 4 newest stay, and no non-reader (all three still working).
    assert working == 3 and evicted == 3 and gone == [True] * 3 and stayed == [200] * 4


def test_one_connection_too_many_while_every_slot_is_working_is_answered_503_and_closed():
    release = asyncio.Event()

    async def held(request: Request) -> Response:
        if request.path == "/hold":
            await release.wait()
        return text_response(200)

    async def scenario():
        async with serving(held, max_connections=2) as server:
            kept = [await idle(server) for _ in range(2)]
            for client in kept:  # both working on a request
                client.writer.write(b"GET /hold HTTP/1.1\r\n\r\n")
            await until(lambda: len(server._slots) == 2 and server._slots.waiting == 0)
            refused = await exchange(server.port, b"GET / HTTP/1.1\r\n\r\n")
            release.set()
            for client in kept:  # answered, now idle: they give way
                await read_response(client.reader)
            again = await exchange(server.port, b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n")
            close_all(kept)
            return refused, again, server.connections_refused

    refused, again, count = run(scenario())
    assert refused.startswith(b"HTTP/1.1 503 ")
    assert b"\r\nRetry-After: 1\r\n" in refused and b"\r\nConnection: close\r\n" in refused
    assert refused.endswith(b"too many connections (at most 2); retry later\n")
    assert count == 1
    assert again.startswith(b"HTTP/1.1 200 ")


# --- listening on several addresses ------------------------------------------------------------


def get(host: str, port: int) -> bytes:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as client:
        client.settimeout(5)
        client.connect((host, port))
        client.sendall(b"GET /where HTTP/1.1\r\nConnection: close\r\n\r\n")
        return b"".join(iter(lambda: client.recv(65536), b""))


def test_every_address_listens():
    ports = [free_port() for _ in range(2)]

    async def scenario():
        server = HttpServer(echo)
        await server.listen([f"127.0.0.1:{ports[0]}", f"localhost:{ports[1]}"])
        try:
            answers = [await asyncio.to_thread(get, "127.0.0.1", port) for port in ports]
            return server.addresses, answers
        finally:
            await server.close()

    addresses, answers = run(scenario())
    assert addresses[0] == f"127.0.0.1:{ports[0]}" and f"127.0.0.1:{ports[1]}" in addresses[1:]
    assert all(answer.startswith(b"HTTP/1.1 200 ") for answer in answers)


def test_an_address_that_cannot_listen_is_named_and_none_listens():
    good, taken_port = free_port(), None

    async def scenario():
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            nonlocal taken_port
            taken_port = taken.getsockname()[1]
            server = HttpServer(echo)
            with pytest.raises(ListenError) as caught:
                await server.listen([f"127.0.0.1:{good}", f"127.0.0.1:{taken_port}"])
            return str(caught.value), server.addresses

    message, addresses = run(scenario())
    assert message == f"127.0.0.1:{taken_port}: cannot listen on 127.0.0.1:{taken_port}: Address already in use"
    assert addresses == []
    with socket.socket() as again:  # the first address was let go
        again.bind(("127.0.0.1", good))


# --- parse_listen_address ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (":10717", ("", 10717)),
        ("0.0.0.0:10717", ("0.0.0.0", 10717)),
        ("127.0.0.1:18080", ("127.0.0.1", 18080)),
        ("[::1]:9000", ("::1", 9000)),
        ("[::]:0", ("::", 0)),
        ("localhost:65535", ("localhost", 65535)),
    ],
)
def test_parse_listen_address(value, expected):
    assert parse_listen_address(value) == expected


@pytest.mark.parametrize("value", ["", "10717", "host:", "host:port", ":65536", ":-1", "127.0.0.1:80x",
                                   "::1:9000", "[::1:9000", "::1]:9000", "[]:80", "[[::1]]:80", ":\u0661\u0662"])
def test_parse_listen_address_rejects(value):
    with pytest.raises(ValueError) as caught:
        parse_listen_address(value)
    assert str(caught.value) == f"invalid listen address {value!r}: expected [host]:port"


# --- bodies made of pieces (the exposition) -----------------------------------------------


def test_a_pieces_body_is_served_whole_with_its_length_and_head_sends_none():
    from convoso_exporter.web.http import Pieces

    parts = [b"# HELP x\n", b"x 1\n" * 70_000, b"y 2\n"]

    async def pieces(request: Request) -> Response:
        return Response(body=Pieces.of(parts))

    async def scenario():
        async with serving(pieces) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET / HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n")
            got = await read_response(reader)
            head = await read_response(reader, head_only=True)
            writer.close()
            return got, head

    (status, headers, body), (_, head_headers, _) = run(scenario())
    assert status == 200 and body == b"".join(parts) and headers["content-length"] == str(len(body))
    assert head_headers["content-length"] == str(len(body))
