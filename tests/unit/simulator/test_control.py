"""convoso_exporter.simulator.control: the `/_sim/...` control requests, handled
in-process (no sockets): the token, methods and paths, the field checks, and what each
request changes or refuses (400 or 404 with a one-line error, changing nothing)."""

from __future__ import annotations

import json

import pytest

from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator
from convoso_exporter.simulator.control import handle
from convoso_exporter.web.http import Request, Response

NOON = 1_767_268_800  # 2026-01-01 12:00:00 UTC
TOKEN = "ctl-token"


def make_sim(clock: FakeClock | None = None, **sizes) -> Simulator:
    sizes = {"agents": 20, "campaigns": 2, "queues": 3, **sizes}
    center = ContactCenter(seed=5, clock=clock or FakeClock(), start_wall=NOON, **sizes)
    return Simulator(center, token=TOKEN)


def ask(sim: Simulator, what: str, body=None, *, method: str = "POST", token: str | None = TOKEN,
        raw: bytes | None = None) -> Response:
    query = {} if token is None else {"auth_token": token}
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return handle(sim, Request(method, f"/_sim/{what}", query, {}, content))


def answer(response: Response):
    assert response.content_type.startswith("application/json")
    return json.loads(response.body)


def error(response: Response, status: int) -> str:
    """The one-line error of a refused request."""
    assert response.status == status, (response.status, response.body)
    body = answer(response)
    assert set(body) == {"error"} and "\n" not in body["error"]
    return body["error"]


def layout(sim: Simulator) -> tuple:
    center = sim.center
    return center.campaigns(), center.queues(), center.removed_ids(), sorted(center.agent_ids())


# --- token, paths, methods ---------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x", TOKEN.upper()])
def test_every_control_request_needs_the_token_in_the_query(token):
    sim = make_sim()
    for what, method in (("state", "GET"), ("truth", "GET"), ("fault", "POST"), ("nothing", "GET")):
        response = ask(sim, what, {"fault": "500"}, method=method, token=token)
        assert response.status == 401
        assert answer(response) == {"success": False, "error": "Invalid authentication token"}
    assert sim.faults() == []


def test_a_token_in_the_body_does_not_count():
    sim = make_sim()
    response = handle(sim, Request("GET", "/_sim/state", {}, {}, f"auth_token={TOKEN}".encode()))
    assert response.status == 401


@pytest.mark.parametrize("path", ["/_sim/", "/_sim/nothing", "/_sim/state/", "/_sim/State", "/_sim/fault/extra"])
def test_unknown_control_paths_are_404_naming_the_path(path):
    response = handle(make_sim(), Request("GET", path, {"auth_token": TOKEN}, {}))
    assert error(response, 404) == f"unknown control endpoint {path}"


@pytest.mark.parametrize(
    "what, method, allowed",
    [("state", "POST", "GET"), ("truth", "POST", "GET"), ("fault", "GET", "POST"), ("surge", "PUT", "POST"),
     ("style", "DELETE", "POST"), ("campaign", "GET", "POST"), ("queue", "GET", "POST")],
)
def test_the_wrong_method_is_405_with_allow(what, method, allowed):
    sim = make_sim()
    before = layout(sim)
    response = ask(sim, what, {"action": "add"}, method=method)
    assert error(response, 405) == f"use {allowed} for /_sim/{what}"
    assert response.headers == [("Allow", allowed)]
    assert layout(sim) == before


def test_state_and_truth_answer_what_the_simulator_and_center_say():
    clock = FakeClock()
    sim = make_sim(clock)
    clock.advance(120)
    state = answer(ask(sim, "state", method="GET"))
    assert [c["campaign_id"] for c in state["campaigns"]] == ["1001", "1002"]
    assert [q["queue_id"] for q in state["queues"]] == ["2001", "2002", "2003"]
    assert len(state["agents"]) == 20 and state["style"] == "documented" and state["faults"] == []
    truth = answer(ask(sim, "truth", method="GET"))
    assert truth["tick"] == 120 and truth["agents"] == 20
    assert sum(truth["agent_seconds"].values()) == 20 * 120
    assert all(len(key.split("/")) == 3 for key in truth["agent_seconds"])


# --- bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"{", "body is not JSON"),
        (b"fault=500", "body is not JSON"),
        (b'{"fault": "\xff"}', "body is not JSON"),
        (b"   ", "body is not JSON"),
        (b"[]", "body must be a JSON object"),
        (b'"500"', "body must be a JSON object"),
        (b"null", "body must be a JSON object"),
        (b"3", "body must be a JSON object"),
        (b"[" * 100_000, "body is not JSON: nested too deeply"),  # a RecursionError was a 500
    ],
    ids=lambda value: repr(value[:12]) if isinstance(value, bytes) else value,
)
def test_a_body_must_be_a_json_object(raw, words):
    for what in ("fault", "surge", "machines", "deny", "style", "campaign", "queue"):
        assert words in error(ask(make_sim(), what, raw=raw), 400)


