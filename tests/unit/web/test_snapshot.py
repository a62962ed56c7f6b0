"""convoso_exporter.web.snapshot: the /api/v1/snapshot document (schema 1, docs/api.md)
built from the held states: each part's fields, what `agent_metrics` / `agent_names`
leave out, `?target=` narrowing held to the simulator's ground truth, the encoding, and
the token kept out. (The HTTP side is tests/unit/web/test_api_v1.py.)"""

from __future__ import annotations

import asyncio
import json
from types import MappingProxyType
from urllib.parse import parse_qs, quote, quote_plus

import httpx
import pytest

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.errors import ConvosoError
from convoso_exporter.api.model import Agent, CallData, SearchResult
from convoso_exporter.api.parse import parse_search
from convoso_exporter.config.schema import ACCOUNT, CAMPAIGN, QUEUE, Target
from convoso_exporter.poll.state import TargetState
from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.web.board import View
from convoso_exporter.web.snapshot import agent_row, document, encode, figures_entry, health, target_entry
from tests.unit.web.floor import ACCOUNT_AGENTS, HOSTILE, NOW, agent, answer, drift_report, ok, view

FLOOR = ("READY", "INCALL", "PAUSED", "WRAP", "RINGING", "TRANSFER", "LOGGED_OUT")  # the simulator's statuses
ROW_KEYS = ["user_id", "name", "status", "status_label", "status_seconds", "time_level", "calls_today",
            "session_calls", "campaign_id", "campaign_name", "queue_id", "queue_name", "extension", "call_type"]


def read(current: View, target: str | None = None, now: float = NOW) -> dict:
    return json.loads(encode(document(current, now=now, version="0.0.1", target=target)))


# --- the parts ----------------------------------------------------------------------------


def test_an_agent_row_is_the_agent_as_sent_with_its_time_level():
    red = agent("100001", "READY", 700, status_label="Ready for calls", call_type="outbound")
    assert agent_row(red, names=True) == {
        "user_id": "100001", "name": "Agent 100001", "status": "READY", "status_label": "Ready for calls",
        "status_seconds": 700, "time_level": "alert", "calls_today": 10, "session_calls": 3, "campaign_id": "1001",
        "campaign_name": "Sales", "queue_id": "2001", "queue_name": "Sales Main", "extension": "1001",
        "call_type": "outbound",
    }
    assert list(agent_row(red, names=True)) == ROW_KEYS
    assert agent_row(agent("7", "PAUSED", 1000), names=True)["time_level"] == "warn"
    assert agent_row(agent("7", "INCALL", 5000), names=True)["time_level"] == "ok"


def test_an_agent_row_without_names_has_no_name_field_at_all():
    row = agent_row(agent("100007", "LUNCH", 300, user_full_name=HOSTILE), names=False)
    assert list(row) == [key for key in ROW_KEYS if key != "name"]
    assert HOSTILE not in row.values()


def test_an_agent_row_of_an_agent_with_nothing_sent_is_all_null_and_ok():
    row = agent_row(Agent(), names=True)
    assert row == {**dict.fromkeys(ROW_KEYS), "time_level": "ok"}


def test_health_of_a_target_never_polled_fresh_and_stale():
    never = TargetState(Target("sales", campaign_id="1001"))
    assert health(never, NOW) == {"up": False, "fresh": False, "last_success": None, "stale_after_seconds": None,
                                  "last_error": None}
    polled = ok(Target("sales", campaign_id="1001"), SearchResult(), age=3.0, stale_after=45.0)
    assert health(polled, NOW) == {"up": True, "fresh": True, "last_success": NOW - 3, "stale_after_seconds": 45.0,
                                   "last_error": None}
    assert health(polled, NOW + 42)["fresh"] is True  # 45 s old: the last fresh moment
    assert health(polled, NOW + 43)["fresh"] is False
    failed = polled.failed("timeout", "timed out after 10s", wall=NOW + 1, duration=10.0)
    assert health(failed, NOW + 2) == {"up": False, "fresh": True, "last_success": NOW - 3,
                                       "stale_after_seconds": 45.0, "last_error": "timed out after 10s"}


