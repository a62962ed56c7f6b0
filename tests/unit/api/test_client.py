"""convoso_exporter.api.client against a respx-mocked Convoso API: round trip, every error kind,
token redaction, request shape, stats and the concurrency bound; then against the
in-process simulator over loopback, in both response styles."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import fields
from email.utils import formatdate
from types import SimpleNamespace
from typing import Any, AsyncIterator
from urllib.parse import parse_qs, quote, quote_plus

import httpx
import pytest
import respx

from convoso_exporter import __version__
from convoso_exporter.api import client as client_module
from convoso_exporter.api.client import ConvosoClient, parse_retry_after
from convoso_exporter.api.errors import (
    AccessDenied,
    ApiError,
    ApiTimeout,
    AuthError,
    ConnectionFailed,
    ConvosoError,
    ProtocolError,
    RateLimited,
    ResponseTooLarge,
    ServerError,
)
from convoso_exporter.api.model import Agent, CallData, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ConvosoSettings
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator
from tests.api_fixtures import DOCUMENTED_RESULT, FIXTURES

BASE = "http://127.0.0.1:18080/v1"
TOKEN = "s3cr3t-T0KEN/+="
TOKEN_FORMS = (TOKEN, quote(TOKEN, safe=""), quote_plus(TOKEN), "s3cr3t")
SEARCH = "/agent-monitor/search"
LOGOUT = "/agent-monitor/logout"


def new_router() -> respx.MockRouter:
    return respx.MockRouter(base_url=BASE, assert_all_called=False)


def make_client(router: respx.MockRouter, **options: Any) -> ConvosoClient:
    return ConvosoClient(BASE, TOKEN, transport=httpx.MockTransport(router.async_handler), **options)


def call(router: respx.MockRouter, method: str = "search", args: dict | None = None, **options: Any) -> Any:
    async def go() -> Any:
        async with make_client(router, **options) as client:
            return await getattr(client, method)(**(args or {}))

    return asyncio.run(go())


def assert_token_free(error: BaseException) -> None:
    """Neither the error nor anything chained to it shows the token in any form."""
    seen: BaseException | None = error
    while seen is not None:
        for text in (str(seen), repr(seen), repr(seen.args)):
            for form in TOKEN_FORMS:
                assert form not in text, f"token leaked via {type(seen).__name__}: {text}"
        seen = seen.__cause__ or seen.__context__


def fail(router: respx.MockRouter, kind: type[ConvosoError], method: str = "search",
         args: dict | None = None, **options: Any) -> ConvosoError:
    """Run one call that must fail with exactly `kind`; check the message hygiene."""
    with pytest.raises(ConvosoError) as caught:
        call(router, method, args, **options)
    error = caught.value
    assert type(error) is kind, repr(error)
    assert_token_free(error)
    message = str(error)
    assert "\n" not in message and message.startswith(f"{method}: ")
    return error


async def endless_body(pulled: list[int], chunk: bytes = b" " * 65536) -> AsyncIterator[bytes]:
    while True:
        pulled.append(len(chunk))
        yield chunk


async def streamed(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# --- success -------------------------------------------------------------------------


def test_documented_flat_response_round_trips_every_field() -> None:
    router = new_router()
    router.post(SEARCH).respond(200, content=(FIXTURES / "search_documented.json").read_bytes(),
                                headers={"Content-Type": "application/json"})
    result = call(router)
    assert result == DOCUMENTED_RESULT
    # Every documented field made it through: nothing left at None.
    assert all(getattr(result.agents[0], f.name) is not None for f in fields(Agent))
    # The documented shape lists no scopes (only the live one does).
    documented = [f for f in fields(SearchResult) if f.name not in ("campaigns", "queues", "statuses")]
    assert all(getattr(result, f.name) is not None for f in documented)
    assert result.campaigns is None and result.queues is None


def test_wrapped_live_response() -> None:
    router = new_router()
    router.post(SEARCH).respond(200, content=(FIXTURES / "search_wrapped_live.json").read_bytes())
    result = call(router)
    assert [a.user_id for a in result.agents] == ["12345", "678"]
    assert result.agents[1].status_time_sec == 12
    assert result.agent_total == 2 and result.agent_paused is None


def test_utf8_bom_is_accepted() -> None:
    router = new_router()
    router.post(SEARCH).respond(200, content=b"\xef\xbb\xbf" + json.dumps({"agent_total": 3}).encode())
    assert call(router).agent_total == 3


def test_filters_in_form_body_and_token_in_query_and_body() -> None:
    router = new_router()
    route = router.post(SEARCH).respond(200, json={"agents": []})
    call(router, args={"campaign_id": "111", "queue_id": "222", "user_id": "12345",
                       "skills": ("english", "sales")})
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url.path == "/v1/agent-monitor/search"
    assert request.url.params["auth_token"] == TOKEN
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["user-agent"] == f"convoso-exporter/{__version__}"
    form = parse_qs(request.content.decode(), strict_parsing=True)
    assert form == {"auth_token": [TOKEN], "campaign_id": ["111"], "queue_id": ["222"],
                    "user_id": ["12345"], "filter_by_skill_options": ["english,sales"]}


def test_unset_filters_are_not_sent() -> None:
    router = new_router()
    route = router.post(SEARCH).respond(200, json={})
    call(router, args={"campaign_id": None, "skills": ()})
    assert parse_qs(route.calls.last.request.content.decode()) == {"auth_token": [TOKEN]}


def test_logout_success_sends_user_id() -> None:
    router = new_router()
    route = router.post(LOGOUT).respond(200, json={"success": True})
    assert call(router, "logout", {"user_id": "12345"}) is None
    request = route.calls.last.request
    assert request.url.params["auth_token"] == TOKEN
    assert parse_qs(request.content.decode()) == {"auth_token": [TOKEN], "user_id": ["12345"]}


def test_requests_reuse_one_pooled_client() -> None:
    router = new_router()
    route = router.post(SEARCH).respond(200, json={"agent_total": 1})

    async def go() -> list[SearchResult]:
        async with make_client(router) as client:
            return [await client.search(), await client.search(), await client.search()]

    assert [r.agent_total for r in asyncio.run(go())] == [1, 1, 1]
    assert route.call_count == 3


# --- errors by status --------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_auth_status(status: int) -> None:
    router = new_router()
    router.post(SEARCH).respond(status, text=f"denied for {TOKEN}")
    error = fail(router, AuthError)
    assert error.status == status
    assert str(error).startswith(f"search: HTTP {status}: ")


def test_invalid_token_body_is_auth_error_and_redacted() -> None:
    router = new_router()
    body = {"success": False, "error": f"Invalid authentication token {TOKEN}"}
    router.post(SEARCH).respond(200, json=body)
    error = fail(router, AuthError)
    assert "Invalid authentication token <redacted>" in str(error)
    assert str(error).startswith("search: HTTP 200: ")


@pytest.mark.parametrize(
    ("method", "body", "code"),
    [
        ("search", {"success": False, "code": 6006, "text": "Missing or invalid user"}, 6006),
        ("logout", {"success": False, "code": 6006, "text": "Missing or invalid user"}, 6006),
        ("logout", {"success": False, "code": 6012, "error": "User is not logged in"}, 6012),
        ("search", {"success": False, "code": "6026", "message": "Invalid campaign ID"}, 6026),
        ("search", {"success": False, "code": 6041, "error": "Queue not found"}, 6041),
        ("search", {"success": False, "error": "Campaign not found"}, 6026),
    ],
)
def test_api_error_codes(method: str, body: dict, code: int) -> None:
    router = new_router()
    router.post(SEARCH if method == "search" else LOGOUT).respond(200, json=body)
    error = fail(router, ApiError, method, {"user_id": "1"} if method == "logout" else None)
    assert error.code == code
    assert f"Convoso error {code}" in str(error)


def test_other_4xx_with_json_error_body_is_that_error() -> None:
    router = new_router()
    router.post(SEARCH).respond(400, json={"success": False, "code": 6041, "error": "Queue not found"})
    error = fail(router, ApiError)
    assert error.code == 6041 and str(error).startswith("search: HTTP 400: ")


@pytest.mark.parametrize(
    ("status", "body", "headers", "words"),
    [
        (404, b"<html><body>Not Found</body></html>", {"Content-Type": "text/html"}, "HTML page"),
        (400, b'{"weird": true}', {}, "unexpected status"),
        (302, b"", {"Location": f"{BASE}/login?auth_token={TOKEN}"}, "unexpected status"),
    ],
)
def test_other_status_is_protocol_error(status: int, body: bytes, headers: dict, words: str) -> None:
    router = new_router()
    router.post(SEARCH).respond(status, content=body, headers=headers)
    error = fail(router, ProtocolError)
    assert str(error).startswith(f"search: HTTP {status}: ") and words in str(error)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), (" 120 ", 120.0), ("soon", None), ("-3", None), (None, None)],
)
def test_rate_limited_retry_after_seconds(header: str | None, expected: float | None) -> None:
    router = new_router()
    router.post(SEARCH).respond(429, headers={"Retry-After": header} if header is not None else {})
    error = fail(router, RateLimited)
    assert error.retry_after == expected
    assert str(error).startswith("search: HTTP 429: rate limited")


def test_rate_limited_retry_after_http_date() -> None:
    router = new_router()
    router.post(SEARCH).respond(429, headers={"Retry-After": formatdate(time.time() + 3600, usegmt=True)})
    error = fail(router, RateLimited)
    assert error.retry_after is not None and 3500 < error.retry_after <= 3601


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 -0000", 10.0),
        ("2.5", 2.5),
        ("nan", None),
        ("Wed, 99 Foo 2015", None),
        ("", None),
    ],
)
def test_parse_retry_after(header: str, expected: float | None) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after(header, now) == expected


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [(500, b"", {}), (502, b"<html><h1>502 Bad Gateway</h1></html>", {"Content-Type": "text/html"}),
     (503, b'{"success": false}', {})],
)
def test_server_errors(status: int, body: bytes, headers: dict) -> None:
    router = new_router()
    router.post(SEARCH).respond(status, content=body, headers=headers)
    error = fail(router, ServerError)
    assert error.status == status and str(error).startswith(f"search: HTTP {status}: ")


# --- errors by body ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "words"),
    [
        (b"<!DOCTYPE html><html>oops</html>", {"Content-Type": "text/html"}, "HTML page"),
        (b"<html>no content type</html>", {}, "HTML page"),
        (b"hello " + TOKEN.encode(), {"Content-Type": "text/plain"}, "not JSON"),
        (b'{"agents": [{"user_id": "1"}', {}, "truncated JSON"),
        (b'{"agents": [{"user_id": "12', {}, "truncated JSON"),
        (b'{"agent_total": 1} trailing', {}, "not JSON"),
        (b"", {}, "empty body"),
        (b"[" * 100000 + b"]" * 100000, {}, "nested too deeply"),
        (b'"just a string"', {}, "expected a JSON object"),
        (b'{"agents": "lots"}', {}, "agents: expected an array or object"),
    ],
)
def test_bad_bodies_are_protocol_errors(body: bytes, headers: dict, words: str) -> None:
    router = new_router()
    router.post(SEARCH).respond(200, content=body, headers=headers)
    error = fail(router, ProtocolError)
    assert words in str(error) and str(error).startswith("search: HTTP 200: ")


def test_a_byte_that_is_not_utf8_costs_its_value_not_the_answer() -> None:
    """It was "body is not valid UTF-8": one agent's name failed the whole account."""
    router = new_router()
    router.post(SEARCH).respond(200, content=b'{"agents": [{"user_id": "1", "user_full_name": "Jos\xe9"}, '
                                             b'{"user_id": "2", "user_full_name": "Ann"}]}')
    stats = ApiStats()
    result = call(router, stats=stats)
    assert [(a.user_id, a.user_full_name) for a in result.agents] == [("1", "Jos\ufffd"), ("2", "Ann")]
    report = stats.drift.report()
    assert [(e.field, e.kind) for e in report.entries if e.kind == "invalid_unicode"] == [
        ("agents.user_full_name", "invalid_unicode")]


