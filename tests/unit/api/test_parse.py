"""convoso_exporter.api.parse: one case per way the live service differs from its reference."""

from __future__ import annotations

from dataclasses import fields

import pytest

from convoso_exporter.api.errors import ApiError, AuthError, ProtocolError, ResponseTooLarge
from convoso_exporter.api.limits import Limits
from convoso_exporter.api.model import Agent, CallData, Scope, SearchResult
from convoso_exporter.api.parse import (
    document_error,
    mmss_seconds,
    parse_logout,
    parse_search,
)
from convoso_exporter.api.drift import Tally
from tests.api_fixtures import DOCUMENTED_RESULT, load


def one_agent(**record: object) -> Agent:
    result = parse_search({"agents": [record]})
    assert len(result.agents) == 1
    return result.agents[0]


# --- documented shape ----------------------------------------------------------------


def test_documented_flat_document() -> None:
    result = parse_search(load("search_documented.json"))
    assert result == DOCUMENTED_RESULT


def test_absent_fields_stay_none() -> None:
    result = parse_search({"agents": [{}]})
    assert result.agents == (Agent(),)
    assert all(getattr(result.agents[0], f.name) is None for f in fields(Agent))
    assert result.call_data is None
    for name in ("queue_dialable_leads", "queue_calls_today", "queue_dropped", "queue_answered",
                 "agent_total", "agent_incall", "agent_ready", "agent_paused"):
        assert getattr(result, name) is None, name


def test_empty_document_is_an_empty_result() -> None:
    assert parse_search({}) == SearchResult()


# --- wrapped payloads ----------------------------------------------------------------


@pytest.mark.parametrize(
    "wrap",
    [
        lambda record: {"success": True, "data": {"entries": record}},
        lambda record: {"success": True, "data": record},
        lambda record: record,
    ],
    ids=["data.entries", "data", "root"],
)
def test_record_found_at_each_level(wrap) -> None:
    record = {"agents": [{"user_id": "7", "status": "READY"}], "agent_total": 4,
              "call_data": {"answered": 3}}
    result = parse_search(wrap(record))
    assert result.agents == (Agent(user_id="7", status="READY"),)
    assert result.agent_total == 4
    assert result.call_data == CallData(answered=3)


def test_fields_split_across_levels_each_taken_where_present() -> None:
    result = parse_search(load("search_wrapped_live.json"))
    assert [a.user_id for a in result.agents] == ["12345", "678"]  # data.entries.agents
    assert result.agent_total == 2  # data.entries
    assert result.call_data == CallData(total_calls=500, answered=450, dropped=None)  # data
    assert result.queue_dialable_leads == 1200  # root
    assert result.queue_calls_today is None  # nowhere


def test_innermost_level_wins() -> None:
    doc = {"agent_total": 1, "data": {"agent_total": 2, "entries": {"agent_total": 3}}}
    assert parse_search(doc).agent_total == 3


def test_null_inner_value_falls_back_to_outer_level() -> None:
    doc = {"agent_total": 1, "data": {"entries": {"agent_total": None}}}
    assert parse_search(doc).agent_total == 1


@pytest.mark.parametrize("empty", [None, []], ids=["null", "php-empty-array"])
def test_empty_wrappers_are_ignored(empty) -> None:
    assert parse_search({"data": empty, "agent_total": 5}).agent_total == 5
    assert parse_search({"data": {"entries": empty}, "agent_total": 5}).agent_total == 5


# --- numbers as strings --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (123, 123),
        ("123", 123),
        ("12.0", 12),
        (" 42 ", 42),
        (12.0, 12),
        ("0", 0),
        (0, 0),
        ("1e3", 1000),
        ("abc", None),
        ("12abc", None),
        ("", None),
        ("-", None),
        (" ", None),
        (True, None),
        (False, None),
        (-5, None),
        ("-5", None),
        ("NaN", None),
        ("inf", None),
        ([1], None),
        ({"n": 1}, None),
    ],
)
def test_counts_tolerate_strings_and_reject_non_numbers(raw, expected) -> None:
    assert one_agent(calls_today=raw).calls_today == expected
    assert parse_search({"agent_total": raw}).agent_total == expected
    assert parse_search({"call_data": {"dropped": raw}}).call_data.dropped == expected


def test_strings_and_ints_mixed_in_one_record() -> None:
    agent = one_agent(calls_today="123", total_calls=7, status_time_sec="60")
    assert (agent.calls_today, agent.total_calls, agent.status_time_sec) == (123, 7, 60)


# --- empties -------------------------------------------------------------------------

ID_FIELDS = ("user_id", "campaign_id", "queue_id", "list_id", "lead_id", "call_log_id", "extension")
TEXT_FIELDS = ("user_full_name", "campaign_name", "queue_name", "queue_assignment", "channel_type",
               "call_type", "status", "status_label", "status_time_mmss", "connection_type")


