"""web/inprocess.py: a `web.http` handler serving an httpx client without sockets."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from convoso_exporter.web.cutshort import CutShort
from convoso_exporter.web.http import Request, Response
from convoso_exporter.web.inprocess import InProcessTransport


def exchange(handler, **request):
    async def main():
        async with httpx.AsyncClient(transport=InProcessTransport(handler)) as client:
            return await client.request("POST", "http://x.invalid/v1/a%20b?q=1&e=", **request)

    return asyncio.run(main())


def test_the_handler_gets_the_request_and_its_answer_is_the_response():
    got = []

    async def handler(request: Request) -> Response:
        got.append(request)
        return Response(201, b"made", "text/plain", [("Retry-After", "3")])

    response = exchange(handler, data={"k": "v w"})
    (request,) = got
    assert (request.method, request.path, request.query, request.form()) == ("POST", "/v1/a b", {"q": "1", "e": ""},
                                                                              {"k": "v w"})
    assert (response.status_code, response.text, response.headers["retry-after"]) == (201, "made", "3")


def test_a_handler_bug_is_a_500_and_a_cut_short_answer_is_a_reset():
    async def broken(request: Request) -> Response:
        raise RuntimeError("bug")

    assert exchange(broken).status_code == 500

    async def cut(request: Request) -> Response:
        return CutShort(200, b"0123456789", sent=4)

    with pytest.raises(httpx.ReadError):
        exchange(cut)


def test_the_path_is_decoded_once_as_the_http_server_decodes_it():
    """httpx's `url.path` is already percent-decoded: decoding it again made `%2520` a
    space here where the HTTP server (web/http.py: unquote of the raw target) gives `%20`."""
    got = []

    async def handler(request: Request) -> Response:
        got.append(request.path)
        return Response(200, b"", "text/plain")

    async def main():
        async with httpx.AsyncClient(transport=InProcessTransport(handler)) as client:
            await client.get("http://x.invalid/v1/a%2520b%3Fc?q=%2541")

    asyncio.run(main())
    assert got == ["/v1/a%20b?c"]