def test_logout_without_success_is_protocol_error() -> None:
    router = new_router()
    router.post(LOGOUT).respond(200, json={"ok": 1})
    assert "success" in str(fail(router, ProtocolError, "logout", {"user_id": "1"}))


def test_broken_content_encoding_is_protocol_error() -> None:
    router = new_router()
    garbage = streamed(b"not gzip at all")
    router.post(SEARCH).respond(200, content=garbage, headers={"Content-Encoding": "gzip"})
    assert "Content-Encoding" in str(fail(router, ProtocolError))


def test_too_large_by_content_length_reads_nothing() -> None:
    pulled: list[int] = []
    router = new_router()
    router.post(SEARCH).respond(200, headers={"Content-Length": "1000000"}, content=endless_body(pulled))
    error = fail(router, ResponseTooLarge, max_response_bytes=4096)
    assert "Content-Length 1000000" in str(error)
    assert pulled == []


def test_too_large_while_streaming_stops_reading() -> None:
    pulled: list[int] = []
    router = new_router()
    router.post(SEARCH).respond(200, content=endless_body(pulled))
    error = fail(router, ResponseTooLarge, max_response_bytes=200_000)
    assert "stopped reading" in str(error)
    # 200 kB cap, 64 KiB chunks: the 4th chunk crosses it, and nothing more is pulled.
    assert len(pulled) == 4