@pytest.mark.parametrize("name", ID_FIELDS)
@pytest.mark.parametrize("empty", ["0", "", "-", 0, " - "])
def test_empty_ids_are_none(name, empty) -> None:
    assert getattr(one_agent(**{name: empty}), name) is None


@pytest.mark.parametrize("name", ID_FIELDS)
def test_ids_sent_as_numbers_become_text(name) -> None:
    assert getattr(one_agent(**{name: 1001}), name) == "1001"


@pytest.mark.parametrize("name", TEXT_FIELDS)
@pytest.mark.parametrize("empty", ["", "-", "  "])
def test_empty_text_is_none(name, empty) -> None:
    assert getattr(one_agent(**{name: empty}), name) is None


def test_zero_is_real_text_but_not_a_real_id() -> None:
    agent = one_agent(campaign_name="0", campaign_id="0")
    assert agent.campaign_name == "0"
    assert agent.campaign_id is None


def test_agent_without_id_is_kept() -> None:
    result = parse_search({"agents": [{"user_id": "", "status": "READY"}, {"user_id": "-"}]})
    assert [a.user_id for a in result.agents] == [None, None]
    assert result.agents[0].status == "READY"


# --- keyed collections ---------------------------------------------------------------


def test_agents_keyed_by_user_id() -> None:
    result = parse_search({"agents": {"12": {"status": "READY"}, "34": {"user_id": "99"}}})
    assert result.agents == (Agent(user_id="12", status="READY"), Agent(user_id="99"))


def test_keyed_collection_with_empty_key_leaves_user_id_none() -> None:
    assert parse_search({"agents": {"0": {"status": "PAUSED"}}}).agents == (Agent(status="PAUSED"),)


@pytest.mark.parametrize("empty", [None, [], {}])
def test_empty_agent_collections(empty) -> None:
    assert parse_search({"agents": empty}).agents == ()


def test_non_object_agent_entries_are_skipped() -> None:
    result = parse_search({"agents": [1, "x", None, [], {"user_id": "5"}, True]})
    assert result.agents == (Agent(user_id="5"),)
    keyed = parse_search({"agents": {"1": "x", "2": {"status": "WRAP"}}})
    assert keyed.agents == (Agent(user_id="2", status="WRAP"),)


def test_php_empty_call_data() -> None:
    assert parse_search({"call_data": []}).call_data is None
    assert parse_search({"call_data": {}}).call_data == CallData()


# --- unknown fields and statuses ------------------------------------------------------


def test_unknown_fields_ignored_and_unknown_status_kept() -> None:
    agent = parse_search(load("search_wrapped_live.json")).agents[0]
    assert agent == Agent(
        user_id="12345", user_full_name="Jane Smith", campaign_id="111", extension="1001",
        channel_type="VOICE", calls_today=123, total_calls=7, status="CUSTOM_DISPO",
        status_time_sec=3723, status_time_mmss="1:02:03", skill_options=("english", "sales"),
    )


def test_unknown_root_fields_ignored() -> None:
    result = parse_search({"campaigns": [1], "queues": "x", "agent_total": 1, "new": {}})
    assert result.agent_total == 1
    assert result.campaigns == (Scope("1"),) and result.queues is None


def test_scopes_in_the_help_centre_shape() -> None:
    doc = {"success": True, "data": {"entries": {
        "campaigns": [{"value": 1234, "name": "Solar Savings"}, {"value": "1235", "name": ""}],
        "queues": [{"value": 2001, "name": "Main"}],
        "agents": [],
    }}}
    result = parse_search(doc)
    assert result.campaigns == (Scope("1234", "Solar Savings"), Scope("1235", None))
    assert result.queues == (Scope("2001", "Main"),)


def test_scopes_keyed_by_id_with_other_field_names_and_junk() -> None:
    doc = {
        "campaigns": {"111": {"campaign_name": "Sales"}, "112": {"id": "112", "name": "Retention"}, "0": {}},
        "queues": [{"queue_id": "222", "queue_name": "Main Queue"}, {"name": "no id"}, None, ["x"], True,
                   {"value": "222", "name": "Main Queue"}, "223", 0],
    }
    result = parse_search(doc)
    assert result.campaigns == (Scope("111", "Sales"), Scope("112", "Retention"))
    # Entries naming no id are skipped; the same scope listed twice counts once.
    assert result.queues == (Scope("222", "Main Queue"), Scope("223"))


def test_the_live_fixture_lists_its_scopes() -> None:
    result = parse_search(load("search_wrapped_live.json"))
    assert result.campaigns == (Scope("111", "Sales Campaign"),)
    assert result.queues == (Scope("222", "Main Queue"),)