def test_figures_entry_of_a_full_answer():
    entry = figures_entry(answer(ACCOUNT_AGENTS, 9000, 3000, 1500, 30))
    assert entry == {
        "dialable_leads": 9000, "calls_today": 3000, "answered_today": 1500, "dropped_today": 30,
        "drop_rate": 0.02, "drop_red": False, "call_data": {"total_calls": 3000, "answered": 1500, "dropped": 30},
        "agent_total": 9, "agent_ready": 2, "agent_incall": 3, "agent_paused": 1,
        "agents_listed": 8,  # nine entries, one user listed twice
        # Its figures count the repeat (INCALL the second time) where we count the user once, as READY.
        "count_gaps": [
            {"figure": "total", "api": 9, "counted": 8, "difference": 1, "hint": None},
            {"figure": "ready", "api": 2, "counted": 2, "difference": 0, "hint": None},
            {"figure": "incall", "api": 3, "counted": 2, "difference": 1, "hint": None},  # four statuses have 1
            {"figure": "paused", "api": 1, "counted": 1, "difference": 0, "hint": None},
        ],
    }


def test_figures_entry_of_a_figures_only_answer_counts_the_statuses_read_with_it():
    """A discovered target's agents are not kept: what was counted as it was read stands in."""
    only = SearchResult(agent_total=5, agent_ready=3, statuses=(("READY", 2), ("RINGING", 1), ("WRAP", 2)))
    entry = figures_entry(only)
    assert entry["agents_listed"] == 5  # it said 0: the agents it no longer holds
    assert entry["count_gaps"] == [
        {"figure": "total", "api": 5, "counted": 5, "difference": 0, "hint": None},
        {"figure": "ready", "api": 3, "counted": 2, "difference": 1, "hint": "RINGING"},
    ]


def test_figures_entry_keeps_what_was_not_sent_null_and_never_divides_by_zero():
    entry = figures_entry(SearchResult(queue_answered=0, queue_dropped=4))
    assert entry["drop_rate"] is None and entry["drop_red"] is False
    assert entry["call_data"] is None and entry["dialable_leads"] is None and entry["agent_total"] is None
    assert entry["agents_listed"] == 0 and entry["count_gaps"] == []  # no agent figure sent: nothing compared
    partial = figures_entry(SearchResult(call_data=CallData(total_calls=5)))
    assert partial["call_data"] == {"total_calls": 5, "answered": None, "dropped": None}


def test_target_entry_lists_skills_as_an_array_and_says_what_is_published():
    target = Target("spanish-sales", campaign_id="1001", skills=("spanish", "english"), publish=False)
    entry = target_entry(TargetState(target), NOW)
    assert entry["filters"] == {"campaign_id": "1001", "skills": ["spanish", "english"]}
    assert entry["publish"] is False and entry["kind"] == "custom" and entry["figures"] is None
    assert json.loads(encode(entry))["filters"]["skills"] == ["spanish", "english"]


# --- the whole document ---------------------------------------------------------------------


def test_an_exporter_with_no_targets_yet():
    assert read(View(states=MappingProxyType({}), generation=0)) == {
        "schema": 1, "generated_at": NOW, "generation": 0,
        "exporter": {"version": "0.0.1", "poll_interval_seconds": 15.0, "api_calls_per_minute": 0.0,
                     "banner": None, "agent_metrics": True, "agent_names": True},
        "api_drift": None, "endpoints": [], "targets": [], "account": None, "agents": [],
    }