def test_body_exactly_at_the_cap_is_accepted() -> None:
    body = json.dumps({"agent_total": 9}).encode()
    router = new_router()
    router.post(SEARCH).respond(200, content=body)
    assert call(router, max_response_bytes=len(body)).agent_total == 9


# --- errors in transport -----------------------------------------------------------


def test_total_deadline_timeout() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json={})

    router = new_router()
    router.post(SEARCH).mock(side_effect=hang)
    error = fail(router, ApiTimeout, timeout=0.05)
    assert "0.05s" in str(error)


def test_body_that_trickles_past_the_deadline_times_out() -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"agents": ['
        await asyncio.sleep(30)
        yield b"]}"

    router = new_router()
    router.post(SEARCH).respond(200, content=trickle())
    fail(router, ApiTimeout, timeout=0.05)


def raising(exc_type: type[httpx.HTTPError]):
    def effect(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"failed talking to {request.url}", request=request)

    return effect


@pytest.mark.parametrize(
    ("exc_type", "kind", "reason"),
    [
        (httpx.ConnectTimeout, ApiTimeout, "connect"),
        (httpx.ReadTimeout, ApiTimeout, "read"),
        (httpx.ConnectError, ConnectionFailed, "other"),
        (httpx.ReadError, ConnectionFailed, "other"),
        (httpx.RemoteProtocolError, ConnectionFailed, "closed"),
        (httpx.WriteError, ConnectionFailed, "other"),
    ],
)
def test_transport_errors(exc_type: type[httpx.HTTPError], kind: type[ConvosoError], reason: str) -> None:
    """A mocked transport wraps nothing: the class says what failed. Real failures, told
    from what httpx wraps, are in test_failures.py."""
    router = new_router()
    router.post(SEARCH).mock(side_effect=raising(exc_type))
    error = fail(router, kind)
    assert error.__cause__ is None and error.__context__ is None
    assert error.reason == reason
    # Named by host and port; the httpx exception's text (it holds the URL) is not quoted.
    assert "127.0.0.1:18080" in str(error)
    assert "failed talking to" not in str(error) and "<redacted>" not in str(error)
    if reason == "other":
        assert str(error).endswith(f"({exc_type.__name__}); check convoso.base_url and that this machine can reach it")


def test_connection_dropped_mid_body() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b'{"agents": ['
        raise httpx.ReadError("connection reset")

    router = new_router()
    router.post(SEARCH).respond(200, content=broken())
    error = fail(router, ConnectionFailed)
    assert str(error).startswith("search: connection to 127.0.0.1:18080 failed while reading the answer (ReadError)")


def test_parse_errors_have_no_chained_context() -> None:
    router = new_router()
    router.post(SEARCH).respond(200, content=b'{"agents": [')
    error = fail(router, ProtocolError)
    assert error.__cause__ is None and error.__context__ is None


# --- stats -------------------------------------------------------------------------


def test_stats_record_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    # The client's clock only moves when the fake API answers, by a known step per request.
    now = [100.0]
    monkeypatch.setattr(client_module, "time", SimpleNamespace(perf_counter=lambda: now[0], time=time.time))

    def answer(seconds: float, response: httpx.Response):
        def respond(request: httpx.Request) -> httpx.Response:
            now[0] += seconds
            return response
        return respond

    stats = ApiStats()
    router = new_router()
    search_answers = [
        answer(0.25, httpx.Response(200, json={})),
        answer(0.5, httpx.Response(500)),
        answer(1.0, httpx.Response(200, content=b"<html>")),
        answer(2.0, httpx.Response(200, json={"success": False, "code": 6026})),
    ]
    router.post(SEARCH).mock(side_effect=lambda request: search_answers.pop(0)(request))
    router.post(LOGOUT).mock(side_effect=answer(0.125, httpx.Response(200, json={"success": True})))

    async def go() -> None:
        async with make_client(router, stats=stats) as client:
            await client.search()
            for _ in range(3):
                with pytest.raises(ConvosoError):
                    await client.search()
            await client.logout("7")

    asyncio.run(go())
    assert stats.requests == {("search", "success"): 1, ("search", "server"): 1,
                              ("search", "protocol"): 1, ("search", "api"): 1,
                              ("logout", "success"): 1}
    assert stats.latency["search"].count == 4
    assert stats.latency["logout"].count == 1
    # Each request's own time, whether it succeeded, failed on status or failed on its body.
    assert stats.latency["search"].sum == 0.25 + 0.5 + 1.0 + 2.0
    assert stats.latency["logout"].sum == 0.125


def test_timeouts_and_connection_failures_are_recorded() -> None:
    stats = ApiStats()
    router = new_router()
    router.post(SEARCH).mock(side_effect=[raising(httpx.ConnectError), raising(httpx.ReadTimeout)])

    async def go() -> None:
        async with make_client(router, stats=stats) as client:
            for _ in range(2):
                with pytest.raises(ConvosoError):
                    await client.search()

    asyncio.run(go())
    assert stats.requests == {("search", "connection"): 1, ("search", "timeout"): 1}


def test_every_request_ends_in_exactly_one_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    """A number of thousands of digits was a ValueError from json.loads, outside the
    taxonomy: not counted at all. Then a protocol error; now a value cleared (counted in
    the shape telemetry). A body that is not JSON is a protocol error; and a bug in
    parsing is counted as `internal` (and raised as it is)."""
    stats = ApiStats()
    router = new_router()
    answers = [httpx.Response(200, content=b'{"agent_total": ' + b"7" * 5000 + b"}"),
               httpx.Response(200, content=b'{"agents": [{"user_id": "1"'),
               httpx.Response(200, json={"agents": []}), httpx.Response(200, json={})]
    router.post(SEARCH).mock(side_effect=lambda request: answers.pop(0))

    def buggy(doc, **options):
        raise RuntimeError("a bug")

    async def go() -> None:
        async with make_client(router, stats=stats) as client:
            assert (await client.search()).agent_total is None
            with pytest.raises(ProtocolError, match="truncated JSON"):
                await client.search()
            monkeypatch.setattr(client_module, "read_search", buggy)
            with pytest.raises(RuntimeError):
                await client.search()
            monkeypatch.undo()
            await client.search()

    asyncio.run(go())
    assert stats.requests == {("search", "protocol"): 1, ("search", "internal"): 1, ("search", "success"): 2}
    assert [(e.field, e.kind, e.answers) for e in stats.drift.report().entries if e.kind == "out_of_bounds"] == [
        ("agent_total", "out_of_bounds", 1)]


# --- concurrency -------------------------------------------------------------------


def test_concurrency_is_bounded() -> None:
    in_flight = 0
    most = 0
    release = asyncio.Event()

    async def held(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return httpx.Response(200, json={"agent_total": 1})

    router = new_router()
    route = router.post(SEARCH).mock(side_effect=held)

    async def go() -> list[SearchResult]:
        async with make_client(router, concurrency=2) as client:
            tasks = [asyncio.create_task(client.search()) for _ in range(6)]
            while in_flight < 2:
                await asyncio.sleep(0)
            for _ in range(50):  # give the other four every chance to get in
                await asyncio.sleep(0)
            assert in_flight == 2
            release.set()
            return await asyncio.gather(*tasks)

    results = asyncio.run(go())
    assert [r.agent_total for r in results] == [1] * 6
    assert most == 2 and route.call_count == 6


def test_waiting_for_a_slot_does_not_count_against_the_deadline() -> None:
    async def slowish(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(200, json={"agent_total": 1})

    router = new_router()
    router.post(SEARCH).mock(side_effect=slowish)

    async def go() -> list[SearchResult]:
        # One slot: the third request waits ~0.6 s, longer than the 0.5 s deadline.
        async with make_client(router, concurrency=1, timeout=0.5) as client:
            return await asyncio.gather(*(client.search() for _ in range(3)))

    assert [r.agent_total for r in asyncio.run(go())] == [1, 1, 1]


# --- construction ------------------------------------------------------------------


def test_repr_hides_token() -> None:
    client = ConvosoClient(BASE, TOKEN)
    text = repr(client)
    assert "127.0.0.1:18080" in text
    assert all(form not in text for form in TOKEN_FORMS)
    asyncio.run(client.aclose())


def test_from_settings_takes_every_client_setting_from_the_convoso_section() -> None:
    settings = ConvosoSettings(base_url=BASE + "/", auth_token=TOKEN, timeout=2.5, concurrency=3,
                               max_response_bytes=1234, max_backoff=9.0)
    stats = ApiStats()
    configured = ConvosoClient.from_settings(settings, stats=stats)
    single = ConvosoClient.from_settings(settings, concurrency=1)
    assert repr(configured) == f"ConvosoClient(base_url={BASE!r}, timeout=2.5, concurrency=3)"
    assert configured._token == TOKEN and configured._max_bytes == 1234 and configured._stats is stats
    assert repr(single) == f"ConvosoClient(base_url={BASE!r}, timeout=2.5, concurrency=1)"
    assert single._stats is None
    for client in (configured, single):
        asyncio.run(client.aclose())


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"base_url": "127.0.0.1:18080"}, "base_url"),
        ({"base_url": f"ftp://{TOKEN}@x"}, "base_url"),
        ({"timeout": 0}, "timeout"),
        ({"concurrency": 0}, "concurrency"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
    ],
)
def test_bad_settings_are_one_line_value_errors(options: dict, words: str) -> None:
    base_url = options.pop("base_url", BASE)
    with pytest.raises(ValueError) as caught:
        ConvosoClient(base_url, TOKEN, **options)
    assert str(caught.value).startswith(f"{words}: ")
    assert all(form not in str(caught.value) for form in TOKEN_FORMS)


