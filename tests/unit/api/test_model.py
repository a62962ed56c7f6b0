"""convoso_exporter.api.model: the Agent struct and what it takes from the wire, the frozen
records of one answer, and the campaign and queue names an answer mentions."""

from __future__ import annotations

import dataclasses
import gc

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.api.model import (
    COMMON_STATUSES,
    FOLDED,
    Agent,
    CallData,
    Scope,
    SearchResult,
    id_order,
    status_counts,
)

AGENT_FIELDS = (
    "user_id", "user_full_name", "campaign_id", "campaign_name", "queue_id", "queue_name", "queue_assignment",
    "list_id", "extension", "channel_type", "call_type", "lead_id", "call_log_id", "calls_today", "total_calls",
    "status", "status_label", "status_time_sec", "status_time_mmss", "connection_type", "skill_options",
)


def decode(json: str) -> Agent:
    return msgspec.json.decode(json.encode(), type=Agent)


def refused(json: str) -> str:
    with pytest.raises(msgspec.ValidationError) as info:
        decode(json)
    return str(info.value)


# ---------------------------------------------------------------- constants


def test_the_common_statuses_are_the_seven_most_accounts_use():
    assert COMMON_STATUSES == ("READY", "INCALL", "PAUSED", "WRAP", "RINGING", "TRANSFER", "LOGGED_OUT")


def test_the_fold_value_is_other_in_parentheses():
    assert FOLDED == "(other)"
    assert FOLDED not in COMMON_STATUSES


# ---------------------------------------------------------------- Agent


def test_an_agent_has_the_21_documented_fields_all_unset_by_default():
    agent = Agent()
    assert Agent.__struct_fields__ == AGENT_FIELDS
    assert all(getattr(agent, name) is None for name in AGENT_FIELDS)


def test_an_agent_is_frozen():
    agent = Agent(user_id="7")
    with pytest.raises(AttributeError):
        agent.user_id = "8"  # type: ignore[misc]
    assert agent.user_id == "7"


def test_agents_compare_and_hash_by_value():
    assert Agent(user_id="1", calls_today=3) == Agent(user_id="1", calls_today=3)
    assert Agent(user_id="1", calls_today=3) != Agent(user_id="1", calls_today=4)
    assert len({Agent(user_id="1"), Agent(user_id="1"), Agent(user_id="2")}) == 2


def test_agents_are_not_tracked_by_the_garbage_collector():
    assert not gc.is_tracked(Agent(user_id="1", skill_options=("english", "sales")))


def test_dataclass_helpers_still_work_on_an_agent():
    agent = Agent(user_id="1", status="READY", calls_today=3)
    assert tuple(field.name for field in dataclasses.fields(Agent)) == AGENT_FIELDS
    assert dataclasses.replace(agent, status="PAUSED") == Agent(user_id="1", status="PAUSED", calls_today=3)
    as_dict = dataclasses.asdict(agent)
    assert list(as_dict) == list(AGENT_FIELDS)
    picked = (as_dict["user_id"], as_dict["status"], as_dict["calls_today"], as_dict["queue_id"])
    assert picked == ("1", "READY", 3, None)


def test_an_agent_decodes_straight_from_json():
    agent = decode('{"user_id": "1001", "status": "READY", "calls_today": 12, "total_calls": "40",'
                   ' "skill_options": ["english", "sales"], "extension": null}')
    assert agent == Agent(user_id="1001", status="READY", calls_today=12, total_calls="40",
                          skill_options=("english", "sales"))


def test_fields_the_struct_does_not_know_are_ignored():
    assert decode('{"user_id": "1", "availability_id": 5, "inbound_only": true}') == Agent(user_id="1")


def test_text_up_to_256_characters_decodes_and_longer_is_refused():
    assert decode('{"status": "%s"}' % ("x" * 256)).status == "x" * 256
    assert refused('{"status": "%s"}' % ("x" * 257)) == "Expected `str` of length <= 256 - at `$.status`"


@pytest.mark.parametrize(("json", "where"), [
    ('{"user_id": 5}', "$.user_id"),  # an id sent as a number: the reference parser reads it
    ('{"calls_today": -1}', "$.calls_today"),
    ('{"calls_today": 9007199254740993}', "$.calls_today"),  # 2**53 + 1
    ('{"total_calls": 1.5}', "$.total_calls"),
    ('{"status_time_sec": true}', "$.status_time_sec"),
    ('{"skill_options": 3}', "$.skill_options"),
    ('{"skill_options": [1]}', "$.skill_options[0]"),
])
def test_values_outside_the_wire_types_refuse_the_agent(json, where):
    assert refused(json).endswith(f"- at `{where}`")


def test_a_count_of_exactly_2_to_the_53_decodes():
    assert decode('{"calls_today": 9007199254740992}').calls_today == 9007199254740992


