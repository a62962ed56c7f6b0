"""convoso_exporter.api.failures, through the real client over real sockets: a closed port
(IPv4 and IPv6), an unresolvable `.invalid` host, a TLS server whose certificate the
client does not trust, HTTPS to a plain port, a backlog that never accepts, servers that
reset, close, cut or never answer. Every message names the host and port in words and
says what to check; none holds the token in any form, the URL, or httpx's own text; none
is chained to the httpx exception."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote, quote_plus

import pytest
import trustme

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.errors import ApiTimeout, ConnectionFailed, ConvosoError
from convoso_exporter.api.failures import Endpoint
from convoso_exporter.web.listen import ipv6_available
from tests.support import free_port

TOKEN = "Fa1lure-T0KEN/+=?&"
TOKEN_FORMS = (TOKEN, quote(TOKEN), quote(TOKEN, safe=""), quote_plus(TOKEN), "Fa1lure", "T0KEN")

pytestmark = pytest.mark.timeout(30)


async def request(base_url: str, method: str = "search", timeout: float = 5.0) -> ConvosoError:
    async with ConvosoClient(base_url, TOKEN, timeout=timeout) as client:
        with pytest.raises(ConvosoError) as caught:
            if method == "search":
                await client.search(campaign_id="1001")
            else:
                await client.logout("100001")
    return caught.value


def assert_plain(error: ConvosoError, address: str, method: str = "search") -> str:
    """One line naming `address`, no token, no URL, nothing chained; the message."""
    message = str(error)
    assert message.startswith(f"{method}: ") and "\n" not in message
    assert address in message, message
    assert error.__cause__ is None and error.__context__ is None
    for text in (message, repr(error), repr(error.args)):
        for form in TOKEN_FORMS:
            assert form not in text, f"token form {form!r} in {text!r}"
        assert "://" not in text and "auth_token" not in text and "/agent-monitor" not in text, text
    return message


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    return server, server.sockets[0].getsockname()[1]


async def against(handler: Handler, *, scheme: str = "http", tls: ssl.SSLContext | None = None,
                  timeout: float = 5.0) -> tuple[ConvosoError, str]:
    server, port = await serve(handler, tls)
    try:
        return await request(f"{scheme}://127.0.0.1:{port}/v1", timeout=timeout), f"127.0.0.1:{port}"
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


# --- could not connect -------------------------------------------------------------


@pytest.mark.parametrize("method", ["search", "logout"])
def test_a_closed_port_is_refused_by_host_and_port(method):
    port = free_port()
    error = asyncio.run(request(f"http://127.0.0.1:{port}/v1", method))
    assert (type(error), error.reason) == (ConnectionFailed, "refused")
    assert assert_plain(error, f"127.0.0.1:{port}", method) == (
        f"{method}: connection refused by 127.0.0.1:{port}; is the API up and is base_url right?")


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback on this machine")
def test_a_closed_ipv6_port_names_the_address_in_brackets():
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        port = sock.getsockname()[1]
    error = asyncio.run(request(f"http://[::1]:{port}/v1"))
    assert error.reason == "refused"
    assert_plain(error, f"connection refused by [::1]:{port};")


def test_an_unresolvable_host_is_a_dns_failure_naming_the_host():
    error = asyncio.run(request("https://api.convoso.invalid/v1"))
    assert (type(error), error.reason) == (ConnectionFailed, "dns")
    message = assert_plain(error, "api.convoso.invalid")
    # "Name or service not known" where DNS answers; "Temporary failure ..." on a machine without it.
    assert message.startswith("search: cannot resolve host api.convoso.invalid (DNS: ")
    assert "check" in message and "convoso.base_url" in message


def test_a_backlog_that_never_accepts_is_a_connect_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # Fill the backlog; further SYNs are dropped, so a connect hangs.
        fillers = [socket.socket() for _ in range(4)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        time.sleep(0.2)
        with socket.socket() as probe:
            probe.settimeout(0.3)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                pytest.skip("this kernel accepts past a full backlog")
        try:
            error = asyncio.run(request(f"http://127.0.0.1:{port}/v1", timeout=0.5))
        finally:
            for filler in fillers:
                filler.close()
    assert (type(error), error.reason) == (ApiTimeout, "connect")
    assert assert_plain(error, f"127.0.0.1:{port}").startswith(
        f"search: no connection to 127.0.0.1:{port} within 0.5s (resolving and connecting); check the network path")


# --- TLS ---------------------------------------------------------------------------


def test_an_untrusted_certificate_names_the_host_and_the_verification_error():
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)

    async def never_reached(reader, writer):
        writer.close()

    error, address = asyncio.run(against(never_reached, scheme="https", tls=server_context))
    assert (type(error), error.reason) == (ConnectionFailed, "tls")
    message = assert_plain(error, address)
    assert message.startswith(f"search: TLS certificate of {address} not accepted (unable to get local issuer "
                              "certificate); check convoso.base_url, or point SSL_CERT_FILE at the CA bundle")


def test_https_to_a_plain_http_port_says_so():
    async def plain(reader, writer):
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    error, address = asyncio.run(against(plain, scheme="https"))
    assert error.reason == "tls"
    assert assert_plain(error, address) == (
        f"search: TLS handshake with {address} failed (wrong version number); is it an HTTPS port? "
        "check convoso.base_url")


def test_https_to_a_port_that_never_speaks_is_a_tls_timeout():
    # Our own HTTP server (the simulator) waits for a request head that a ClientHello never ends.
    async def mute(reader, writer):
        await asyncio.sleep(10)

    error, address = asyncio.run(against(mute, scheme="https", timeout=0.3))
    assert (type(error), error.reason) == (ApiTimeout, "tls")
    assert assert_plain(error, address) == (
        f"search: TLS handshake with {address} not done within 0.3s; is it an HTTPS port? check convoso.base_url "
        "and the network path")


# --- connected, then broken ----------------------------------------------------------


def test_a_reset_before_the_answer():
    async def reset(reader, writer):
        await read_request(reader)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    error, address = asyncio.run(against(reset))
    assert (type(error), error.reason) == (ConnectionFailed, "reset")
    assert assert_plain(error, address).startswith(
        f"search: connection to {address} reset while waiting for the answer (Connection reset by peer)")


def test_a_close_before_the_answer():
    async def close(reader, writer):
        await read_request(reader)
        writer.close()

    error, address = asyncio.run(against(close))
    assert (type(error), error.reason) == (ConnectionFailed, "closed")
    assert assert_plain(error, address).startswith(f"search: {address} closed the connection before answering;")


def part_of_an_answer(body: bytes, then_wait: float = 0.0) -> Handler:
    """A handler that announces 100 bytes, sends `body`, waits, and closes."""

    async def answer(reader, writer):
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" + body)
        await writer.drain()
        await asyncio.sleep(then_wait)
        writer.close()

    return answer


def test_an_answer_cut_short_quotes_h11():
    error, address = asyncio.run(against(part_of_an_answer(b"{}")))
    assert (type(error), error.reason) == (ConnectionFailed, "http")
    assert assert_plain(error, address).startswith(
        f"search: {address} broke the HTTP exchange while reading the answer (peer closed connection without "
        "sending complete message body (received 2 bytes, expected 100))")


def test_no_answer_in_time_is_a_timeout_while_waiting():
    async def silent(reader, writer):
        await read_request(reader)
        await asyncio.sleep(10)

    error, address = asyncio.run(against(silent, timeout=0.3))
    assert (type(error), error.reason) == (ApiTimeout, "wait")
    assert assert_plain(error, address).startswith(
        f"search: no complete answer within 0.3s from {address} (connected, waiting for the answer)")


def test_a_body_too_slow_is_a_timeout_while_reading():
    error, address = asyncio.run(against(part_of_an_answer(b"{", then_wait=10), timeout=0.3))
    assert (type(error), error.reason) == (ApiTimeout, "read")
    assert_plain(error, f"within 0.3s from {address} (the answer came too slowly)")


# --- where -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "address"),
    [
        ("https://api.convoso.com/v1", "api.convoso.com", "api.convoso.com:443"),
        ("http://127.0.0.1:18080/v1", "127.0.0.1", "127.0.0.1:18080"),
        ("http://[::1]/v1", "[::1]", "[::1]:80"),
        ("https://user:pw@Api.Example:8443/v1?x=1", "api.example", "api.example:8443"),
    ],
)
def test_endpoint_of_a_base_url(url, host, address):
    assert Endpoint.of(url) == (host, address)