# --- against the simulator -----------------------------------------------------------
# The real client and the real simulator over loopback: every documented field
# round-trips, filters narrow the answer, logout and its error codes map to the
# taxonomy, in both response styles.

SIM_TOKEN = "round-trip-token"


async def with_simulator(style: str, work):
    center = ContactCenter(agents=30, campaigns=2, queues=3, seed=11, clock=FakeClock(0.0), start_wall=1795514400.0)
    sim = Simulator(center, token=SIM_TOKEN, style=style)
    await sim.start("127.0.0.1", 0)
    try:
        async with ConvosoClient(sim.base_url, SIM_TOKEN) as client:
            return await work(client, center, sim.base_url)
    finally:
        await sim.close()


def test_documented_style_round_trips_every_documented_field():
    async def work(client, center, base_url):
        return await client.search()

    result = asyncio.run(with_simulator("documented", work))
    assert len(result.agents) == 30
    for agent in result.agents:
        missing = [f.name for f in fields(Agent) if getattr(agent, f.name) is None]
        assert missing == [], f"agent {agent.user_id} lost {missing}"
    missing_root = [f.name for f in fields(SearchResult) if getattr(result, f.name) is None]
    # Only the live style lists scopes; the statuses of an answer whose agents are kept are counted from them.
    assert missing_root == ["campaigns", "queues", "statuses"]
    assert all(getattr(result.call_data, f.name) is not None for f in fields(CallData))
    assert result.agent_total == len(result.agents)


