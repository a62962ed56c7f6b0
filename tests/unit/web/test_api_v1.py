"""`/api/v1/snapshot` (web/snapshot.py) and the wallboard's route: the schema, the scope of
`?target=`, what `agent_metrics` / `agent_names` leave out, bad requests, and the web
config's TLS and basic auth on both."""

from __future__ import annotations

import gzip
import json
import re
import time

import bcrypt
import httpx
import pytest

from convoso_exporter.api.model import COMMON_STATUSES
from convoso_exporter.config.schema import Config, UserActivitySettings
from convoso_exporter.poll.endpoints import Endpoints
from convoso_exporter.web import snapshot
from convoso_exporter.web.snapshot import SCHEMA, UnknownTarget, document, encode
from convoso_exporter.web.webconfig import load_web_config
from tests.support import ROOT
from tests.tls_certs import client_context, make_certs
from tests.unit.web.floor import (
    HOSTILE,
    NOW,
    FakeBackend,
    agent,
    answer,
    floor_states,
    ok,
    run,
    serving,
    view,
    with_service_counts,
)

TARGET_FIELDS = {
    "name", "kind", "scope", "publish", "filters", "campaign_name", "queue_name", "up", "fresh", "last_success",
    "stale_after_seconds", "attempted", "last_attempt", "last_duration_seconds", "last_error", "last_error_kind",
    "consecutive_failures", "generation", "figures",
}
FIGURE_FIELDS = {
    "dialable_leads", "calls_today", "answered_today", "dropped_today", "drop_rate", "drop_red", "call_data",
    "agent_total", "agent_ready", "agent_incall", "agent_paused", "agents_listed", "count_gaps",
}
AGENT_FIELDS = {
    "user_id", "name", "status", "status_label", "status_seconds", "time_level", "calls_today", "session_calls",
    "campaign_id", "campaign_name", "queue_id", "queue_name", "extension", "call_type",
}


def doc(target: str | None = None, **settings) -> dict:
    built = document(view(**settings), now=NOW, version="9.9", target=target)
    return json.loads(encode(built))  # what a client reads


def by_name(document_: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in document_["targets"]}


def test_top_level_shape_and_version():
    d = doc()
    assert set(d) == {"schema", "generated_at", "generation", "exporter", "api_drift", "endpoints", "targets", "account",
                      "agents"}
    assert d["schema"] == SCHEMA == 1
    assert d["generated_at"] == NOW and d["generation"] == 7
    assert d["exporter"] == {"version": "9.9", "poll_interval_seconds": 15.0, "api_calls_per_minute": 7.0,
                             "banner": None, "agent_metrics": True, "agent_names": True}


def test_every_target_with_its_health_filters_and_figures():
    targets = by_name(doc())
    assert list(targets) == ["account", "campaign:1001", "campaign:1002", "queue:2002", "spanish-speakers"]
    assert all(set(entry) == TARGET_FIELDS for entry in targets.values())
    sales = targets["campaign:1001"]
    assert sales["kind"] == "campaign" and sales["filters"] == {"campaign_id": "1001"} and sales["campaign_name"] == "Sales"
    assert sales["up"] and sales["fresh"] and sales["last_success"] == NOW - 20 == sales["last_attempt"]
    assert sales["stale_after_seconds"] == 45.0 and sales["last_duration_seconds"] == 0.25
    assert set(sales["figures"]) == FIGURE_FIELDS
    assert sales["figures"]["drop_rate"] == pytest.approx(0.04) and sales["figures"]["drop_red"] is True
    assert sales["figures"]["call_data"] == {"total_calls": 2000, "answered": 1000, "dropped": 40}
    assert targets["queue:2002"]["figures"]["drop_rate"] is None  # nothing answered: no rate, never NaN
    custom = targets["spanish-speakers"]
    assert custom["filters"] == {"skills": ["spanish"]} and custom["figures"] is None
    assert (custom["attempted"], custom["up"], custom["fresh"], custom["last_success"]) == (False, False, False, None)