# --- faults ------------------------------------------------------------------------------------


def test_a_fault_is_set_with_its_options_and_the_state_answers():
    sim = make_sim()
    body = {"fault": "429", "campaign_id": 1001, "queue_id": "2001", "retry_after": 3, "times": 2}
    response = ask(sim, "fault", body)
    assert response.status == 200
    assert answer(response)["faults"] == [{"name": "429", "campaign_id": "1001", "queue_id": "2001",
                                            "retry_after": 3.0, "delay": None, "times": 2, "size": None}]
    assert answer(response) == sim.state()


def test_null_clears_one_scope_or_every_fault():
    sim = make_sim()
    for body in ({"fault": "500"}, {"fault": "403", "campaign_id": "1001"}, {"fault": "slow", "queue_id": "2002"}):
        assert ask(sim, "fault", body).status == 200
    left = answer(ask(sim, "fault", {"fault": None, "campaign_id": "1001"}))["faults"]
    assert [(f["name"], f["campaign_id"], f["queue_id"]) for f in left] == [("500", None, None), ("slow", None, "2002")]
    assert answer(ask(sim, "fault", {"fault": None}))["faults"] == []


@pytest.mark.parametrize(
    "body, words",
    [
        ({}, 'missing "fault"'),
        ({"campaign_id": "1001"}, 'missing "fault"'),
        ({"fault": "500", "colour": "red"}, "unknown field(s) colour"),
        ({"fault": "500", "zeta": 1, "alpha": 2}, "unknown field(s) alpha, zeta"),
        ({"fault": "418"}, "unknown fault '418'"),
        ({"fault": ["500"]}, "unknown fault ['500']"),
        ({"fault": "429", "times": 0}, "times must be a positive integer"),
        ({"fault": "429", "times": "3"}, "times must be a positive integer"),
        ({"fault": "429", "retry_after": -1}, "retry_after must be a number of seconds >= 0"),
        ({"fault": "slow", "delay": True}, "delay must be a number of seconds >= 0"),
        ({"fault": "too_large", "size": 0.5}, "size must be a positive integer"),
        ({"fault": "500", "campaign_id": True}, "campaign_id must be a string"),
        ({"fault": "500", "queue_id": {"id": 1}}, "queue_id must be a string"),
    ],
)
def test_bad_faults_are_400_and_set_nothing(body, words):
    sim = make_sim()
    ask(sim, "fault", {"fault": "500", "campaign_id": "1002"})
    assert words in error(ask(sim, "fault", body), 400)
    assert [(f["name"], f["campaign_id"]) for f in sim.faults()] == [("500", "1002")]


@pytest.mark.parametrize("raw", [b'{"fault": "slow", "delay": NaN}', b'{"fault": "slow", "delay": Infinity}',
                                 b'{"fault": "429", "retry_after": -Infinity}'])
def test_json_non_numbers_are_not_seconds(raw):
    assert "must be a number of seconds >= 0" in error(ask(make_sim(), "fault", raw=raw), 400)


# --- surge and style -------------------------------------------------------------------------------


def test_a_surge_sets_the_drop_ratio_and_null_ends_it():
    sim = make_sim()
    assert answer(ask(sim, "surge", {"drop_ratio": 0.25}))["drop_ratio"] == 0.25
    assert sim.center.drop_ratio == 0.25
    assert answer(ask(sim, "surge", {"drop_ratio": 0}))["drop_ratio"] == 0.0
    assert answer(ask(sim, "surge", {"drop_ratio": None}))["drop_ratio"] == 0.02  # the configured one


@pytest.mark.parametrize("body, words", [
    ({}, 'missing "drop_ratio"'),
    ({"ratio": 0.2}, "unknown field(s) ratio"),
    # The surge is the whole center's: a campaign's was silently taken as everyone's.
    ({"drop_ratio": 0.2, "campaign_id": "1001"}, "unknown field(s) campaign_id"),
    ({"drop_ratio": 1}, "drop ratio must be a number in [0, 1), got 1"),
    ({"drop_ratio": -0.5}, "drop ratio must be a number in [0, 1)"),
    ({"drop_ratio": "0.2"}, "drop ratio must be a number in [0, 1), got '0.2'"),
    ({"drop_ratio": True}, "drop ratio must be a number in [0, 1), got True"),
])
def test_a_bad_surge_is_400_and_keeps_the_ratio(body, words):
    sim = make_sim()
    ask(sim, "surge", {"drop_ratio": 0.1})
    assert words in error(ask(sim, "surge", body), 400)
    assert sim.center.drop_ratio == 0.1


