"""The simulator over real loopback HTTP: endpoints, filters, tokens, styles, faults,
the control endpoint, the `simulate` command in-process, and 200 concurrent searches.
The `simulate` command as a process: tests/system/test_cli.py."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
from contextlib import asynccontextmanager

import httpx
import pytest

from convoso_exporter.api.parse import parse_search
from convoso_exporter.simulator import FAULTS, ContactCenter, FakeClock, Simulator, performance
from convoso_exporter.simulator import flags as simulator_flags
from convoso_exporter.simulator import server as simulator_server
from tests.support import free_port

NOON = 1_767_268_800  # 2026-01-01 12:00:00 UTC
TOKEN = "s3cret-token"
SEARCH = "/v1/agent-monitor/search"
LOGOUT = "/v1/agent-monitor/logout"
INVALID_TOKEN = {"success": False, "error": "Invalid authentication token"}


def make_center(agents: int = 40, clock=None, **kwargs) -> ContactCenter:
    return ContactCenter(agents=agents, seed=3, clock=clock or FakeClock(), start_wall=NOON, **kwargs)


@asynccontextmanager
async def serving(center: ContactCenter | None = None, **kwargs):
    sim = Simulator(center or make_center(), token=TOKEN, **kwargs)
    await sim.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sim.port}", timeout=10.0) as client:
            yield sim, client
    finally:
        await sim.close()


def run(test):
    """Run an async test body: `test(sim, client)` against a fresh simulator."""

    async def main():
        async with serving() as (sim, client):
            await test(sim, client)

    asyncio.run(main())


async def search(client: httpx.AsyncClient, token: str = TOKEN, **form) -> httpx.Response:
    return await client.post(f"{SEARCH}?auth_token={token}", data=form)


# --- the API ------------------------------------------------------------------------


def test_curl_style_search_answers_the_documented_shape():
    async def test(sim, client):
        cid = sim.center.campaign_ids()[1]
        # curl -s -X POST 'http://127.0.0.1:PORT/v1/agent-monitor/search?auth_token=demo' -d campaign_id=<id>
        response = await client.post(
            f"{SEARCH}?auth_token={TOKEN}",
            content=f"campaign_id={cid}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == sim.center.search(campaign_id=cid)
        assert {agent["campaign_id"] for agent in response.json()["agents"]} == {cid}
        assert sim.base_url == f"http://127.0.0.1:{sim.port}/v1"

    run(test)


def test_every_filter_and_the_token_in_the_body():
    async def test(sim, client):
        center = sim.center
        qid, uid = center.queue_ids()[2], center.agent_ids()[5]
        cases = [
            ({}, {}),
            ({"queue_id": qid}, {"queue_id": qid}),
            ({"user_id": uid}, {"user_id": uid}),
            ({"filter_by_skill_options": "spanish,sales"}, {"skills": "spanish,sales"}),
        ]
        for form, filters in cases:
            in_query = await search(client, **form)
            in_body = await client.post(SEARCH, data={"auth_token": TOKEN, **form})
            assert in_query.json() == in_body.json() == center.search(**filters)

    run(test)


def test_answers_follow_the_clock():
    async def main():
        clock = FakeClock()
        async with serving(make_center(clock=clock)) as (sim, client):
            first = (await search(client, user_id="100002")).json()["agents"][0]
            clock.advance(1)
            second = (await search(client, user_id="100002")).json()["agents"][0]
            assert second == sim.center.search(user_id="100002")["agents"][0]
            if second["status"] == first["status"]:
                assert second["status_time_sec"] == first["status_time_sec"] + 1

    asyncio.run(main())


@pytest.mark.parametrize("token", ["wrong", ""])
def test_wrong_or_missing_token_is_the_documented_error(token):
    async def test(sim, client):
        response = await client.post(SEARCH if not token else f"{SEARCH}?auth_token={token}", data={"auth_token": token})
        assert response.status_code == 200 and response.json() == INVALID_TOKEN
        before = sim.center.search()
        logout = await client.post(f"{LOGOUT}?auth_token={token}", data={"user_id": "100001"})
        assert logout.json() == INVALID_TOKEN
        assert sim.center.search() == before  # nobody was logged out

    run(test)


@pytest.mark.parametrize(
    "form, code, error",
    [
        ({"campaign_id": "42"}, 6026, "Campaign not found"),
        ({"queue_id": "42"}, 6041, "Queue not found"),
        ({"user_id": "42"}, 6006, "User not found"),
    ],
)
def test_unknown_ids_answer_the_documented_codes(form, code, error):
    async def test(sim, client):
        response = await search(client, **form)
        assert response.status_code == 200
        assert response.json() == {"success": False, "code": code, "error": error}

    run(test)


def test_get_is_405_and_unknown_paths_are_html_404():
    async def test(sim, client):
        for path in (SEARCH, LOGOUT):
            response = await client.get(f"{path}?auth_token={TOKEN}")
            assert response.status_code == 405 and response.headers["allow"] == "POST"
        for path in ("/", "/v1/agent-monitor/searches", "/v2/agent-monitor/search"):
            response = await client.post(f"{path}?auth_token={TOKEN}")
            assert response.status_code == 404
            assert response.headers["content-type"].startswith("text/html")
            assert "<html>" in response.text

    run(test)


def test_logout_then_not_logged_in():
    async def test(sim, client):
        uid = next(a["user_id"] for a in sim.center.search()["agents"] if a["status"] != "LOGGED_OUT")
        first = await client.post(f"{LOGOUT}?auth_token={TOKEN}", data={"user_id": uid})
        assert first.json() == {"success": True}
        # Same tick as any cached answer: the logout must still show.
        agent = (await search(client, user_id=uid)).json()["agents"][0]
        assert agent["status"] == "LOGGED_OUT"
        again = await client.post(LOGOUT, data={"auth_token": TOKEN, "user_id": uid})
        assert again.json() == {"success": False, "code": 6012, "error": "User is not logged in"}
        missing = await client.post(f"{LOGOUT}?auth_token={TOKEN}")
        assert missing.json() == {"success": False, "code": 6006, "error": "User not found"}

    run(test)


# --- styles -------------------------------------------------------------------------


def test_live_style_is_wrapped_with_strings_empties_and_extras():
    async def test(sim, client):
        sim.set_style("live")
        center = sim.center
        cid = center.campaign_ids()[0]
        doc = (await search(client, campaign_id=cid)).json()
        entries = doc["data"]["entries"]
        assert doc["success"] is True and entries["success"] is True and entries["code"] == 200
        # The vendor's help-centre shape: {"value": <id as a number>, "name": ...}.
        assert [c["value"] for c in entries["campaigns"]] == [int(cid)]
        assert {q["value"] for q in entries["queues"]} == {int(q) for q in center.campaigns()[0]["queue_ids"]}
        agents = entries["agents"]
        assert isinstance(agents, list)
        documented = center.search(campaign_id=cid)
        assert entries["agent_total"] == documented["agent_total"]
        assert entries["queue_answered"] == str(documented["queue_answered"])
        assert entries["call_data"] == {k: str(v) for k, v in documented["call_data"].items()}
        for agent, plain in zip(agents, documented["agents"]):
            assert agent["calls_today"] == str(plain["calls_today"]) and type(agent["total_calls"]) is int
            assert agent["channel_type"] == "VOICE" and agent["queue_assignment_ids"] == [plain["queue_id"]]
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", agent["last_state_change"])
            assert {"availability_id", "inbound_only"} <= set(agent)
            if plain["status"] in ("READY", "PAUSED", "LOGGED_OUT"):
                assert (agent["call_type"], agent["lead_id"]) == ("-", "0")
            else:
                assert agent["lead_id"] == plain["lead_id"]
        assert {type(a["status_time_sec"]) for a in agents} == {int, str}
        whole = (await search(client)).json()["data"]["entries"]
        assert isinstance(whole["agents"], dict) and list(whole["agents"]) == center.agent_ids()
        assert "" in {a["queue_id"] for a in whole["agents"].values()}

    run(test)


@pytest.mark.parametrize("style", ["documented", "live"])
def test_the_client_parser_reads_both_styles_alike(style):
    async def test(sim, client):
        sim.set_style(style)
        for form in ({}, {"campaign_id": sim.center.campaign_ids()[2]}):
            parsed = parse_search((await search(client, **form)).json())
            expected = parse_search(sim.center.search(**form))
            assert parsed.call_data == expected.call_data
            assert parsed.queue_dialable_leads == expected.queue_dialable_leads
            assert [(a.user_id, a.status, a.status_time_sec, a.calls_today) for a in parsed.agents] == [
                (a.user_id, a.status, a.status_time_sec, a.calls_today) for a in expected.agents
            ]

    run(test)


def test_bad_style_and_latency_are_refused():
    center = make_center()
    with pytest.raises(ValueError):
        Simulator(center, style="fancy")
    with pytest.raises(ValueError):
        Simulator(center, latency=-1)
    with pytest.raises(ValueError):
        Simulator(center, token="")
    assert TOKEN not in repr(Simulator(center, token=TOKEN))


# --- faults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault, status, content_type",
    [
        ("401", 401, "application/json"),
        ("403", 403, "application/json"),
        ("500", 500, "application/json"),
        ("502_html", 502, "text/html"),
        ("not_json", 200, "text/plain"),
        ("wrong_shape", 200, "application/json"),
    ],
)
def test_http_faults(fault, status, content_type):
    async def test(sim, client):
        sim.set_fault(fault)
        before = sim.center.search()
        for response in (await search(client), await client.post(f"{LOGOUT}?auth_token={TOKEN}", data={"user_id": "100001"})):
            assert response.status_code == status
            assert response.headers["content-type"].startswith(content_type)
            if fault == "not_json" or fault == "502_html":
                with pytest.raises(json.JSONDecodeError):
                    response.json()
            if fault == "wrong_shape":
                assert isinstance(response.json(), list)
        assert sim.center.search() == before  # the broken logout did not reach the center

    run(test)


def test_429_carries_retry_after():
    async def test(sim, client):
        sim.set_fault("429", retry_after=7)
        response = await search(client)
        assert response.status_code == 429 and response.headers["retry-after"] == "7"
        sim.set_fault("429")
        assert (await search(client)).headers["retry-after"] == "5"

    run(test)


def test_truncated_json_has_a_matching_content_length():
    async def test(sim, client):
        healthy = (await search(client)).content
        sim.set_fault("truncated")
        response = await search(client)
        assert int(response.headers["content-length"]) == len(response.content) == len(healthy) // 2
        assert healthy.startswith(response.content)
        with pytest.raises(json.JSONDecodeError):
            response.json()

    run(test)


def test_reset_breaks_the_connection_mid_body():
    async def test(sim, client):
        sim.set_fault("reset", times=1)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await search(client)
        assert (await search(client)).status_code == 200  # healed, and a new connection works

    run(test)


def test_too_large_sends_more_than_size_bytes_of_json():
    async def test(sim, client):
        sim.set_fault("too_large", size=200_000)
        response = await search(client)
        assert int(response.headers["content-length"]) == len(response.content) > 200_000
        assert len(response.json()["agents"]) > 1000

    run(test)


def test_slow_and_latency_outlast_a_short_client_timeout():
    async def test(sim, client):
        sim.set_fault("slow", delay=30)
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"{SEARCH}?auth_token={TOKEN}", timeout=0.3)
        sim.clear_faults()
        sim.set_latency(30)
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"{SEARCH}?auth_token={TOKEN}", timeout=0.3)
        sim.set_latency(0)
        assert (await search(client)).status_code == 200

    run(test)


def test_content_faults_bend_the_answer():
    async def test(sim, client):
        ids = sim.center.agent_ids()
        sim.set_fault("agents_null")
        doc = (await search(client)).json()
        assert doc["agents"] is None and doc["agent_total"] == len(ids)
        sim.set_fault("keyed_by_id")
        assert list((await search(client)).json()["agents"]) == ids
        sim.set_fault("strings")
        doc = (await search(client)).json()
        numbers = [v for a in doc["agents"] for v in a.values()] + [doc["queue_answered"], *doc["call_data"].values()]
        assert numbers and not any(isinstance(v, int) for v in numbers)
        sim.set_fault("unknown_status")
        agents = (await search(client)).json()["agents"]
        assert {a["status"] for a in agents[::5]} <= {"LUNCH", "ACW_CUSTOM"}
        assert all(a["status"] not in ("LUNCH", "ACW_CUSTOM") for i, a in enumerate(agents) if i % 5)
        sim.set_fault("hostile_names")
        doc = (await search(client)).json()
        names = "".join(a["user_full_name"] + a["campaign_name"] for a in doc["agents"])
        for evil in ('"', "\\", "\n", "😀", "ע"):
            assert evil in names
        # Content faults leave logout alone.
        uid = next(a["user_id"] for a in sim.center.search()["agents"] if a["status"] != "LOGGED_OUT")
        assert (await client.post(f"{LOGOUT}?auth_token={TOKEN}", data={"user_id": uid})).json() == {"success": True}

    run(test)


def test_a_fault_scoped_to_a_campaign_breaks_only_that_target():
    async def test(sim, client):
        broken, fine = sim.center.campaign_ids()[:2]
        sim.set_fault("500", campaign_id=broken)
        assert (await search(client, campaign_id=broken)).status_code == 500
        assert (await search(client, campaign_id=fine)).status_code == 200
        assert (await search(client)).status_code == 200
        queue = sim.center.queue_ids()[3]
        sim.set_fault("403", queue_id=queue)
        assert (await search(client, queue_id=queue)).status_code == 403
        assert (await search(client, queue_id=sim.center.queue_ids()[0])).status_code == 200
        sim.set_fault(None, campaign_id=broken)
        assert (await search(client, campaign_id=broken)).status_code == 200
        assert (await search(client, queue_id=queue)).status_code == 403

    run(test)


def test_the_most_specific_fault_wins():
    async def test(sim, client):
        cid = sim.center.campaign_ids()[0]
        sim.set_fault("500")
        sim.set_fault("403", campaign_id=cid)
        assert (await search(client, campaign_id=cid)).status_code == 403
        assert (await search(client)).status_code == 500
        sim.set_fault(None)
        assert sim.faults() == []
        assert (await search(client, campaign_id=cid)).status_code == 200

    run(test)


def test_a_fault_with_times_heals_by_itself():
    async def test(sim, client):
        sim.set_fault("429", times=2)
        codes = [(await search(client)).status_code for _ in range(4)]
        assert codes == [429, 429, 200, 200]
        assert sim.faults() == []

    run(test)


@pytest.mark.parametrize(
    "kwargs",
    [{"fault": "418"}, {"fault": "429", "times": 0}, {"fault": "slow", "delay": -1}, {"fault": "too_large", "size": "big"}],
)
def test_bad_faults_are_refused(kwargs):
    sim = Simulator(make_center())
    with pytest.raises(ValueError):
        sim.set_fault(kwargs.pop("fault"), **kwargs)
    assert FAULTS and sim.faults() == []


# --- control endpoint and counters --------------------------------------------------


def test_control_endpoint_breaks_heals_surges_and_restyles():
    async def test(sim, client):
        ctl = f"?auth_token={TOKEN}"
        assert (await client.get("/_sim/state?auth_token=nope")).status_code == 401
        cid = sim.center.campaign_ids()[0]
        state = (await client.post(f"/_sim/fault{ctl}", json={"fault": "429", "campaign_id": cid, "retry_after": 3})).json()
        assert state["faults"] == [
            {"name": "429", "campaign_id": cid, "queue_id": None, "retry_after": 3.0, "delay": None, "times": None, "size": None}
        ]
        assert (await search(client, campaign_id=cid)).headers["retry-after"] == "3"
        await client.post(f"/_sim/fault{ctl}", json={"fault": None})
        assert (await search(client, campaign_id=cid)).status_code == 200
        for bad in (b"{", b"[1]", b'{"fault": "nope"}', b'{"fault": "500", "colour": 1}', b"{}"):
            response = await client.post(f"/_sim/fault{ctl}", content=bad)
            assert response.status_code == 400 and "\n" not in response.json()["error"]
        assert (await client.post(f"/_sim/surge{ctl}", json={"drop_ratio": 0.2})).json()["drop_ratio"] == 0.2
        assert sim.center.drop_ratio == 0.2
        assert (await client.post(f"/_sim/surge{ctl}", json={"drop_ratio": 2})).status_code == 400
        await client.post(f"/_sim/surge{ctl}", json={"drop_ratio": None})
        assert sim.center.drop_ratio == 0.02
        await client.post(f"/_sim/style{ctl}", json={"style": "live"})
        assert "data" in (await search(client)).json()
        assert (await client.post(f"/_sim/style{ctl}", json={"style": "x"})).status_code == 400
        assert (await client.get(f"/_sim/fault{ctl}")).status_code == 405
        assert (await client.post(f"/_sim/state{ctl}")).status_code == 405
        assert (await client.get(f"/_sim/nothing{ctl}")).status_code == 404

    run(test)


def test_state_lists_ids_and_counts_requests_and_connections():
    async def test(sim, client):
        for _ in range(5):
            await search(client)
        state = (await client.get(f"/_sim/state?auth_token={TOKEN}")).json()
        assert [c["campaign_id"] for c in state["campaigns"]] == sim.center.campaign_ids()
        assert [q["queue_id"] for q in state["queues"]] == sim.center.queue_ids()
        assert state["agents"] == sim.center.agent_ids()
        assert state["requests_served"] == 5  # control requests are not counted
        assert state["connections_opened"] == 1  # keep-alive: one connection for everything
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sim.port}") as other:
            await search(other)
        assert sim.connections_opened == 2 and sim.requests_served == 6

    run(test)


# --- user-activity and agent-performance search -------------------------------------


ACTIVITY = "/v1/user-activity/search"
PERFORMANCE = "/v1/agent-performance/search"
TODAY = {"date_start": "2026-01-01", "date_end": "2026-01-01"}


def test_user_activity_counts_the_searchs_agents_available_and_logged_in():
    async def test(sim, client):
        center = sim.center
        for style in ("documented", "live"):
            sim.set_style(style)
            for form in ({}, {"campaign_id": "1002"}, {"queue_id": "2003"}, {"user_id": "100004"},
                         {"filter_by_skill_options": "spanish"}, {"campaign_id": "1001", "queue_id": "2001"}):
                filters = {("skills" if k == "filter_by_skill_options" else k): v for k, v in form.items()}
                agents = center.search(**filters)["agents"]
                answer = (await client.post(f"{ACTIVITY}?auth_token={TOKEN}", data=form)).json()
                assert answer == {"success": True, "data": {
                    "available_agents": sum(a["status"] == "READY" for a in agents),
                    "logged_in_agents": sum(a["status"] != "LOGGED_OUT" for a in agents),
                }}
        missing = await client.post(f"{ACTIVITY}?auth_token={TOKEN}", data={"campaign_id": "42"})
        assert missing.json() == {"success": False, "code": 6026, "error": "Campaign not found"}

    run(test)


def test_agent_performance_over_http_in_both_styles():
    async def test(sim, client):
        for style in ("documented", "live"):
            sim.set_style(style)
            form = {**TODAY, "campaign_ids": "1001,1002", "limit": "3"}
            answer = (await client.post(f"{PERFORMANCE}?auth_token={TOKEN}", data=form)).json()
            assert answer == performance.search(sim.center, form, style)
            assert answer["total"] > 3 and len(answer["data"]) == 3
        assert isinstance(answer["data"], dict) and answer["code"] == 200

    run(test)


def test_the_new_endpoints_need_post_and_the_token_and_are_counted_by_endpoint():
    async def test(sim, client):
        for path in (ACTIVITY, PERFORMANCE):
            assert (await client.get(f"{path}?auth_token={TOKEN}")).status_code == 405
            assert (await client.post(f"{path}?auth_token=wrong", data=TODAY)).json() == INVALID_TOKEN
            assert (await client.post(path, data={"auth_token": TOKEN, **TODAY})).json()["success"] is True
        await search(client)
        state = (await client.get(f"/_sim/state?auth_token={TOKEN}")).json()
        assert state["requests_by_endpoint"] == {"search": 1, "logout": 0, "user_activity": 3, "performance": 3}
        assert state["requests_served"] == 7

    run(test)


def test_a_denied_endpoint_answers_403_and_the_others_carry_on():
    async def main():
        async with serving(deny=("performance",)) as (sim, client):
            denied = await client.post(f"{PERFORMANCE}?auth_token={TOKEN}", data=TODAY)
            assert denied.status_code == 403 and denied.json()["success"] is False and denied.json()["code"] == 403
            assert (await client.post(f"{PERFORMANCE}?auth_token=x", data=TODAY)).json() == INVALID_TOKEN
            assert (await client.post(f"{ACTIVITY}?auth_token={TOKEN}")).json()["success"] is True
            assert (await search(client)).json()["agents"]
            state = await control(client, "deny", {"endpoints": ["user_activity"], "status": 200})
            assert state.json()["denied"] == {"user_activity": 200}
            refused = await client.post(f"{ACTIVITY}?auth_token={TOKEN}")
            assert refused.status_code == 200 and refused.json()["success"] is False
            assert (await client.post(f"{PERFORMANCE}?auth_token={TOKEN}", data=TODAY)).json()["success"] is True
            await control(client, "deny", {"endpoints": []})
            assert (await client.post(f"{ACTIVITY}?auth_token={TOKEN}")).json()["success"] is True

    asyncio.run(main())


def test_faults_meet_the_new_endpoints_by_scope_and_kind():
    async def test(sim, client):
        sim.set_fault("500", campaign_id="1001")
        one = await client.post(f"{PERFORMANCE}?auth_token={TOKEN}", data={**TODAY, "campaign_ids": "1001"})
        other = await client.post(f"{PERFORMANCE}?auth_token={TOKEN}", data={**TODAY, "campaign_ids": "1002"})
        activity = await client.post(f"{ACTIVITY}?auth_token={TOKEN}", data={"campaign_id": "1001"})
        assert (one.status_code, other.status_code, activity.status_code) == (500, 200, 500)
        sim.clear_faults()
        sim.set_fault("glitch")  # search only: passes the others by
        assert (await client.post(f"{PERFORMANCE}?auth_token={TOKEN}", data=TODAY)).json()["success"] is True
        sim.set_fault("strings", times=2)
        assert (await client.post(f"{PERFORMANCE}?auth_token={TOKEN}", data=TODAY)).json()["total"] == "40"
        counts = (await client.post(f"{ACTIVITY}?auth_token={TOKEN}")).json()["data"]
        assert all(isinstance(value, str) for value in counts.values())
        sim.set_fault("truncated", times=1)
        cut = await client.post(f"{PERFORMANCE}?auth_token={TOKEN}", data=TODAY)
        with pytest.raises(json.JSONDecodeError):
            json.loads(cut.content)

    run(test)


# --- campaigns and queues at run time, ground truth ---------------------------------


async def control(client: httpx.AsyncClient, what: str, body=None, method: str = "POST") -> httpx.Response:
    return await client.request(method, f"/_sim/{what}?auth_token={TOKEN}", json=body)


def test_campaigns_and_queues_come_and_go_over_http():
    async def test(sim, client):
        sim.set_style("live")
        added = (await control(client, "campaign", {"action": "add", "name": "Winter Promo", "agents": 4})).json()
        assert added == {"campaign_id": "1004", "queue_id": "2005"}
        lists = (await search(client)).json()["data"]["entries"]
        assert {"value": 1004, "name": "Winter Promo"} in lists["campaigns"]
        assert 2005 in [q["value"] for q in lists["queues"]]
        mine = (await search(client, campaign_id="1004")).json()["data"]["entries"]
        assert mine["agent_total"] == 4 and [c["value"] for c in mine["campaigns"]] == [1004]
        queue = await control(client, "queue", {"action": "add", "campaign_id": 1004, "name": "Winter Callbacks"})
        assert queue.json() == {"queue_id": "2006", "campaign_id": "1004"}
        assert (await search(client, queue_id="2006")).json()["data"]["entries"]["agent_total"] == 0
        assert (await control(client, "queue", {"action": "remove", "queue_id": "2006"})).json() == {"queue_id": "2006"}
        missing = {"success": False, "code": 6041, "error": "Queue not found"}
        assert (await search(client, queue_id="2006")).json() == missing
        gone = (await control(client, "campaign", {"action": "remove", "campaign_id": "1004"})).json()
        assert gone == {"campaign_id": "1004", "queue_ids": ["2005"]}
        missing = {"success": False, "code": 6026, "error": "Campaign not found"}
        assert (await search(client, campaign_id="1004")).json() == missing
        whole = (await search(client)).json()["data"]["entries"]
        state = (await control(client, "state", method="GET")).json()
        seen = {a[name] for a in whole["agents"].values() for name in ("campaign_id", "queue_id")}
        seen |= {str(scope["value"]) for scope in whole["campaigns"] + whole["queues"]}
        seen |= {c["campaign_id"] for c in state["campaigns"]} | {q for c in state["campaigns"] for q in c["queue_ids"]}
        seen |= {q["queue_id"] for q in state["queues"]} | {q["campaign_id"] for q in state["queues"]}
        assert seen - {""} == {"1001", "1002", "1003", "2001", "2002", "2003", "2004"}
        assert (await search(client)).json()["data"]["entries"]["agent_total"] == 40

    run(test)


@pytest.mark.parametrize(
    "what, body, status, words",
    [
        ("campaign", {"action": "rename"}, 400, "action"),
        ("campaign", {}, 400, "action"),
        ("campaign", {"action": "add", "colour": "red"}, 400, "colour"),
        ("campaign", {"action": "add", "name": ""}, 400, "name"),
        ("campaign", {"action": "add", "agents": -2}, 400, "agents"),
        ("campaign", {"action": "remove"}, 400, "campaign_id"),
        ("campaign", {"action": "remove", "campaign_id": "9999"}, 404, "campaign 9999 not found"),
        ("queue", {"action": "add"}, 400, "campaign_id"),
        ("queue", {"action": "add", "campaign_id": "9999"}, 404, "campaign 9999 not found"),
        ("queue", {"action": "remove", "queue_id": "2999"}, 404, "queue 2999 not found"),
        ("queue", {"action": "remove", "queue_id": "2001"}, 400, "last queue"),
        ("queue", [1], 400, "JSON object"),
    ],
)
def test_layout_changes_refused_with_one_line(what, body, status, words):
    async def main():
        center = make_center(agents=10, campaigns=1, queues=1)
        async with serving(center) as (sim, client):
            response = await control(client, what, body)
            assert response.status_code == status and words in response.json()["error"]
            assert "\n" not in response.json()["error"]
            assert center.campaign_ids() == ["1001"] and center.queue_ids() == ["2001"]
            assert (await control(client, what, body, method="GET")).status_code == 405

    asyncio.run(main())


def test_faults_scoped_to_a_removed_campaign_go_with_it():
    async def test(sim, client):
        sim.set_fault("500", campaign_id="1002")
        sim.set_fault("403", queue_id=sim.center.campaigns()[1]["queue_ids"][0])
        sim.set_fault("429", campaign_id="1001")
        await control(client, "campaign", {"action": "remove", "campaign_id": "1002"})
        faults = (await control(client, "state", method="GET")).json()["faults"]
        assert [fault["campaign_id"] for fault in faults] == ["1001"]
        assert (await search(client, campaign_id="1002")).json()["code"] == 6026

    run(test)


def test_truth_endpoint_answers_json_with_joined_keys():
    async def main():
        clock = FakeClock()
        async with serving(make_center(clock=clock, campaigns=2, queues=2)) as (sim, client):
            clock.advance(900)
            assert (await client.get("/_sim/truth?auth_token=wrong")).status_code == 401
            assert (await control(client, "truth")).status_code == 405
            truth = (await control(client, "truth", method="GET")).json()
            assert truth["tick"] == 900 and truth["today"] == "2026-01-01" and truth["timezone"] == "UTC"
            assert sum(truth["agent_seconds"].values()) == 40 * 900
            assert all(key.count("/") == 2 and key.split("/")[0] in ("1001", "1002") for key in truth["entries"])
            shown = (await search(client, campaign_id="1002")).json()["call_data"]
            assert truth["days"]["2026-01-01"]["campaigns"]["1002"] == {
                "calls": shown["total_calls"], "answered": shown["answered"], "dropped": shown["dropped"]
            }
            day = truth["performance"]["2026-01-01"]
            assert day["campaigns"]["1002"]["answered"] == shown["answered"]
            logged_out = sum(v for k, v in truth["agent_seconds"].items() if k.endswith("/LOGGED_OUT"))
            assert day["account"]["logged_in"] + logged_out == 40 * 900  # the day book, the queues' books

    asyncio.run(main())


def test_glitch_and_scopes_keyed_over_http_scoped_and_healing():
    async def main():
        clock = FakeClock()
        async with serving(make_center(clock=clock), style="live") as (sim, client):
            clock.advance(1200)
            true = (await search(client, campaign_id="1001")).json()["data"]["entries"]
            await control(client, "fault", {"fault": "glitch", "campaign_id": "1001", "times": 1})
            glitched = (await search(client, campaign_id="1001")).json()["data"]["entries"]
            assert int(glitched["queue_answered"]) == int(true["queue_answered"]) // 2 < int(true["queue_answered"])
            assert glitched["call_data"] == {k: str(int(v) // 2) for k, v in true["call_data"].items()}
            assert (await search(client, campaign_id="1001")).json()["data"]["entries"] == true  # healed
            sim.set_fault("scopes_keyed", campaign_id="1002")
            keyed = (await search(client, campaign_id="1002")).json()["data"]["entries"]
            assert list(keyed["campaigns"]) == ["1002"] and keyed["campaigns"]["1002"]["value"] == 1002
            assert isinstance((await search(client)).json()["data"]["entries"]["campaigns"], list)

    asyncio.run(main())


# --- load ---------------------------------------------------------------------------


def test_200_concurrent_searches_over_1000_agents():
    async def main():
        center = ContactCenter(agents=1000, campaigns=5, queues=10, seed=8)  # the real clock
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with serving(center) as (sim, _):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sim.port}", limits=limits, timeout=60) as client:
                filters = [{}] * 20 + [{"campaign_id": c} for c in center.campaign_ids()] * 20 + [
                    {"queue_id": q} for q in center.queue_ids()
                ] * 8
                assert len(filters) == 200
                results = await asyncio.gather(*(check_search(client, form) for form in filters))
        assert sum(results) == 20 * 1000 + 20 * 1000 + 8 * 1000
        assert sim.requests_served == 200

    asyncio.run(main())


async def check_search(client: httpx.AsyncClient, form: dict) -> int:
    response = await search(client, **form)
    assert response.status_code == 200
    doc = response.json()
    assert doc["agent_total"] == len(doc["agents"])
    for name, value in form.items():
        assert all(agent[name] == value for agent in doc["agents"])
    return len(doc["agents"])


# --- the `simulate` command ---------------------------------------------------------


def test_simulate_command_serves_until_cancelled(caplog):
    parser = argparse.ArgumentParser()
    simulator_flags.add_arguments(parser)
    port = free_port()
    args = parser.parse_args(
        ["--web.listen-address", f"127.0.0.1:{port}", "--auth-token", TOKEN, "--agents", "12",
         "--campaigns", "2", "--queues", "3", "--skills", "french,golf", "--style", "live", "--latency", "10ms",
         "--drop-ratio", "0.05", "--seed", "4", "--count-style", "wrap-as-paused"]
    )
    assert args.latency == 0.01 and args.skills == ("french", "golf")

    async def main():
        task = asyncio.create_task(simulator_server.run(args))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    state = (await client.get(f"/_sim/state?auth_token={TOKEN}")).json()
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert len(state["agents"]) == 12 and state["skills"] == ["french", "golf"] and state["drop_ratio"] == 0.05
            assert state["count_style"] == "wrap-as-paused"
            cid = state["campaigns"][0]["campaign_id"]
            response = await client.post(f"{SEARCH}?auth_token={TOKEN}", data={"campaign_id": cid})
            assert response.json()["data"]["entries"]["success"] is True
        task.cancel()
        return await task

    with caplog.at_level(logging.INFO, logger="convoso_exporter.simulator.server"):
        assert asyncio.run(main()) == 0
    lines = [record.getMessage() for record in caplog.records if record.name == "convoso_exporter.simulator.server"]
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "1001,1002" in lines[0]
    assert TOKEN not in lines[0]