def test_a_failed_then_stale_target_keeps_its_last_figures_marked_stale():
    states = floor_states()
    sales = states["campaign:1001"]
    states["campaign:1001"] = sales.failed("server", "HTTP 500 from the API", wall=NOW - 1, duration=0.1)
    failing = by_name(json.loads(encode(document(view(states), now=NOW, version="x"))))["campaign:1001"]
    assert (failing["up"], failing["fresh"], failing["last_error"], failing["last_error_kind"]) == (
        False, True, "HTTP 500 from the API", "server")
    later = by_name(json.loads(encode(document(view(states), now=NOW + 60, version="x"))))["campaign:1001"]
    assert later["fresh"] is False and later["figures"]["dropped_today"] == 40
    assert later["consecutive_failures"] == 1


def test_convoso_counts_of_the_scope_beside_ours_and_the_endpoints_polled():
    states = with_service_counts(floor_states())
    endpoints = Endpoints(Config(user_activity=UserActivitySettings(enabled=False)), wall=lambda: NOW)
    endpoints.deny("performance", "performance: HTTP 403: access denied")
    whole = json.loads(encode(document(view(states, endpoints=endpoints.statuses()), now=NOW, version="x")))
    assert whole["account"]["convoso_counts"] == {"logged_in": 8, "available": 3, "last_success": NOW - 3,
                                                  "fresh": True}
    assert whole["account"]["logged_in"] == 7  # ours, beside
    assert [(e["endpoint"], e["enabled"], e["permission"], e["since"]) for e in whole["endpoints"]] == [
        ("search", True, None, None), ("performance", False, "Agent Performance", NOW),
        ("user_activity", False, None, None)]
    assert whole["endpoints"][2]["reason"] == "turned off in the config (user_activity.enabled: false)"
    # An optional endpoint's target is listed with its scope, without search figures.
    beside = by_name(whole)["user_activity:account"]
    assert (beside["kind"], beside["scope"], beside["figures"]) == ("user_activity", "account", None)
    sales = json.loads(encode(document(view(states), now=NOW, version="x", target="campaign:1001")))["account"]
    assert sales["convoso_counts"] == {"logged_in": 4, "available": None, "last_success": NOW - 200, "fresh": False}
    queue = json.loads(encode(document(view(states), now=NOW, version="x", target="queue:2002")))["account"]
    assert queue["convoso_counts"] is None  # user-activity goes beside the account and campaigns only


def test_account_counts_each_agent_once_in_an_additive_breakdown():
    account = doc()["account"]
    assert account["target"] == "account" and account["fresh"] and account["scope"] == {}
    assert account["agents"] == 8  # nine entries, 100002 listed twice
    assert account["logged_in"] == 7
    assert list(account["by_status"]) == ["READY", "INCALL", "PAUSED", "WRAP", "RINGING", "TRANSFER", "LUNCH", "LOGGED_OUT"]
    assert account["by_status"]["READY"] == 2 and account["by_status"]["INCALL"] == 2  # not the repeat
    assert sum(cell["agents"] for cell in account["breakdown"]) == account["agents"] == sum(account["by_status"].values())
    assert account["campaigns"] == [{"id": "1001", "name": "Sales"}, {"id": "1002", "name": "Renewals"}]
    assert [q["id"] for q in account["queues"]] == ["2001", "2002", "2003"]


def test_agent_rows_in_floor_order_each_once_with_time_levels():
    rows = doc()["agents"]
    assert all(set(row) == AGENT_FIELDS for row in rows)
    assert [(r["user_id"], r["status"]) for r in rows] == [
        ("100001", "READY"), ("100002", "READY"), ("100008", "INCALL"), ("100003", "INCALL"), ("100004", "PAUSED"),
        ("100005", "WRAP"), ("100007", "LUNCH"), ("100006", "LOGGED_OUT"),
    ]
    levels = {r["user_id"]: r["time_level"] for r in rows}
    assert levels["100001"] == "alert" and levels["100004"] == "warn" and levels["100002"] == "ok"
    assert next(r for r in rows if r["user_id"] == "100007")["name"] == HOSTILE  # carried exactly


def test_target_narrows_agents_to_its_scope():
    sales = doc("campaign:1001")
    assert [t["name"] for t in sales["targets"]] == ["campaign:1001"]
    assert sales["account"]["scope"] == {"campaign_id": "1001"}
    assert {r["campaign_id"] for r in sales["agents"]} == {"1001"} and sales["account"]["agents"] == 4
    queue = doc("queue:2002")
    assert [r["user_id"] for r in queue["agents"]] == ["100003"]
    skills = doc("spanish-speakers")  # any of the target's skills
    assert [r["user_id"] for r in skills["agents"]] == ["100003"]
    assert len(doc("account")["agents"]) == 8