@pytest.mark.parametrize("status", ["Break-Lunch", "DISPO", "lowercase", "0"])
def test_any_status_carried_verbatim(status) -> None:
    assert one_agent(status=status).status == status


# --- skill_options -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("english,sales", ("english", "sales")),
        ("english, sales", ("english", "sales")),
        (" english ,, sales, ", ("english", "sales")),
        ("english", ("english",)),
        (["english", " sales ", "", 7], ("english", "sales", "7")),
        ([], ()),
        ("", None),
        ("-", None),
        (5, None),
        ({"a": 1}, None),
    ],
)
def test_skill_options(raw, expected) -> None:
    assert one_agent(skill_options=raw).skill_options == expected


# --- status time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mmss", "seconds"),
    [("05:00", 300), ("1:02:03", 3723), ("00:07", 7), ("125:00", 7500), (" 01:01 ", 61),
     ("5", None), ("1:2:3:4", None), ("aa:bb", None), ("-1:00", None), ("1:", None), (None, None)],
)
def test_mmss_seconds(mmss, seconds) -> None:
    assert mmss_seconds(mmss) == seconds


def test_status_time_falls_back_to_mmss() -> None:
    assert one_agent(status_time_mmss="05:00").status_time_sec == 300
    assert one_agent(status_time_sec="", status_time_mmss="1:02:03").status_time_sec == 3723
    assert one_agent(status_time_sec=-4, status_time_mmss="00:09").status_time_sec == 9


def test_status_time_sec_wins_over_mmss() -> None:
    assert one_agent(status_time_sec=61, status_time_mmss="05:00").status_time_sec == 61


def test_status_time_negative_or_unreadable_is_none() -> None:
    assert one_agent(status_time_sec=-4).status_time_sec is None
    assert one_agent(status_time_sec="x", status_time_mmss="soon").status_time_sec is None


# --- wrong shapes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ([], "response"),
        ("ok", "response"),
        (None, "response"),
        (42, "response"),
        ({"agents": "many"}, "agents"),
        ({"agents": 3}, "agents"),
        ({"agents": True}, "agents"),
        ({"data": {"entries": {"agents": "x"}}}, "data.entries.agents"),
        ({"data": {"agents": 1.5}}, "data.agents"),
        ({"data": "x"}, "data"),
        ({"data": [1]}, "data"),
        ({"data": {"entries": 5}}, "data.entries"),
    ],
)
def test_wrong_shape_is_a_protocol_error_naming_the_field(doc, field) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_search(doc)
    message = str(caught.value)
    assert message.startswith(f"{field}: expected ")
    assert "\n" not in message
    assert type(caught.value) is ProtocolError


# --- success: false --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "status"),
    [
        ({"success": False, "error": "Invalid authentication token"}, None),
        ({"success": False, "message": "Token expired"}, None),
        ({"success": False, "code": 401, "text": "Unauthorized"}, 401),
        ({"success": False, "code": "403", "text": "Forbidden for this office"}, 403),
    ],
)
def test_token_failures_are_auth_errors(doc, status) -> None:
    with pytest.raises(AuthError) as caught:
        parse_search(doc)
    assert caught.value.status == status
    assert "authentication failed" in str(caught.value)


@pytest.mark.parametrize(
    ("doc", "code", "text"),
    [
        ({"success": False, "code": 6006, "text": "Missing or invalid user"}, 6006, "Missing or invalid user"),
        ({"success": False, "code": "6012", "error": "User is not logged in"}, 6012, "User is not logged in"),
        ({"success": False, "code": 6026, "message": "Invalid campaign ID"}, 6026, "Invalid campaign ID"),
        ({"success": False, "code": 6041, "error": "Queue not found"}, 6041, "Queue not found"),
        ({"success": False, "code": 9999, "error": "Something new"}, 9999, "Something new"),
        ({"success": False, "code": 6006}, 6006, "no error message"),
        ({"success": "false", "code": "6026"}, 6026, "no error message"),
        ({"success": 0, "code": "QUOTA_EXCEEDED"}, None, "QUOTA_EXCEEDED"),
    ],
)
def test_coded_failures_are_api_errors(doc, code, text) -> None:
    with pytest.raises(ApiError) as caught:
        parse_search(doc)
    assert caught.value.code == code
    assert text in str(caught.value)


@pytest.mark.parametrize(
    ("text", "code"),
    [("User not found", 6006), ("Campaign not found", 6026), ("Queue not found", 6041),
     ("user is not logged in", 6012), ("Unexpected", None)],
)
def test_documented_error_texts_get_their_codes(text, code) -> None:
    with pytest.raises(ApiError) as caught:
        parse_search({"success": False, "error": text})
    assert caught.value.code == code


