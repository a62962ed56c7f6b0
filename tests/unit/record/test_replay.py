"""record/replay.py: a recording served to the real client gives it what the recorded
exchange gave it; what the recording does not hold gets the documented not-found error."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from pathlib import Path

import httpx
import pytest

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.errors import ApiError, AuthError, ConvosoError
from convoso_exporter.record.capture import Exchange, Recorder
from convoso_exporter.record.folder import Recording
from convoso_exporter.record.replay import Replay
from convoso_exporter.web.cutshort import CutShort
from convoso_exporter.web.http import Request, Response
from convoso_exporter.web.inprocess import InProcessTransport

TOKEN = "replay-T0KEN"
URL = "http://replay.invalid/v1"
JSON = "application/json; charset=utf-8"
MAX = 4096


def answer(total: int) -> bytes:
    return json.dumps({"agents": [{"user_id": "1", "status": "READY"}], "agent_total": total}).encode()


def recording_of(*exchanges: Exchange) -> Recording:
    return Recording(Path("/nowhere"), {"config": {"convoso": {"max_response_bytes": MAX}}}, exchanges)


def exchange(number: int, params: dict, body: bytes, status: int | None = 200, **fields) -> Exchange:
    return Exchange(number, 0.0, "POST", "/agent-monitor/search", params, status,
                    {"content-type": JSON}, body, len(body), complete=True, **fields)


async def ask(transport, call, token: str = TOKEN):
    async with ConvosoClient(URL, token, transport=transport, max_response_bytes=MAX) as client:
        try:
            return await call(client)
        except ConvosoError as err:
            return err


def replayed(recording: Recording, call, token: str = TOKEN):
    return asyncio.run(ask(Replay(recording, TOKEN).transport(), call, token))


def test_an_answer_is_matched_by_endpoint_and_parameters_and_several_come_in_turn():
    recording = recording_of(
        exchange(1, {}, answer(1)),
        exchange(2, {"campaign_id": "7", "filter_by_skill_options": "a,b"}, answer(2)),
        exchange(3, {}, answer(3)),
    )
    replay = Replay(recording, TOKEN)

    async def main():
        transport = replay.transport()
        totals = [(await ask(transport, lambda c: c.search())).agent_total for _ in range(3)]
        scoped = await ask(transport, lambda c: c.search(skills=["a", "b"], campaign_id="7"))
        return totals, scoped.agent_total

    assert asyncio.run(main()) == ([1, 3, 1], 2)
    assert (replay.served, replay.unmatched) == (4, 0)


@pytest.mark.parametrize(("call", "code", "error"), [
    (lambda c: c.search(campaign_id="9", queue_id="8"), 6026, "Campaign not found"),
    (lambda c: c.search(queue_id="8"), 6041, "Queue not found"),
    (lambda c: c.search(user_id="5"), 6006, "User not found"),
    (lambda c: c.search(skills=["x"]), 6006, "User not found"),
    (lambda c: c.logout("5"), 6006, "User not found"),
], ids=["campaign", "queue", "user", "no-id", "logout"])
def test_what_the_recording_does_not_hold_gets_the_documented_not_found_error(call, code, error, caplog):
    with caplog.at_level(logging.WARNING, logger="convoso_exporter.record.replay"):
        got = replayed(recording_of(exchange(1, {}, answer(1))), call)
        replayed(recording_of(exchange(1, {}, answer(1))), call)
    assert isinstance(got, ApiError) and got.code == code and error in str(got)
    assert len([r for r in caplog.records if "no recorded answer" in r.getMessage()]) == 2  # once per replay


def test_the_replay_wants_its_token_and_serves_only_the_api():
    recording = recording_of(exchange(1, {}, answer(1)))
    assert isinstance(replayed(recording, lambda c: c.search(), token="wrong"), AuthError)

    async def raw(method: str, path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=Replay(recording, TOKEN).transport()) as client:
            return await client.request(method, f"http://replay.invalid{path}", params={"auth_token": TOKEN})

    page = asyncio.run(raw("POST", "/v1/nothing/here"))
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert asyncio.run(raw("GET", "/v1/agent-monitor/search")).status_code == 405


async def capture_then_replay(handler, call):
    """(what the client got from `handler`, what it gets from the replay of that exchange)."""
    recorder = Recorder(URL, TOKEN, MAX)
    direct = await ask(recorder.transport(InProcessTransport(handler)), call)
    return direct, await ask(Replay(recording_of(*recorder.exchanges), TOKEN).transport(), call)


def served(status: int, body: bytes, headers=(), **extra):
    async def handler(request: Request) -> Response:
        if "cut" in extra:
            return CutShort(status, body, JSON, list(headers), sent=extra["cut"])
        return Response(status, body, JSON, list(headers))

    return handler


ANSWERS = {
    "ok": served(200, answer(5)),
    "gzip": served(200, gzip.compress(answer(6)), [("Content-Encoding", "gzip")]),
    "broken gzip": served(200, b"\x1f\x8b not gzip", [("Content-Encoding", "gzip")]),
    "api error": served(200, b'{"success": false, "code": 6026, "error": "Campaign not found"}'),
    "429": served(429, b"", [("Retry-After", "30")]),
    "401": served(401, b"no"),
    "500": served(500, b"oops"),
    "html 404": served(404, b"<html>not found</html>"),
    "reset": served(200, answer(7), cut=12),
    "declared too large": served(200, b" " * (MAX + 10) + answer(8)),
    "not json": served(200, b"Warning: mysqli_connect(): Too many connections"),
}


@pytest.mark.parametrize("handler", ANSWERS.values(), ids=ANSWERS.keys())
def test_a_replayed_exchange_gives_the_client_what_the_recorded_one_gave(handler):
    direct, again = asyncio.run(capture_then_replay(handler, lambda c: c.search(campaign_id="3")))
    assert type(again) is type(direct)
    if isinstance(direct, ConvosoError):
        assert str(again) == str(direct)
    else:
        assert again == direct


def test_an_agent_performance_answer_is_served_for_any_day_and_an_unknown_campaign_is_6026():
    """A recording is one day: an exporter polling the replay on another day asks for its own."""
    row = {"user_id": "1", "calls": 4, "human_answered": 3, "am": 1}
    body = json.dumps({"success": True, "total": 1, "data": [row]}).encode()
    recorded = Exchange(1, 0.0, "POST", "/agent-performance/search",
                        {"campaign_ids": "7", "date_end": "2026-11-24", "date_start": "2026-11-24"}, 200,
                        {"content-type": JSON}, body, len(body), complete=True)
    recording = recording_of(recorded)
    later = replayed(recording, lambda client: client.performance("2027-01-05", "7"))
    assert later.day == "2027-01-05" and later.sums()[:3] == (3, 1, 4)
    unknown = replayed(recording, lambda client: client.performance("2027-01-05", "8"))
    assert isinstance(unknown, ApiError) and unknown.code == 6026
    # An endpoint the recording never asked answers as an unknown path does: a 404 page.
    never = replayed(recording, lambda client: client.user_activity())
    assert never.kind == "protocol" and "HTTP 404" in str(never)