def test_unknown_target_raises_naming_it():
    with pytest.raises(UnknownTarget) as raised:
        document(view(), now=NOW, version="x", target="campaign:9999")
    assert raised.value.name == "campaign:9999"


def test_agent_metrics_off_leaves_out_every_row_and_every_name():
    d = doc(agent_metrics=False)
    assert "agents" not in d and d["exporter"]["agent_metrics"] is False
    assert d["account"]["by_status"]["READY"] == 2  # the counts stay
    body = encode(document(view(agent_metrics=False), now=NOW, version="x")).decode()
    assert "Agent 1000" not in body and "onerror" not in body and "100001" not in body


def test_agent_names_off_keeps_rows_without_names():
    d = doc(agent_names=False)
    assert d["agents"] and all("name" not in row for row in d["agents"])
    body = encode(document(view(agent_names=False), now=NOW, version="x")).decode()
    assert "Agent 1000" not in body and "onerror" not in body
    assert "Sales" in body  # campaign and queue names are not personal


def test_no_account_target_and_no_answer_yet():
    states = floor_states()
    del states["account"]
    assert doc_of(states)["account"] is None and doc_of(states)["agents"] == []
    states = floor_states()
    states["account"] = type(states["account"])(states["account"].target)
    empty = doc_of(states)["account"]
    assert empty["agents"] == 0 and empty["last_success"] is None and empty["fresh"] is False


def doc_of(states) -> dict:
    return json.loads(encode(document(view(states), now=NOW, version="x")))


def test_two_thousand_agents_build_fast():
    many = tuple(agent(str(100000 + i), COMMON_STATUSES[i % 7], i % 900, campaign=str(1001 + i % 20),
                       queue=str(2001 + i % 40)) for i in range(2000))
    states = floor_states()
    states["account"] = ok(states["account"].target, answer(many, 1, 1, 1, 0), stale_after=15.0)
    started = time.perf_counter()
    body = encode(document(view(states), now=NOW, version="x"))
    took = time.perf_counter() - started
    assert len(json.loads(body)["agents"]) == 2000
    assert took < 0.5, f"{took:.3f}s"


# --- over HTTP --------------------------------------------------------------------------


def get(backend: FakeBackend, *paths: str, **options) -> list[httpx.Response]:
    async def scenario():
        async with serving(backend, **options) as (_, client):
            return [await client.get(path) for path in paths]

    return run(scenario())


def test_snapshot_endpoint_serves_the_document():
    (whole, one, head_like) = get(FakeBackend(view()), "/api/v1/snapshot", "/api/v1/snapshot?target=campaign%3A1001",
                                  "/api/v1/snapshot?target=account")
    assert whole.status_code == 200 and whole.headers["content-type"] == snapshot.CONTENT_TYPE
    assert whole.headers["cache-control"] == "no-store" and whole.headers["x-content-type-options"] == "nosniff"
    assert whole.json()["schema"] == 1 and len(whole.json()["targets"]) == 5
    assert [t["name"] for t in one.json()["targets"]] == ["campaign:1001"]
    assert head_like.json()["account"]["agents"] == 8


def test_snapshot_is_gzipped_when_the_client_accepts_it():
    async def scenario():
        async with serving(FakeBackend(view())) as (_, client):
            async with client.stream("GET", "/api/v1/snapshot", headers={"Accept-Encoding": "gzip"}) as response:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            plain = await client.get("/api/v1/snapshot", headers={"Accept-Encoding": "identity"})
            return response, raw, plain

    zipped, raw, plain = run(scenario())
    assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in plain.headers and len(raw) < len(plain.content)
    assert json.loads(gzip.decompress(raw)) == plain.json()


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("?target=campaign%3A9999", 404, "unknown target 'campaign:9999': see the targets at /api/v1/snapshot"),
        ("?target=", 400, "bad request: target='': expected 1 to 128 printable characters without spaces"),
        ("?target=a%20b", 400, "bad request: target='a b': expected 1 to 128 printable characters without spaces"),
        ("?target=a%0Ab", 400, "bad request: target='a b': expected 1 to 128 printable characters without spaces"),
        ("?target=" + "x" * 129, 400, "bad request: target='" + "x" * 40 + "': expected 1 to 128 printable characters without spaces"),
        ("?campaign=1001", 400, "bad request: unknown parameter 'campaign' (known: target)"),
    ],
)
def test_snapshot_bad_requests_get_one_line_json_errors(query, status, message):
    (response,) = get(FakeBackend(view()), "/api/v1/snapshot" + query)
    assert response.status_code == status
    assert response.headers["content-type"] == snapshot.CONTENT_TYPE
    assert response.json() == {"error": message}
    assert response.text.count("\n") == 1