def test_failure_message_joins_every_text_on_one_line() -> None:
    doc = {"success": False, "code": 6041, "text": "Queue\nnot found", "error": "Queue not found",
           "message": "check queue_id"}
    with pytest.raises(ApiError) as caught:
        parse_search(doc)
    assert str(caught.value) == "Convoso error 6041: Queue not found; check queue_id"


def test_nested_failure_is_reported() -> None:
    doc = {"success": True, "data": {"entries": {"success": False, "code": 6026, "agents": []}}}
    with pytest.raises(ApiError) as caught:
        parse_search(doc)
    assert caught.value.code == 6026


def test_failure_wins_over_a_malformed_rest() -> None:
    with pytest.raises(AuthError):
        parse_search({"success": False, "error": "Invalid authentication token", "data": "x"})


def test_success_true_entries_with_code_200_is_not_a_failure() -> None:
    doc = {"success": True, "data": {"entries": {"success": True, "code": 200, "agent_total": 1}}}
    assert parse_search(doc).agent_total == 1


# --- logout ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [{"success": True}, {"success": "true"}, {"success": 1}, {"data": {"success": True}}],
)
def test_logout_success(doc) -> None:
    assert parse_logout(doc) is None


def test_logout_failures() -> None:
    with pytest.raises(ApiError) as caught:
        parse_logout({"success": False, "code": 6012, "error": "User is not logged in"})
    assert caught.value.code == 6012
    with pytest.raises(AuthError):
        parse_logout({"success": False, "error": "Invalid authentication token"})


@pytest.mark.parametrize("doc", [{}, {"success": None}, {"result": "ok"}, []])
def test_logout_without_success_is_a_protocol_error(doc) -> None:
    with pytest.raises(ProtocolError):
        parse_logout(doc)


def test_document_error() -> None:
    assert document_error({"success": True}) is None
    assert document_error("<html>") is None
    error = document_error({"success": False, "code": 6006})
    assert isinstance(error, ApiError) and error.code == 6006


# --- bounds ----------------------------------------------------------------------------


@pytest.mark.parametrize("agents", [[{}] * 4, {str(i): {} for i in range(4)}], ids=["list", "keyed"])
def test_more_agents_than_max_agents_is_too_large(agents) -> None:
    limits = Limits(max_agents=3)
    assert len(parse_search({"agents": agents[:3] if isinstance(agents, list) else dict(list(agents.items())[:3])},
                            limits).agents) == 3
    with pytest.raises(ResponseTooLarge, match="agents: 4 entries, more than max_agents 3; not parsed"):
        parse_search({"agents": agents}, limits)


@pytest.mark.parametrize(("doc", "read", "field"), [
    ({"agent_total": 2**53 + 1}, lambda r: r.agent_total, "agent_total"),
    ({"agent_total": "1" + "0" * 400}, lambda r: r.agent_total, "agent_total"),
    ({"data": {"queue_dropped": 1e300}}, lambda r: r.queue_dropped, "queue_dropped"),
    ({"call_data": {"answered": "1e400"}}, lambda r: r.call_data.answered, "call_data.answered"),
    ({"agents": [{}, {"calls_today": "9" * 5000}]}, lambda r: r.agents[1].calls_today, "agents.calls_today"),
    ({"agents": {"u1": {"status_time_sec": 10**20}}}, lambda r: r.agents[0].status_time_sec, "agents.status_time_sec"),
])
def test_a_count_out_of_range_is_cleared_and_noted_never_the_answer(doc, read, field) -> None:
    """It was a ProtocolError naming the field: one value failed the whole answer."""
    tally = Tally("search")
    result = parse_search(doc, tally=tally)
    assert read(result) is None
    assert (field, "out_of_bounds") in tally.notes


@pytest.mark.parametrize("call_data", ["x", [1, 2], 5, True])
def test_call_data_of_the_wrong_type_is_cleared_and_noted(call_data) -> None:
    tally = Tally("search")
    result = parse_search({"call_data": call_data, "agent_total": 3}, tally=tally)
    assert result.call_data is None and result.agent_total == 3
    assert ("call_data", "wrong_type") in tally.notes


@pytest.mark.parametrize(("raw", "expected"), [
    (2**53, 2**53), ("inf", None), ("Infinity", None), ("-1e400", None), ("  42  ", 42), ("x" * 100, None),
    ("99999999999999999999:00", None),
])
def test_counts_at_the_edge(raw, expected) -> None:
    assert parse_search({"agent_total": raw}).agent_total == expected
    as_time = expected if isinstance(raw, str) and ":" in raw else None
    assert one_agent(status_time_mmss=raw).status_time_sec == as_time


def test_an_error_code_out_of_range_is_text_not_a_protocol_error() -> None:
    with pytest.raises(ApiError, match="Convoso error 6006: 9{40}; user not found") as caught:
        parse_search({"success": False, "code": "9" * 40, "error": "user not found"})
    assert caught.value.code == 6006  # from the text, as when the code is not a number
