"""How answers are written: the live style's scope lists, the content faults that bend
them, and the renderer's caches following every change of the center."""

from __future__ import annotations

import json

import pytest

from convoso_exporter.api.parse import parse_search
from convoso_exporter.simulator import ContactCenter, FakeClock
from convoso_exporter.simulator.render import COUNT_STYLES, HOSTILE_CAMPAIGN, Renderer

NOON = 1_767_268_800  # 2026-01-01 12:00:00 UTC
DAY_COUNTS = ("queue_calls_today", "queue_answered", "queue_dropped")


def make(**kwargs) -> tuple[ContactCenter, FakeClock, Renderer]:
    clock = FakeClock()
    kwargs.setdefault("agents", 40)
    center = ContactCenter(seed=4, clock=clock, start_wall=NOON, **kwargs)
    return center, clock, Renderer(center)


def render(center: ContactCenter, renderer: Renderer, style: str, fault: str | None = None, **filters) -> dict:
    return json.loads(renderer.search(center.select(**filters), style, fault))


def entries(doc: dict) -> dict:
    return doc["data"]["entries"]


# --- the live scope lists ----------------------------------------------------------------


def test_live_scope_lists_have_the_help_centre_shape():
    center, _, renderer = make(campaigns=3, queues=5)
    whole = entries(render(center, renderer, "live"))
    campaigns = center.campaigns()
    assert whole["campaigns"] == [{"value": int(c["campaign_id"]), "name": c["campaign_name"]} for c in campaigns]
    assert whole["queues"] == [{"value": int(q["queue_id"]), "name": q["queue_name"]} for q in center.queues()]
    scopes = whole["campaigns"] + whole["queues"]
    assert all(type(scope["value"]) is int and set(scope) == {"value", "name"} for scope in scopes)
    one = entries(render(center, renderer, "live", campaign_id="1002"))
    assert [c["value"] for c in one["campaigns"]] == [1002]
    assert [q["value"] for q in one["queues"]] == [int(q) for q in center.campaigns()[1]["queue_ids"]]


def test_the_documented_style_has_no_scope_lists():
    center, _, renderer = make()
    for fault in (None, "scopes_keyed"):
        doc = render(center, renderer, "documented", fault)
        assert "campaigns" not in doc and "queues" not in doc
    # scopes_keyed has nothing to bend in the documented style
    plain = renderer.search(center.select(), "documented")
    assert renderer.search(center.select(), "documented", "scopes_keyed") == plain


def test_scopes_keyed_writes_the_lists_as_objects_keyed_by_id():
    center, _, renderer = make(campaigns=2, queues=3)
    plain = entries(render(center, renderer, "live"))
    keyed = entries(render(center, renderer, "live", "scopes_keyed"))
    for name in ("campaigns", "queues"):
        assert keyed[name] == {str(scope["value"]): scope for scope in plain[name]}
    assert {k: v for k, v in keyed.items() if k not in ("campaigns", "queues")} == {
        k: v for k, v in plain.items() if k not in ("campaigns", "queues")
    }


def test_hostile_names_reach_the_scope_lists_too():
    center, _, renderer = make(campaigns=2, queues=2)
    lists = entries(render(center, renderer, "live", "hostile_names"))["campaigns"]
    assert [scope["name"] for scope in lists] == [HOSTILE_CAMPAIGN + c["campaign_name"] for c in center.campaigns()]