# ---------------------------------------------------------------- the answer's records


def test_call_data_and_scope_defaults():
    assert (CallData().total_calls, CallData().answered, CallData().dropped) == (None, None, None)
    assert Scope("5") == Scope(id="5", name=None)


@pytest.mark.parametrize("record", [CallData(total_calls=1), Scope("1", "Sales"), SearchResult()])
def test_the_records_are_frozen(record):
    name = dataclasses.fields(record)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, name, None)


def test_a_search_result_defaults_to_nothing_sent():
    result = SearchResult()
    assert result.agents == () and result.folded == ()
    assert result.call_data is None and result.campaigns is None and result.queues is None
    counts = ("queue_dialable_leads", "queue_calls_today", "queue_dropped", "queue_answered",
              "agent_total", "agent_incall", "agent_ready", "agent_paused")
    assert all(getattr(result, name) is None for name in counts)
    assert result.statuses is None  # agents kept (none): count those


def test_status_counts_count_each_user_once_and_no_status_as_empty():
    listed = (Agent(user_id="1", status="READY"), Agent(user_id="2", status="READY"), Agent(user_id="1", status="WRAP"),
              Agent(user_id=None, status="PAUSED"), Agent(user_id=None, status="PAUSED"), Agent(user_id="3"))
    assert status_counts(listed) == (("", 1), ("PAUSED", 2), ("READY", 2))  # user 1 once, as first listed
    assert status_counts(listed[:2]) == (("READY", 2),)
    assert status_counts(()) == ()


# ---------------------------------------------------------------- scope_names


def test_scope_names_from_agents_alone():
    result = SearchResult(agents=(
        Agent(campaign_id="1", campaign_name="Sales"),
        Agent(campaign_id="2"),
        Agent(campaign_name="no id"),
    ))
    assert result.scope_names("campaign") == {"1": "Sales", "2": None}


def test_the_first_agent_naming_a_scope_wins():
    result = SearchResult(agents=(
        Agent(queue_id="9"),
        Agent(queue_id="9", queue_name="Main"),
        Agent(queue_id="9", queue_name="Renamed"),
    ))
    assert result.scope_names("queue") == {"9": "Main"}


def test_a_name_from_the_list_wins_over_one_from_an_agent():
    result = SearchResult(
        agents=(Agent(campaign_id="1", campaign_name="from agent"), Agent(campaign_id="2", campaign_name="kept")),
        campaigns=(Scope("1", "from list"), Scope("2"), Scope("3")),
    )
    assert result.scope_names("campaign") == {"1": "from list", "2": "kept", "3": None}


def test_the_fold_value_is_not_a_scope():
    result = SearchResult(agents=(Agent(campaign_id=FOLDED, campaign_name="x"), Agent(campaign_id="1")))
    assert result.scope_names("campaign") == {"1": None}


def test_campaigns_and_queues_are_read_from_their_own_fields_and_lists():
    result = SearchResult(
        agents=(Agent(campaign_id="c1", campaign_name="C", queue_id="q1", queue_name="Q"),),
        campaigns=(Scope("c2", "C2"),),
        queues=(Scope("q2", "Q2"),),
    )
    assert result.scope_names("campaign") == {"c1": "C", "c2": "C2"}
    assert result.scope_names("queue") == {"q1": "Q", "q2": "Q2"}


def test_an_answer_without_scopes_names_none():
    assert SearchResult().scope_names("campaign") == {}
    assert SearchResult(queues=()).scope_names("queue") == {}


ids = st.sampled_from(["1", "2", "3", FOLDED])
names = st.none() | st.sampled_from(["A", "B"])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.none() | ids, names), max_size=6),
    st.none() | st.lists(st.tuples(st.sampled_from(["1", "2", "4"]), names), max_size=4),
)
def test_scope_names_holds_every_id_mentioned_but_the_fold_value(agents, listed):
    result = SearchResult(
        agents=tuple(Agent(queue_id=ident, queue_name=name) for ident, name in agents),
        queues=None if listed is None else tuple(Scope(ident, name) for ident, name in listed),
    )
    found = result.scope_names("queue")
    expected_ids = {ident for ident, _ in agents if ident not in (None, FOLDED)} | {i for i, _ in listed or ()}
    assert set(found) == expected_ids
    for ident, name in listed or ():
        if name is not None:  # a listed name always shows (the last listed one, if listed twice)
            assert found[ident] == [n for i, n in listed if i == ident and n is not None][-1]


def test_ids_sort_numerically_then_as_text_without_int():
    ids = ["abc", "10", "007", "2", "²", "0", "٣", "9" * 5000, "Z1", "07"]
    assert sorted(ids, key=id_order) == ["0", "2", "007", "07", "10", "9" * 5000, "Z1", "abc", "²", "٣"]