def test_wallboard_route_checks_its_query():
    paths = ["/wallboard", "/wallboard?campaign=1001&tv=1", "/wallboard?queue=2002&tv=0", "/wallboard?campaign=9999",
             "/wallboard?tv=yes", "/wallboard?campaign=1001&queue=2001", "/wallboard?campaign=%3Cscript%3E%20x",
             "/wallboard?color=red"]
    ok_page, scoped, queue, unknown, bad_tv, both, spaced, unknown_param = get(FakeBackend(view()), *paths)
    for response in (ok_page, scoped, queue, unknown):  # an unknown id may be discovered later: the page says so
        assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in response.headers["content-security-policy"]
    assert ok_page.content == scoped.content  # one static document; the script reads the URL
    assert (bad_tv.status_code, bad_tv.text) == (400, "bad request: tv='yes': expected 0 or 1\n")
    assert (both.status_code, both.text) == (400, "bad request: give campaign or queue, not both\n")
    assert spaced.status_code == 400 and "<script>" not in spaced.headers.get("content-type", "")
    assert (unknown_param.status_code, unknown_param.text) == (
        400, "bad request: unknown parameter 'color' (known: campaign, queue, tv)\n")


def test_web_config_tls_and_basic_auth_cover_the_wallboard_and_the_api(tmp_path):
    certs = make_certs(tmp_path)
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()  # cost 4: cheap for a test
    users = f"basic_auth_users:\n  floor: '{hashed}'\n"
    tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
    config_path = tmp_path / "web.yml"
    config_path.write_text(tls + users + "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n")
    config = load_web_config(str(config_path))

    async def scenario():
        async with serving(FakeBackend(view()), web_config=config) as (server, _):
            url = f"https://127.0.0.1:{server.port}"
            async with httpx.AsyncClient(base_url=url, verify=client_context(certs)) as client:
                answers = {}
                for path in ("/", "/wallboard", "/api/v1/snapshot", "/api/v1/snapshot?target=nope", "/wallboard?tv=9"):
                    answers[path, "none"] = await client.get(path)
                    answers[path, "wrong"] = await client.get(path, auth=("floor", "nope"))
                    answers[path, "right"] = await client.get(path, auth=("floor", "s3cret"))
                return answers

    answers = run(scenario())
    expected = {"/": 200, "/wallboard": 200, "/api/v1/snapshot": 200, "/api/v1/snapshot?target=nope": 404,
                "/wallboard?tv=9": 400}
    for (path, who), response in answers.items():
        assert response.headers["x-frame-options"] == "sameorigin", (path, who)
        if who == "right":
            assert response.status_code == expected[path], path
        else:
            assert response.status_code == 401, (path, who)
            assert response.headers["www-authenticate"] == 'Basic realm="convoso-exporter"'
            assert "Agent" not in response.text and "unknown target" not in response.text


def test_docs_describe_every_field():
    """docs/api.md names every field the document has (within schema 1 fields are only added)."""
    text = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"`([a-z_]+)`", text))
    for group in re.findall(r"\| `([a-z_]+(?:`, `[a-z_]+)+)` \|", text):
        documented |= set(group.split("`, `"))
    every = view(with_service_counts(floor_states()), endpoints=Endpoints(Config()).statuses())
    d = json.loads(encode(document(every, now=NOW, version="x")))

    def keys(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                if path not in ("/by_status", "/filters", "/scope"):  # keys there are data, not fields
                    yield path, key
                yield from keys(value, f"/{key}")
        elif isinstance(node, list):
            for item in node:
                yield from keys(item, path)

    missing = {f"{path}/{key}" for path, key in keys(d) if key not in documented}
    assert not missing, f"not in docs/api.md: {sorted(missing)}"