def test_the_machine_share_is_set_and_null_goes_back_to_the_configured_one():
    sim = make_sim()
    assert answer(ask(sim, "machines", {"machine_share": 0.4}))["machine_share"] == 0.4
    assert sim.center.machine_share == 0.4
    assert answer(ask(sim, "machines", {"machine_share": None}))["machine_share"] == 0.3
    for body, words in (({}, 'missing "machine_share"'), ({"machine_share": 1.0}, "machine share must be a number"),
                        ({"machine_share": 0.2, "campaign_id": "1001"}, "unknown field(s) campaign_id")):
        assert words in error(ask(sim, "machines", body), 400)
    assert sim.center.machine_share == 0.3


def test_endpoints_are_denied_and_given_back():
    sim = make_sim()
    assert answer(ask(sim, "deny", {"endpoints": ["performance"]}))["denied"] == {"performance": 403}
    assert answer(ask(sim, "deny", {"endpoints": ["user_activity", "performance"], "status": 200}))["denied"] == {
        "user_activity": 200, "performance": 200}
    for body, words in (({}, 'missing "endpoints"'), ({"endpoints": ["search"]}, "cannot deny 'search'"),
                        ({"endpoints": [], "status": 500}, "status must be 403 or 200"),
                        ({"endpoints": "performance"}, "must be a list")):
        assert words in error(ask(sim, "deny", body), 400)
    assert answer(ask(sim, "deny", {"endpoints": []}))["denied"] == {}


def test_the_style_is_switched_and_a_bad_one_refused():
    sim = make_sim()
    assert answer(ask(sim, "style", {"style": "live"}))["style"] == "live" and sim.style == "live"
    for body in ({}, {"style": "xml"}, {"style": None}, {"style": ["live"]}):
        assert "style must be one of documented, live" in error(ask(sim, "style", body), 400)
    assert "unknown field(s) campaign_id" in error(ask(sim, "style", {"style": "documented", "campaign_id": "1"}), 400)
    assert sim.style == "live"


def test_the_count_style_is_switched_alone_or_with_the_style_and_a_bad_one_changes_nothing():
    sim = make_sim()
    state = answer(ask(sim, "style", {"count_style": "ringing-as-ready"}))
    assert state["count_style"] == "ringing-as-ready" == sim.count_style and sim.style == "documented"
    ask(sim, "style", {"style": "live", "count_style": "documented"})
    assert (sim.style, sim.count_style) == ("live", "documented")
    for body in ({"count_style": "fancy"}, {"count_style": ["documented"]}, {"count_style": None}):
        assert "count_style must be one of documented, ringing-as-ready" in error(ask(sim, "style", body), 400)
    # All or nothing: a good count style with a bad style is refused whole.
    assert "style must be one of" in error(ask(sim, "style", {"style": "xml", "count_style": "wrap-as-paused"}), 400)
    assert (sim.style, sim.count_style) == ("live", "documented")


# --- campaigns and queues --------------------------------------------------------------------------


def test_campaigns_and_queues_are_added_and_removed():
    sim = make_sim()
    added = ask(sim, "campaign", {"action": "add", "name": "Winter Promo", "agents": 3})
    assert added.status == 200 and answer(added) == {"campaign_id": "1003", "queue_id": "2004"}
    assert sim.center.search(campaign_id="1003")["agent_total"] == 3
    queue = answer(ask(sim, "queue", {"action": "add", "campaign_id": 1003, "name": "Late Shift", "agents": 1}))
    assert queue == {"queue_id": "2005", "campaign_id": "1003"}
    assert sim.center.queues()[-1] == {"queue_id": "2005", "queue_name": "Late Shift", "campaign_id": "1003"}
    assert answer(ask(sim, "queue", {"action": "remove", "queue_id": 2005})) == {"queue_id": "2005"}
    removed = answer(ask(sim, "campaign", {"action": "remove", "campaign_id": "1003"}))
    assert removed == {"campaign_id": "1003", "queue_ids": ["2004"]}
    assert sim.center.campaign_ids() == ["1001", "1002"] and sim.center.removed_ids() == ({"1003"}, {"2004", "2005"})
    assert len(sim.center.search()["agents"]) == 20  # nobody lost on the way


def test_a_campaign_added_without_name_or_agents_gets_a_generated_name_and_is_empty():
    sim = make_sim()
    ids = answer(ask(sim, "campaign", {"action": "add"}))
    listed = next(c for c in sim.center.campaigns() if c["campaign_id"] == ids["campaign_id"])
    assert listed["queue_ids"] == [ids["queue_id"]] and listed["campaign_name"].strip()
    assert sim.center.search(campaign_id=ids["campaign_id"])["agent_total"] == 0


