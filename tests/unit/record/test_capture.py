"""record/capture.py: the exchanges as the client made and read them, never the token;
recording changes nothing the client sees."""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.errors import ConnectionFailed, ConvosoError, RateLimited, ResponseTooLarge, secret_forms
from convoso_exporter.record.capture import Recorder
from convoso_exporter.web.cutshort import CutShort
from convoso_exporter.web.http import Request, Response
from convoso_exporter.web.inprocess import InProcessTransport

TOKEN = "T0K+EN/s3cr=t ü"
URL = "http://api.invalid/v1"
JSON = "application/json; charset=utf-8"
ANSWER = json.dumps({"agents": [{"user_id": "1", "status": "READY"}], "agent_total": 1}).encode()


def run(handler, call, *, max_bytes: int = 1 << 20, transport: httpx.AsyncBaseTransport | None = None):
    """(what the client got, or the error it raised; the exchanges recorded): from
    `handler` in-process, or from `transport` when given."""

    async def main():
        recorder = Recorder(URL, TOKEN, max_bytes)
        through = recorder.transport(transport or InProcessTransport(handler))
        async with ConvosoClient(URL, TOKEN, transport=through, max_response_bytes=max_bytes) as client:
            try:
                got = await call(client)
            except ConvosoError as err:
                got = err
        return got, recorder.exchanges

    return asyncio.run(main())


def plain(client_call, handler, **kwargs):
    """What the client gets from `handler` with no recording at all."""

    async def main():
        async with ConvosoClient(URL, TOKEN, transport=InProcessTransport(handler), **kwargs) as client:
            try:
                return await client_call(client)
            except ConvosoError as err:
                return err

    return asyncio.run(main())


async def answer(request: Request) -> Response:
    return Response(200, ANSWER, JSON)


def search(client):
    return client.search(campaign_id="1001", skills=["spanish", "sales"])


def test_a_request_is_recorded_by_endpoint_and_filters_and_never_holds_the_token():
    seen = []

    async def echo(request: Request) -> Response:
        seen.append(request)
        return Response(200, ANSWER, JSON)

    result, [exchange] = run(echo, search)
    assert result.agents[0].user_id == "1"
    assert seen[0].query["auth_token"] == TOKEN  # it was sent...
    assert exchange.endpoint == "/agent-monitor/search"
    assert exchange.method == "POST"
    assert exchange.params == {"campaign_id": "1001", "filter_by_skill_options": "spanish,sales"}
    assert (exchange.status, exchange.complete, exchange.failure) == (200, True, None)
    assert exchange.body == ANSWER and exchange.received == len(ANSWER)
    assert exchange.headers["content-type"] == JSON
    recorded = repr(exchange)
    assert not any(form in recorded for form in secret_forms(TOKEN))  # ...and never recorded


def test_a_compressed_answer_is_recorded_decoded_and_the_client_reads_it_as_ever():
    packed = gzip.compress(ANSWER)

    async def gzipped(request: Request) -> Response:
        return Response(200, packed, JSON, [("Content-Encoding", "gzip")])

    result, [exchange] = run(gzipped, search)
    assert result == plain(search, answer)
    assert exchange.body == ANSWER and exchange.decoded
    assert exchange.received == len(packed)
    assert exchange.headers["content-encoding"] == "gzip"


def test_an_answer_the_status_decides_is_recorded_without_a_body_the_client_never_read():
    async def limited(request: Request) -> Response:
        return Response(429, b'{"error": "slow down"}', JSON, [("Retry-After", "7")])

    error, [exchange] = run(limited, search)
    assert isinstance(error, RateLimited) and error.retry_after == 7
    assert (exchange.status, exchange.headers["retry-after"], exchange.body) == (429, "7", b"")
    assert not exchange.complete and exchange.failure is None


def test_an_answer_declared_over_the_size_bound_is_recorded_unread():
    big = b'{"agents": [' + b" " * 5000 + b"]}"

    async def huge(request: Request) -> Response:
        return Response(200, big, JSON)

    error, [exchange] = run(huge, search, max_bytes=1024)
    assert isinstance(error, ResponseTooLarge)
    assert exchange.headers["content-length"] == str(len(big))
    assert exchange.body == b"" and not exchange.complete and not exchange.truncated


def test_an_answer_that_grows_over_the_size_bound_is_kept_up_to_the_bound_only():
    chunks = [b'{"agents": [', *[b" " * 1000] * 5, b"]}"]

    class Streaming(httpx.AsyncBaseTransport):  # no Content-Length: chunked, as a server streams it
        async def handle_async_request(self, request):
            async def body():
                for chunk in chunks:
                    yield chunk

            return httpx.Response(200, headers={"Content-Type": JSON}, content=body(), request=request)

    error, [exchange] = run(None, lambda client: client.search(), max_bytes=1024, transport=Streaming())
    assert isinstance(error, ResponseTooLarge)
    assert exchange.truncated and not exchange.complete and exchange.failure is None
    assert len(exchange.body) == 1024 and b"".join(chunks).startswith(exchange.body)
    assert exchange.received > 1024


def test_a_connection_reset_mid_answer_is_recorded_with_what_came():
    async def reset(request: Request) -> Response:
        return CutShort(200, ANSWER, JSON, sent=10)

    error, [exchange] = run(reset, search)
    assert isinstance(error, ConnectionFailed)
    assert exchange.failure == "ReadError" and exchange.body == ANSWER[:10] and not exchange.complete


def test_no_answer_at_all_is_recorded_as_a_failure_without_status():
    class Refusing(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            raise httpx.ConnectError("refused")

    error, [exchange] = run(None, lambda client: client.search(), transport=Refusing())
    assert isinstance(error, ConnectionFailed)
    assert (exchange.status, exchange.failure, exchange.params) == (None, "ConnectError", {})


@pytest.mark.parametrize("call", [search, lambda client: client.logout("42")], ids=["search", "logout"])
def test_recording_changes_nothing_the_client_gets(call):
    async def logout_or_search(request: Request) -> Response:
        if request.path.endswith("/logout"):
            return Response(200, b'{"success": false, "code": 6012, "error": "User is not logged in"}', JSON)
        return Response(200, ANSWER, JSON)

    recorded, [exchange] = run(logout_or_search, call)
    direct = plain(call, logout_or_search)
    assert repr(recorded) == repr(direct)
    assert exchange.endpoint in ("/agent-monitor/search", "/agent-monitor/logout")