@pytest.mark.parametrize("style", ["documented", "live"])
def test_filters_narrow_the_answer(style):
    async def work(client, center, base_url):
        campaign = center.campaign_ids()[0]
        queue = center.queue_ids()[1]
        by_campaign = await client.search(campaign_id=campaign)
        by_queue = await client.search(queue_id=queue)
        by_skill = await client.search(skills=["spanish"])
        return campaign, queue, by_campaign, by_queue, by_skill

    campaign, queue, by_campaign, by_queue, by_skill = asyncio.run(with_simulator(style, work))
    assert by_campaign.agents and {a.campaign_id for a in by_campaign.agents} == {campaign}
    # The live style leaves some queue_ids empty ("" → None); none may be another queue.
    assert by_queue.agents and {a.queue_id for a in by_queue.agents} <= {queue, None}
    assert by_skill.agents and all("spanish" in (a.skill_options or ()) for a in by_skill.agents)


def test_unknown_ids_and_logout_errors_map_to_api_errors():
    async def work(client, center, base_url):
        codes = []
        for kwargs in ({"campaign_id": "999999"}, {"queue_id": "999999"}, {"user_id": "999999"}):
            with pytest.raises(ApiError) as err:
                await client.search(**kwargs)
            codes.append(err.value.code)
        user = center.agent_ids()[0]
        await client.logout(user)
        with pytest.raises(ApiError) as again:
            await client.logout(user)
        codes.append(again.value.code)
        return codes

    assert asyncio.run(with_simulator("documented", work)) == [6026, 6041, 6006, 6012]