@pytest.mark.parametrize(
    "what, body, status, words",
    [
        ("campaign", {}, 400, '"action" must be "add" or "remove", got None'),
        ("campaign", {"action": "rename"}, 400, "got 'rename'"),
        ("queue", {"action": ["add"]}, 400, "got ['add']"),
        ("campaign", {"action": "add", "campaign_id": "1001"}, 400, "unknown field(s) campaign_id"),
        ("campaign", {"action": "remove", "name": "x", "campaign_id": "1001"}, 400, "unknown field(s) name"),
        ("queue", {"action": "add", "campaign_id": "1001", "queue_id": "2001"}, 400, "unknown field(s) queue_id"),
        ("queue", {"action": "remove", "queue_id": "2001", "agents": 1}, 400, "unknown field(s) agents"),
        ("campaign", {"action": "add", "agents": -1}, 400, "agents must be an integer >= 0, got -1"),
        ("campaign", {"action": "add", "agents": "2"}, 400, "agents must be an integer >= 0, got '2'"),
        ("queue", {"action": "add", "campaign_id": "1001", "agents": None}, 400, "agents must be an integer >= 0"),
        ("campaign", {"action": "add", "name": " "}, 400, "name must be a non-blank string"),
        ("queue", {"action": "add", "campaign_id": "1001", "name": "q" * 201}, 400, "at most 200 characters"),
        ("campaign", {"action": "remove"}, 400, 'missing "campaign_id"'),
        ("campaign", {"action": "remove", "campaign_id": ""}, 400, 'missing "campaign_id"'),
        ("campaign", {"action": "remove", "campaign_id": 1.5}, 400, "campaign_id must be a string, got 1.5"),
        ("queue", {"action": "add"}, 400, 'missing "campaign_id"'),
        ("queue", {"action": "remove"}, 400, 'missing "queue_id"'),
        ("queue", {"action": "remove", "queue_id": "2002"}, 400, "campaign 1002's last queue"),
        ("campaign", {"action": "remove", "campaign_id": "1999"}, 404, "campaign 1999 not found"),
        ("queue", {"action": "add", "campaign_id": 1999}, 404, "campaign 1999 not found"),
        ("queue", {"action": "remove", "queue_id": "2999"}, 404, "queue 2999 not found"),
        ("queue", {"action": "remove", "queue_id": "1001"}, 404, "queue 1001 not found"),
    ],
)
def test_refused_layout_changes_answer_one_line_and_change_nothing(what, body, status, words):
    sim = make_sim()
    before = layout(sim)
    assert words in error(ask(sim, what, body), status)
    assert layout(sim) == before


def test_the_last_campaign_or_queue_cannot_go():
    sim = make_sim(campaigns=1, queues=1)
    before = layout(sim)
    assert "account's last queue" in error(ask(sim, "queue", {"action": "remove", "queue_id": "2001"}), 400)
    assert "account's last queue" in error(ask(sim, "campaign", {"action": "remove", "campaign_id": "1001"}), 400)
    assert layout(sim) == before


def test_a_removed_campaign_is_404_afterwards_and_its_faults_go_with_it():
    sim = make_sim()
    ask(sim, "fault", {"fault": "500", "campaign_id": "1002"})
    ask(sim, "fault", {"fault": "403", "campaign_id": "1001"})
    ask(sim, "campaign", {"action": "remove", "campaign_id": "1002"})
    assert "campaign 1002 not found" in error(ask(sim, "campaign", {"action": "remove", "campaign_id": "1002"}), 404)
    assert "campaign 1002 not found" in error(ask(sim, "queue", {"action": "add", "campaign_id": "1002"}), 404)
    assert [f["campaign_id"] for f in answer(ask(sim, "state", method="GET"))["faults"]] == ["1001"]


@pytest.mark.parametrize("length", [196, 200])
def test_a_long_campaign_name_still_gets_its_first_queue(length):
    # Its first queue's name ("<name> Main") went over 200 characters: the request was
    # refused after the campaign was made, which was left with no queue.
    sim = make_sim()
    body = answer(ask(sim, "campaign", {"action": "add", "name": "y" * length}))
    campaign = next(c for c in sim.center.campaigns() if c["campaign_name"] == "y" * length)
    queues = [q for q in sim.center.queues() if q["campaign_id"] == campaign["campaign_id"]]
    assert len(queues) == 1 and len(queues[0]["queue_name"]) <= 200 and queues[0]["queue_name"].endswith(" Main")
    assert body
