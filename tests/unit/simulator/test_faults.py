"""convoso_exporter.simulator.faults: the fault book (scopes, the most specific match,
healing after `times`, forgetting removed scopes), its checks, and what a broken server
sends instead of an answer; the endpoints a token can be denied and the denial."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.simulator.faults import (
    ANSWERING_FAULTS,
    BAD_GATEWAY_PAGE,
    CONTENT_FAULTS,
    FAULTS,
    HTML,
    HTTP_FAULTS,
    JSON,
    NOT_JSON_BODY,
    Fault,
    FaultBook,
    check_denied,
    denial,
    non_negative,
    scope_id,
)

FEW = settings(max_examples=40, deadline=None)
UNSCOPED_FIELDS = {"campaign_id": None, "queue_id": None, "retry_after": None, "delay": None, "times": None,
                   "size": None}


def names(book: FaultBook) -> dict[tuple, str]:
    return {(fault["campaign_id"], fault["queue_id"]): fault["name"] for fault in book.listed()}


# --- the list of faults ------------------------------------------------------------------------


def test_content_faults_are_search_only_additions_to_the_http_faults():
    assert FAULTS == HTTP_FAULTS + CONTENT_FAULTS and not set(HTTP_FAULTS) & set(CONTENT_FAULTS)
    assert len(set(FAULTS)) == len(FAULTS)
    assert set(ANSWERING_FAULTS) == {"truncated", "reset", *CONTENT_FAULTS}


# --- setting and clearing ------------------------------------------------------------------------


def test_a_fault_is_listed_with_every_option_numbers_as_floats():
    book = FaultBook()
    book.set("429", campaign_id=1001, retry_after=3)
    book.set("slow", queue_id="2002", delay=1, times=2)
    book.set("too_large", size=1000)
    assert len(book) == 3
    assert book.listed() == [
        {"name": "429", **UNSCOPED_FIELDS, "campaign_id": "1001", "retry_after": 3.0},
        {"name": "slow", **UNSCOPED_FIELDS, "queue_id": "2002", "delay": 1.0, "times": 2},
        {"name": "too_large", **UNSCOPED_FIELDS, "size": 1000},
    ]
    assert type(book.listed()[0]["retry_after"]) is float


def test_one_fault_per_scope_the_last_set_wins():
    book = FaultBook()
    book.set("500", campaign_id="1001")
    book.set("403", campaign_id="1001")
    book.set("401", campaign_id="1001", queue_id="2001")
    assert names(book) == {("1001", None): "403", ("1001", "2001"): "401"}


def test_none_heals_one_scope_or_with_no_scope_everything():
    book = FaultBook()
    book.set("500")
    book.set("403", campaign_id="1001")
    book.set("401", campaign_id="1001", queue_id="2001")
    book.set("429", queue_id="2002")
    book.set(None, campaign_id="1001")
    assert names(book) == {(None, None): "500", ("1001", "2001"): "401", (None, "2002"): "429"}
    book.set(None, campaign_id="1999")  # nothing there: nothing happens
    assert len(book) == 3
    book.set(None, campaign_id="", queue_id="")  # blank ids are no scope: heal all
    assert book.listed() == []


@pytest.mark.parametrize(
    "fault, options, words",
    [
        ("418", {}, "unknown fault '418'; known: 401, 403, 429"),
        ("", {}, "unknown fault ''"),
        ("429", {"times": 0}, "times must be a positive integer, got 0"),
        ("429", {"times": True}, "times must be a positive integer, got True"),
        ("429", {"times": 1.0}, "times must be a positive integer, got 1.0"),
        ("too_large", {"size": 0}, "size must be a positive integer (bytes), got 0"),
        ("too_large", {"size": "big"}, "size must be a positive integer (bytes), got 'big'"),
        ("429", {"retry_after": -1}, "retry_after must be a number of seconds >= 0, got -1"),
        ("429", {"retry_after": math.inf}, "retry_after must be a number of seconds >= 0, got inf"),
        ("slow", {"delay": math.nan}, "delay must be a number of seconds >= 0, got nan"),
        ("slow", {"delay": "5"}, "delay must be a number of seconds >= 0, got '5'"),
        ("500", {"campaign_id": True}, "campaign_id must be a string, got True"),
        ("500", {"queue_id": 20.5}, "queue_id must be a string, got 20.5"),
        ("500", {"campaign_id": ["1001"]}, "campaign_id must be a string, got ['1001']"),
    ],
)
def test_bad_faults_are_refused_in_one_line_and_change_nothing(fault, options, words):
    book = FaultBook()
    book.set("500", campaign_id="1001")
    with pytest.raises(ValueError) as raised:
        book.set(fault, **options)
    assert words in str(raised.value) and "\n" not in str(raised.value)
    assert names(book) == {("1001", None): "500"}


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), ("1001", "1001"), (1001, "1001"), (0, "0")])
def test_scope_ids_are_strings_or_none(value, expected):
    assert scope_id("campaign_id", value) == expected


@pytest.mark.parametrize("value, expected", [(0, 0.0), (2, 2.0), (0.25, 0.25), (1e9, 1e9)])
def test_non_negative_returns_seconds_as_a_float(value, expected):
    seconds = non_negative("delay", value)
    assert seconds == expected and type(seconds) is float


@pytest.mark.parametrize("value", [-0.001, math.nan, math.inf, True, None, "1"])
def test_non_negative_refuses_anything_else(value):
    with pytest.raises(ValueError, match=r"^delay must be a number of seconds >= 0, got "):
        non_negative("delay", value)


# --- which fault a request meets ---------------------------------------------------------------------


def test_no_fault_no_match():
    assert FaultBook().take({"campaign_id": "1001"}, content=CONTENT_FAULTS) is None


def test_a_scoped_fault_meets_only_the_requests_filtering_by_its_scope():
    book = FaultBook()
    book.set("500", campaign_id="1001", queue_id="2001")
    assert book.take({}, content=CONTENT_FAULTS) is None
    assert book.take({"campaign_id": "1001"}, content=CONTENT_FAULTS) is None
    assert book.take({"queue_id": "2001"}, content=CONTENT_FAULTS) is None
    assert book.take({"campaign_id": "1002", "queue_id": "2001"}, content=CONTENT_FAULTS) is None
    met = book.take({"campaign_id": "1001", "queue_id": "2001", "user_id": "100001"}, content=())
    assert met == Fault("500", campaign_id="1001", queue_id="2001")


def test_the_most_specific_fault_wins():
    book = FaultBook()
    book.set("500")
    book.set("403", campaign_id="1001")
    book.set("401", campaign_id="1001", queue_id="2001")
    met = {
        "account": book.take({}, content=CONTENT_FAULTS).name,
        "other campaign": book.take({"campaign_id": "1002"}, content=CONTENT_FAULTS).name,
        "campaign": book.take({"campaign_id": "1001"}, content=CONTENT_FAULTS).name,
        "campaign's queue": book.take({"campaign_id": "1001", "queue_id": "2001"}, content=CONTENT_FAULTS).name,
        "queue alone": book.take({"queue_id": "2001"}, content=CONTENT_FAULTS).name,
    }
    assert met == {"account": "500", "other campaign": "500", "campaign": "403", "campaign's queue": "401",
                   "queue alone": "500"}
    assert len(book) == 3  # no `times`: nothing heals


def test_a_fault_with_times_is_met_that_many_times_then_heals():
    book = FaultBook()
    book.set("500", times=3)
    book.set("403", campaign_id="1001", times=1)
    assert book.take({"campaign_id": "1001"}, content=CONTENT_FAULTS).name == "403"
    assert book.take({"campaign_id": "1001"}, content=CONTENT_FAULTS).name == "500"  # the scoped one healed
    assert [fault["times"] for fault in book.listed()] == [2]
    assert [book.take({}, content=()).times for _ in range(2)] == [2, 1]
    assert book.take({}, content=CONTENT_FAULTS) is None and len(book) == 0


def test_content_faults_pass_by_logouts_without_counting_down():
    book = FaultBook()
    book.set("agents_null", times=2)
    assert book.take({"user_id": "100001"}, content=()) is None
    assert book.listed()[0]["times"] == 2
    book.set("429", campaign_id="1001")
    book.set("glitch", campaign_id="1001", queue_id="2001")
    # A logout in 1001/2001 meets the less specific HTTP fault, a search the content fault.
    assert book.take({"campaign_id": "1001", "queue_id": "2001"}, content=()).name == "429"
    assert book.take({"campaign_id": "1001", "queue_id": "2001"}, content=CONTENT_FAULTS).name == "glitch"
    assert book.take({}, content=CONTENT_FAULTS).name == "agents_null"


def test_faults_scoped_to_removed_campaigns_or_queues_are_forgotten():
    book = FaultBook()
    book.set("500")
    book.set("403", campaign_id="1001")
    book.set("401", campaign_id="1002", queue_id="2002")
    book.set("429", queue_id="2003")
    book.set("slow", campaign_id="1003", queue_id="2004")
    book.forget({"1002"}, {"2003"})
    assert names(book) == {(None, None): "500", ("1001", None): "403", ("1003", "2004"): "slow"}
    book.forget(set(), {"2004"})
    assert names(book) == {(None, None): "500", ("1001", None): "403"}
    book.forget(set(), set())
    assert len(book) == 2


campaigns = st.sampled_from([None, "1001", "1002"])
queues = st.sampled_from([None, "2001", "2002"])


@FEW
@given(
    st.dictionaries(st.tuples(campaigns, queues), st.sampled_from(HTTP_FAULTS), max_size=9),
    st.fixed_dictionaries({}, optional={"campaign_id": campaigns.filter(bool), "queue_id": queues.filter(bool)}),
)
def test_a_request_meets_a_matching_fault_of_the_most_specific_kind(scopes, params):
    book = FaultBook()
    for (campaign_id, queue_id), name in scopes.items():
        book.set(name, campaign_id=campaign_id, queue_id=queue_id)
    fits = {scope: name for scope, name in scopes.items()
            if scope[0] in (None, params.get("campaign_id")) and scope[1] in (None, params.get("queue_id"))}
    met = book.take(params, content=CONTENT_FAULTS)
    if not fits:
        assert met is None
    else:
        assert fits[met.scope] == met.name
        assert sum(part is not None for part in met.scope) == max(sum(p is not None for p in s) for s in fits)


@FEW
@given(st.integers(1, 20), st.integers(0, 25))
def test_times_counts_down_exactly(times, requests):
    book = FaultBook()
    book.set("502_html", queue_id="2001", times=times)
    met = [book.take({"queue_id": "2001"}, content=CONTENT_FAULTS) for _ in range(requests)]
    assert sum(fault is not None for fault in met) == min(times, requests)
    assert len(book) == (1 if requests < times else 0)


# --- what a broken server sends ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, status, content_type, body",
    [
        ("401", 401, JSON, {"success": False, "message": "Unauthenticated."}),
        ("403", 403, JSON, {"success": False, "code": 403, "text": "Token is not valid for this office"}),
        ("429", 429, JSON, {"success": False, "message": "Too Many Attempts."}),
        ("500", 500, JSON, {"success": False, "error": "Internal Server Error"}),
        ("wrong_shape", 200, JSON, [{"agents": []}]),
    ],
)
def test_json_faults_answer_their_status_and_body(name, status, content_type, body):
    response = FaultBook().response(Fault(name))
    assert (response.status, response.content_type) == (status, content_type)
    assert json.loads(response.body) == body


def test_a_502_is_an_nginx_html_page_and_not_json_is_a_php_warning():
    gateway = FaultBook().response(Fault("502_html"))
    assert (gateway.status, gateway.content_type, gateway.body) == (502, HTML, BAD_GATEWAY_PAGE)
    assert b"502 Bad Gateway" in gateway.body
    text = FaultBook().response(Fault("not_json"))
    assert text.status == 200 and text.content_type.startswith("text/plain") and text.body == NOT_JSON_BODY
    with pytest.raises(ValueError):
        json.loads(text.body)


@pytest.mark.parametrize("retry_after, header", [(None, "5"), (3.0, "3"), (0.0, "0"), (2.5, "2.5"), (120.0, "120")])
def test_429_says_when_to_retry(retry_after, header):
    response = FaultBook().response(Fault("429", retry_after=retry_after))
    assert response.headers == [("Retry-After", header)]


@FEW
@given(st.integers(1, 200_000))
def test_too_large_is_valid_json_over_its_size(size):
    response = FaultBook().response(Fault("too_large", size=size))
    assert response.status == 200 and response.content_type == JSON
    assert len(response.body) > size
    agents = json.loads(response.body)["agents"]
    assert agents and all(agent["user_id"] == "12345" for agent in agents)


def test_too_large_defaults_to_40_mb_and_builds_a_body_once_per_size():
    book = FaultBook()
    first = book.response(Fault("too_large"))
    assert 40 * 1024 * 1024 < len(first.body) < 41 * 1024 * 1024
    assert book.response(Fault("too_large")).body is first.body
    small = book.response(Fault("too_large", size=100)).body
    assert len(small) < 1000 and book.response(Fault("too_large", size=100)).body is small


# --- endpoints' content faults and denial --------------------------------------------------------


def test_content_faults_meet_the_endpoints_whose_answers_can_carry_them():
    book = FaultBook()
    book.set("strings", times=1)
    book.set("glitch", campaign_id="1001")
    assert book.take({"campaign_id": "1001"}, content=("strings", "keyed_by_id")).name == "strings"
    assert book.take({"campaign_id": "1001"}, content=("strings", "keyed_by_id")) is None  # glitch: search only
    assert book.take({"campaign_id": "1001"}, content=CONTENT_FAULTS).name == "glitch"


def test_check_denied_takes_the_deniable_endpoints_and_two_statuses():
    assert check_denied(["performance", "user_activity"], 403) == ("performance", "user_activity")
    assert check_denied((), 200) == ()
    for endpoints, status, words in (
        (["search"], 403, "cannot deny 'search'"),
        ("performance", 403, "must be a list"),
        (["performance"], 401, "status must be 403 or 200"),
        (["performance"], True, "status must be 403 or 200"),
        (["performance"], 403.0, "status must be 403 or 200"),
    ):
        with pytest.raises(ValueError, match=words):
            check_denied(endpoints, status)


@pytest.mark.parametrize("status", [403, 200])
def test_a_denial_is_success_false_naming_the_permission(status):
    response = denial("performance", status)
    assert response.status == status and response.content_type.startswith("application/json")
    body = json.loads(response.body)
    assert body["success"] is False and body["code"] == 403 and "Agent Performance" in body["text"]
    assert "User Activity" in json.loads(denial("user_activity", status).body)["text"]