def test_wrong_token_is_an_auth_error_without_the_token():
    async def work(client, center, base_url):
        async with ConvosoClient(base_url, "not-the-token-xyz") as wrong:
            with pytest.raises(AuthError) as err:
                await wrong.search()
        return err.value

    error = asyncio.run(with_simulator("documented", work))
    assert "not-the-token-xyz" not in str(error) + repr(error)



def test_a_content_length_of_digits_int_cannot_read_is_not_a_crash() -> None:
    # latin-1 "\xb2" is "²": str.isdigit() says yes, int() raised a ValueError (an "internal" poll).
    router = new_router()
    body = json.dumps({"success": True, "data": {"agents": []}}).encode()
    router.post(SEARCH).respond(200, headers={"Content-Length": b"\xb2"}, content=body)
    result = call(router)
    assert result.agents == ()


# --- the optional endpoints: agent-performance and user-activity search ---------------

PERFORMANCE, ACTIVITY = "/agent-performance/search", "/user-activity/search"
ROW = {"user_id": "1", "calls": 3, "human_answered": 2, "am": 1, "talk_sec": "00:01:00", "wait_sec": "00:00:30",
       "pause_sec": "00:00:00", "wrap_sec": "00:00:10"}


def test_the_optional_endpoints_post_their_forms_and_read_every_page_each_in_turn():
    router = new_router()
    pages = {None: [ROW, dict(ROW, user_id="2")], "2": [dict(ROW, user_id="3")]}
    route = router.post(PERFORMANCE).mock(side_effect=lambda request: httpx.Response(200, json={
        "success": True, "total": 3, "data": pages[parse_qs(request.content.decode()).get("page", [None])[0]]}))
    router.post(ACTIVITY).respond(200, json={"success": True, "data": {"available_agents": "2", "logged_in_agents": 7}})
    turns: list[int] = []
    stats = ApiStats()

    async def go():
        async def turn() -> None:
            turns.append(len(route.calls))

        async with make_client(router, stats=stats) as client:
            return (await client.performance("2026-11-24", "1001", turn=turn), await client.user_activity("1001"))

    answer, activity = asyncio.run(go())
    assert [agent.user_id for agent in answer.agents] == ["1", "2", "3"] and answer.sums()[:3] == (6, 3, 9)
    assert answer.day == "2026-11-24" and turns == [1]  # the second page waited its turn, the first was the poll's
    first, second = (parse_qs(call.request.content.decode()) for call in route.calls)
    assert first == {"auth_token": [TOKEN], "date_start": ["2026-11-24"], "date_end": ["2026-11-24"],
                     "campaign_ids": ["1001"]}
    assert second == {**first, "page": ["2"]}
    assert route.calls.last.request.url.params["auth_token"] == TOKEN
    assert (activity.logged_in, activity.available) == (7, 2)
    assert stats.requests == {("performance", "success"): 2, ("user_activity", "success"): 1}
    drift = {(entry.endpoint, entry.field, entry.kind) for entry in stats.drift.report().entries}
    assert ("user_activity", "available_agents", "number_as_text") in drift
    assert ("performance", "data.others", "missing_field") in drift