def test_the_shape_telemetry_is_listed_with_what_was_done():
    drift = read(view(drift=drift_report()))["api_drift"]
    assert drift["answers"] == {"search": 3} and drift["fallbacks"] == {"search": 1}
    assert drift["entries"][0] == {"endpoint": "search", "field": "agents.<b>x</b>", "kind": "unknown_field",
                                   "action": "ignored", "answers": 1, "example": '"<script>alert(1)</script>"',
                                   "first_seen": NOW - 30, "last_seen": NOW - 30}
    assert [(e["field"], e["kind"], e["answers"]) for e in drift["entries"][1:]] == [
        ("agents.calls_today", "number_as_text", 2), ("data.entries", "wrapped", 2)]


def test_the_api_budget_is_rounded_to_three_decimals():
    assert read(view(api_calls_per_minute=64 / 3))["exporter"]["api_calls_per_minute"] == 21.333


def test_an_agent_without_a_status_is_counted_under_the_empty_status():
    states = {"account": ok(Target("account", kind=ACCOUNT), answer((agent("1", None, 5), agent("2", "LUNCH", 5)),
                                                                     1, 1, 1, 0))}
    counted = read(view(states))["account"]
    assert counted["by_status"] == {"READY": 0, "INCALL": 0, "PAUSED": 0, "WRAP": 0, "RINGING": 0, "TRANSFER": 0,
                                    "": 1, "LUNCH": 1, "LOGGED_OUT": 0}
    assert counted["agents"] == 2 and counted["logged_in"] == 2


def test_encode_is_compact_utf8_and_refuses_non_finite_numbers():
    assert encode({"a": [1, 2.5], "b": "÷ é"}) == '{"a":[1,2.5],"b":"÷ é"}'.encode()
    assert json.loads(encode({"name": HOSTILE}))["name"] == HOSTILE
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            encode({"drop_rate": bad})


# --- held to the simulator ----------------------------------------------------------------------


def simulated(seed: int = 4) -> tuple[ContactCenter, dict[str, TargetState]]:
    """A simulated account half an hour in, and the states of its account, campaign and queue targets."""
    clock = FakeClock(0.0)
    center = ContactCenter(agents=24, campaigns=3, queues=5, seed=seed, clock=clock, start_wall=NOW - 1800)
    clock.advance(1800)
    targets = [Target("account", kind=ACCOUNT)]
    targets += [Target(f"campaign:{c}", campaign_id=c, kind=CAMPAIGN) for c in center.campaign_ids()]
    targets += [Target(f"queue:{q}", queue_id=q, kind=QUEUE) for q in center.queue_ids()]
    states = {t.name: ok(t, parse_search(center.search(**t.filters())), stale_after=45.0) for t in targets}
    return center, states


@pytest.mark.parametrize("agent_metrics", [True, False])
@pytest.mark.parametrize("agent_names", [True, False])
def test_agent_names_appear_only_in_rows_and_only_when_both_settings_allow(agent_metrics, agent_names):
    center, states = simulated()
    current = view(states, agent_metrics=agent_metrics, agent_names=agent_names)
    names = {a.user_full_name for a in center.select().agents}
    for target in (None, "account", "campaign:1001", "queue:2002"):
        scope = states[target].target.filters() if target else {}
        in_scope = {a.user_full_name for a in center.select(**scope).agents}
        d = read(current, target)
        assert ("agents" in d) is agent_metrics
        assert d["exporter"]["agent_metrics"] is agent_metrics and d["exporter"]["agent_names"] is agent_names
        rows = d.get("agents", [])
        assert all(("name" in row) is agent_names for row in rows)
        body = encode(document(current, now=NOW, version="x", target=target)).decode()
        shown = {name for name in names if json.dumps(name, ensure_ascii=False) in body}
        if agent_metrics and agent_names:
            assert shown == {row["name"] for row in rows} == in_scope
        else:
            assert shown == set(), target