# --- glitch ------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["documented", "live"])
def test_glitch_halves_every_day_counter_and_nothing_else(style):
    center, clock, renderer = make(campaigns=2, queues=3)
    clock.advance(1800)
    for filters in ({}, {"campaign_id": "1001"}, {"queue_id": "2002"}):
        true = parse_search(render(center, renderer, style, **filters))
        glitched = parse_search(render(center, renderer, style, "glitch", **filters))
        assert true.call_data.answered > 1
        for name in ("total_calls", "answered", "dropped"):
            assert getattr(glitched.call_data, name) == getattr(true.call_data, name) // 2
        for name in ("queue_calls_today", "queue_answered", "queue_dropped"):
            assert getattr(glitched, name) == getattr(true, name) // 2
        assert glitched.call_data.answered < true.call_data.answered
        assert glitched.queue_dialable_leads == true.queue_dialable_leads and glitched.agent_total == true.agent_total
        assert [a.calls_today for a in glitched.agents] == [a.calls_today // 2 for a in true.agents]
        assert [(a.user_id, a.status, a.status_time_sec) for a in glitched.agents] == [
            (a.user_id, a.status, a.status_time_sec) for a in true.agents
        ]
    # The next answer without the fault is whole again (same tick, same cache).
    assert render(center, renderer, style) == render(center, renderer, style)
    assert parse_search(render(center, renderer, style)).call_data == parse_search(center.search()).call_data


# --- count styles -------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["documented", "live"])
def test_count_styles_change_only_their_figure_by_the_agents_of_their_status(style):
    center, clock, renderer = make(agents=120, campaigns=2, queues=3)
    clock.advance(600)
    for filters in ({}, {"campaign_id": "1002"}):
        selection = center.select(**filters)
        plain = parse_search(json.loads(renderer.search(selection, style)))
        listed = [a.status for a in plain.agents]
        statuses = {status: listed.count(status) for status in ("RINGING", "WRAP", "LOGGED_OUT")}
        assert all(statuses.values()) or filters, statuses  # the account has agents of each to count otherwise
        assert (plain.agent_total, plain.agent_ready) == (len(listed), listed.count("READY"))
        expected = {
            "documented": {},
            "ringing-as-ready": {"agent_ready": plain.agent_ready + statuses["RINGING"]},
            "wrap-as-paused": {"agent_paused": plain.agent_paused + statuses["WRAP"]},
            "logged-in-total": {"agent_total": plain.agent_total - statuses["LOGGED_OUT"]},
        }
        assert set(expected) == set(COUNT_STYLES)
        for counts, changed in expected.items():
            other = parse_search(json.loads(renderer.search(selection, style, None, counts)))
            assert other.agents == plain.agents and other.call_data == plain.call_data
            figures = ("agent_total", "agent_ready", "agent_incall", "agent_paused")
            assert {f: getattr(other, f) for f in figures} == {**{f: getattr(plain, f) for f in figures}, **changed}


# --- caches follow the center ----------------------------------------------------------------


@pytest.mark.parametrize("style", ["documented", "live"])
def test_answers_follow_layout_changes_within_the_same_tick(style):
    center, _, renderer = make(campaigns=2, queues=4)

    def agents(doc: dict) -> list[dict]:
        found = doc["agents"] if style == "documented" else entries(doc)["agents"]
        return list(found.values()) if isinstance(found, dict) else found

    for filters in ({}, {"campaign_id": "1001"}, {"queue_id": "2003"}):
        render(center, renderer, style, **filters)  # warm every cache
    movers = [a["user_id"] for a in agents(render(center, renderer, style, queue_id="2003"))]
    center.remove_queue("2003")  # no clock move
    whole = render(center, renderer, style)
    places = {a["user_id"]: a["queue_id"] for a in center.search()["agents"]}
    for agent in agents(whole):
        if agent["user_id"] in movers and agent["queue_id"]:  # the live style blanks a few
            assert agent["queue_id"] == places[agent["user_id"]] != "2003"
    assert movers and "2003" not in {a["queue_id"] for a in agents(render(center, renderer, style, campaign_id="1001"))}
    added = center.add_campaign("Brand New", agents=3)
    whole = render(center, renderer, style)
    assert {a["campaign_id"] for a in agents(whole)} >= {added}
    if style == "live":
        assert {"value": int(added), "name": "Brand New"} in entries(whole)["campaigns"]
        assert 2003 not in [q["value"] for q in entries(whole)["queues"]]
    center.remove_campaign(added)
    assert added not in {a["campaign_id"] for a in agents(render(center, renderer, style))}
    assert parse_search(render(center, renderer, style)).agent_total == 40


def test_live_timestamps_are_local_time():
    center, _, renderer = make(agents=4, timezone="Asia/Tokyo")
    listed = entries(render(center, renderer, "live", campaign_id="1001"))["agents"]
    for agent in listed:
        assert "2026-01-01 12:00:00" < agent["last_state_change"] <= "2026-01-01 21:00:00"  # UTC would be <= 12:00


def test_last_state_change_agrees_with_status_time_after_a_skipped_jump():
    center, clock, renderer = make(agents=10)

    def consistent() -> None:
        doc = entries(render(center, renderer, "live"))
        now = center.wall_text(center.now())
        for agent in doc["agents"].values():
            assert center.wall_text(center.now() - int(agent["status_time_sec"])) == agent["last_state_change"] <= now

    clock.advance(30)
    consistent()
    clock.advance(5 * 3600)  # beyond MAX_CATCHUP: the center resumes as it was, later
    consistent()