@pytest.mark.parametrize(("status", "body"), [
    (403, {"success": False, "error": "Forbidden"}),
    (200, {"success": False, "code": 403, "text": "Access denied: no Agent Performance permission"}),
])
def test_a_token_without_the_permission_is_denied_for_that_endpoint_alone(status, body):
    router = new_router()
    router.post(PERFORMANCE).respond(status, json=body)
    router.post(ACTIVITY).respond(status, json=body)
    router.post(SEARCH).respond(403, json=body)
    stats = ApiStats()
    denied = fail(router, AccessDenied, "performance", {"day": "2026-11-24"}, stats=stats)
    assert denied.kind == "denied" and denied.permission == "Agent Performance"
    assert "lacks the Agent Performance permission" in str(denied)
    assert fail(router, AccessDenied, "user_activity").permission == "User Activity"
    fail(router, AuthError, "search")  # agent-monitor's 403: the token, not a permission
    assert stats.requests == {("performance", "denied"): 1}


def test_an_invalid_token_stays_an_auth_error_on_the_optional_endpoints():
    router = new_router()
    router.post(PERFORMANCE).respond(200, json={"success": False, "error": "Invalid authentication token"})
    router.post(ACTIVITY).respond(401, json={"success": False, "error": "Invalid authentication token"})
    fail(router, AuthError, "performance", {"day": "2026-11-24"})
    fail(router, AuthError, "user_activity")


@pytest.mark.parametrize("style", ["documented", "live"])
def test_the_simulators_optional_endpoints_say_what_its_truth_says(style):
    async def work(client, center, base_url):
        campaign = center.campaign_ids()[0]
        day = center.truth()["today"]
        return (center, campaign, await client.performance(day, campaign), await client.performance(day),
                await client.user_activity(campaign_id=campaign))

    center, campaign, by_campaign, account, activity = asyncio.run(with_simulator(style, work))
    truth = center.truth()["performance"][center.truth()["today"]]
    mine = truth["campaigns"][campaign]
    assert by_campaign.sums() == (mine["live_handled"], mine["machine"], mine["live_handled"] + mine["machine"],
                                  mine["talk"], mine["wait"], mine["pause"], mine["wrap"])
    assert {agent.user_id: agent.figures[0] for agent in account.agents} == {
        user: row["live_handled"] for user, row in truth["agents"].items() if row["live_handled"] or row["logged_in"]}
    agents = center.select(campaign_id=campaign).agents
    assert activity.logged_in == sum(agent.status != "LOGGED_OUT" for agent in agents)
    assert activity.available == sum(agent.status == "READY" for agent in agents)