@pytest.mark.parametrize("seed", [4, 9])
def test_each_scope_lists_and_counts_exactly_its_agents(seed):
    center, states = simulated(seed)
    current = view(states)
    for name, state in states.items():
        truth = center.select(**state.target.filters()).agents
        d = read(current, name)
        assert [t["name"] for t in d["targets"]] == [name]
        account = d["account"]
        assert account["scope"] == state.target.filters()
        assert sorted(row["user_id"] for row in d["agents"]) == sorted(a.user_id for a in truth)
        assert account["agents"] == len(truth) == sum(account["by_status"].values())
        assert sum(cell["agents"] for cell in account["breakdown"]) == len(truth)
        assert account["logged_in"] == sum(a.status != "LOGGED_OUT" for a in truth)
        for status in FLOOR:
            assert account["by_status"][status] == sum(a.status == status for a in truth), (name, status)
        assert [c["id"] for c in account["campaigns"]] == center.campaign_ids()  # the whole account, any scope
        assert [q["id"] for q in account["queues"]] == center.queue_ids()
        # Floor order: by status, then longest in it first.
        order = [(FLOOR.index(row["status"]), -row["status_seconds"]) for row in d["agents"]]
        assert order == sorted(order), name
    assert read(current)["account"]["agents"] == 24


def test_each_target_reports_its_own_answers_figures():
    center, states = simulated()
    targets = {entry["name"]: entry for entry in read(view(states))["targets"]}
    assert list(targets) == list(states)
    for campaign in center.campaign_ids():
        truth = center.search(campaign_id=campaign)
        got = targets[f"campaign:{campaign}"]["figures"]
        assert (got["calls_today"], got["answered_today"], got["dropped_today"]) == (
            truth["queue_calls_today"], truth["queue_answered"], truth["queue_dropped"])
        assert got["agents_listed"] == len(center.select(campaign_id=campaign).agents)
        assert got["drop_rate"] == pytest.approx(truth["queue_dropped"] / truth["queue_answered"])


# --- the token ------------------------------------------------------------------------------------

TOKEN = "tok/3n+S3cret=="
TOKEN_FORMS = (TOKEN, quote(TOKEN, safe=""), quote(TOKEN), quote_plus(TOKEN))


def test_the_token_never_reaches_the_document_even_when_the_api_echoes_it():
    """Answers and errors through the real client: an account answer that echoes the token
    in names and labels, and a campaign whose poll is refused with the token in the message."""
    clock = FakeClock(0.0)
    center = ContactCenter(agents=6, campaigns=2, queues=2, seed=2, clock=clock, start_wall=NOW)
    echoed = center.search()
    first = echoed["agents"][0]
    first.update(user_full_name=f"Echo {TOKEN}", campaign_name=f"x{quote(TOKEN, safe='')}x",
                 status_label=quote_plus(TOKEN), queue_name=TOKEN)

    def handler(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        if "campaign_id" in form:
            return httpx.Response(401, text=f"denied for auth_token={quote(TOKEN, safe='')} ({TOKEN})")
        return httpx.Response(200, json=echoed)

    async def poll() -> tuple[SearchResult, ConvosoError]:
        async with ConvosoClient("http://convoso.test/v1", TOKEN, transport=httpx.MockTransport(handler)) as client:
            result = await client.search()
            with pytest.raises(ConvosoError) as refused:
                await client.search(campaign_id="1001")
            return result, refused.value

    result, error = asyncio.run(poll())
    account = ok(Target("account", kind=ACCOUNT), result)
    campaign = TargetState(Target("campaign:1001", campaign_id="1001", kind=CAMPAIGN))
    campaign = campaign.failed(error.kind, str(error), wall=NOW - 1, duration=0.1)
    current = view({"account": account, "campaign:1001": campaign}, banner="demo")
    for target in (None, "account", "campaign:1001"):
        body = encode(document(current, now=NOW, version="x", target=target)).decode()
        assert "<redacted>" in body  # the echoes are there, redacted
        for form in TOKEN_FORMS:
            assert form not in body, (target, form)
    whole = read(current)
    assert whole["targets"][1]["last_error_kind"] == "auth" and whole["targets"][1]["up"] is False
