"""convoso_exporter.api.read, the one way in: the simulator's answers take the typed path
in both styles, the shape telemetry they produce (none for the documented shape, exactly
the known coercions for the live one, through the real client over the simulator's
in-process transport), answers handed to the reference are counted; and one corrupted
record, in every way the parser bounds it, costs that record alone (issue 23)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.decode import Body, loads
from convoso_exporter.api.drift import Tally
from convoso_exporter.api.model import Agent, SearchResult
from convoso_exporter.api.parse import parse_search
from convoso_exporter.api.read import read_logout, read_search
from convoso_exporter.api.shapes import AGENT_KINDS
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator
from convoso_exporter.simulator.render import Renderer
from convoso_exporter.simulator.transport import SimulatorTransport

TOKEN = "read-T0ken/+="
STYLES = ("documented", "live")


def center(agents: int = 30) -> ContactCenter:
    return ContactCenter(agents=agents, campaigns=2, queues=3, seed=11, clock=FakeClock(0.0), start_wall=1795514400.0)


def body(raw: bytes) -> Body:
    return Body(raw, "application/json")


def read(raw: bytes, agents: bool = True) -> tuple[SearchResult, Tally]:
    tally = Tally("search", TOKEN)
    return read_search(body(raw), secret=TOKEN, agents=agents, tally=tally), tally


def test_the_typed_module_imports_alone():
    """typed and parse imported each other: importing typed first failed."""
    for module in ("convoso_exporter.api.typed", "convoso_exporter.api.parse", "convoso_exporter.api.read"):
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True, timeout=60)


@pytest.mark.parametrize("style", STYLES)
def test_the_simulators_answers_take_the_typed_path(style):
    contact = center()
    renderer = Renderer(contact)
    selections = [contact.select(), contact.select(campaign_id=contact.campaign_ids()[0]),
                  contact.select(queue_id=contact.queue_ids()[1])]
    for selection in selections:
        raw = renderer.search(selection, style)
        for agents in (True, False):
            result, tally = read(raw, agents)
            assert tally.fallback is None, tally.fallback
            assert result == parse_search(loads(raw), secret=TOKEN, agents=agents)


def test_an_answer_the_typed_path_does_not_take_is_read_by_the_reference_and_counted():
    result, tally = read(b'\xef\xbb\xbf{"agents": [{"user_id": "1"}], "agent_total": 1}')
    assert result.agent_total == 1 and [a.user_id for a in result.agents] == ["1"]
    assert tally.fallback is not None and "byte-order mark" in tally.fallback


def test_unknown_fields_at_the_root_are_noted_without_falling_back():
    result, tally = read(b'{"success": true, "data": {"total_found": "3", "entries": {"agents": [], "agent_total": 3}}}')
    assert result.agent_total == 3 and tally.fallback is None
    assert set(tally.notes) == {("total_found", "unknown_field"), ("data.entries", "wrapped"),
                                ("call_data", "missing_field"), *((name, "missing_field") for name in (
                                    "queue_dialable_leads", "queue_calls_today", "queue_dropped", "queue_answered",
                                    "agent_incall", "agent_ready", "agent_paused"))}


async def searched(style: str, stats: ApiStats, *, logout: bool = False) -> None:
    contact = center()
    simulator = Simulator(contact, token=TOKEN, style=style)
    client = ConvosoClient("http://simulator.invalid/v1", TOKEN, transport=SimulatorTransport(simulator), stats=stats)
    async with client:
        await client.search()
        await client.search(campaign_id=contact.campaign_ids()[0])
        await client.search(queue_id=contact.queue_ids()[0], agents=False)
        if logout:
            await client.logout(contact.agent_ids()[0])


def test_the_documented_shape_shows_no_drift():
    stats = ApiStats()
    asyncio.run(searched("documented", stats, logout=True))
    report = stats.drift.report()
    assert report.entries == ()
    assert report.answers == {"search": 3, "logout": 1} and report.fallbacks == {}


# What the live service is known to do (the API doc, "What the live service is known to
# do differently"), as the simulator's live style does it.
LIVE_DRIFT = {
    ("data.entries", "wrapped"),
    ("agents", "keyed_by_id"),  # searches without a campaign filter
    ("agents.calls_today", "number_as_text"),
    ("agents.status_time_sec", "number_as_text"),
    ("agents.call_type", "empty_as_text"),  # "-" while idle
    ("agents.lead_id", "empty_as_text"),  # "0" while idle
    ("agents.availability_id", "unknown_field"),
    ("agents.inbound_only", "unknown_field"),
    ("agents.queue_assignment_ids", "unknown_field"),
    ("agents.last_state_change", "unknown_field"),
    *((f"call_data.{name}", "number_as_text") for name in ("total_calls", "answered", "dropped")),
    *((name, "number_as_text") for name in ("queue_dialable_leads", "queue_calls_today", "queue_dropped",
                                             "queue_answered")),
}


def test_the_live_shape_shows_exactly_the_coercions_it_is_known_for():
    stats = ApiStats()
    asyncio.run(searched("live", stats, logout=True))
    report = stats.drift.report()
    assert {(entry.field, entry.kind) for entry in report.entries} == LIVE_DRIFT
    assert {entry.endpoint for entry in report.entries} == {"search"}
    counts = {(entry.field, entry.kind): entry.answers for entry in report.entries}
    # Keyed by user_id without a campaign filter: the account's and the queue's answers.
    assert counts[("agents", "keyed_by_id")] == 2 and counts[("data.entries", "wrapped")] == 3
    assert counts[("agents.calls_today", "number_as_text")] == 2  # the figures-only answer reads labels alone
    assert report.fallbacks == {} and report.answers == {"search": 3, "logout": 1}
    examples = {(entry.field, entry.kind): entry.example for entry in report.entries}
    assert examples[("agents.call_type", "empty_as_text")] == '"-"'
    assert examples[("agents.lead_id", "empty_as_text")] == '"0"'


def test_a_logout_answer_notes_what_it_did_not_expect():
    tally = Tally("logout")
    read_logout(body(b'{"success": "true", "agent": "7"}'), tally)
    assert set(tally.notes) == {("success", "other_type"), ("agent", "unknown_field")}


# --- one bad record costs that record (issue 23) ------------------------------------------

AGENTS = 200
TEXTS = tuple(name for name, kind in AGENT_KINDS.items() if kind in ("text", "ident"))
COUNTS = tuple(name for name, kind in AGENT_KINDS.items() if kind == "count")
MARK = "@@corrupt@@"


def answers() -> dict[str, bytes]:
    contact = center(AGENTS)
    renderer = Renderer(contact)
    return {style: renderer.search(contact.select(), style) for style in STYLES}


ANSWERS = answers()
BASELINES = {style: read(raw)[0] for style, raw in ANSWERS.items()}


def corrupted(style: str, index: int, field: str | None, value: bytes) -> bytes:
    """The style's answer with agent `index`'s `field` (None: the whole record) sent as
    the raw JSON `value`."""
    doc = json.loads(ANSWERS[style])
    level = doc["data"]["entries"] if style == "live" else doc
    records = level["agents"]
    key = list(records)[index] if type(records) is dict else index
    if field is None:
        records[key] = MARK
    else:
        records[key][field] = MARK
    return json.dumps(doc).encode().replace(json.dumps(MARK).encode(), value)


def check(style: str, index: int, field: str | None, value: bytes, kinds: set[str]) -> Agent | None:
    """Every other agent is published unchanged, the answer's own figures too; what was
    wrong is noted with one of `kinds`. Returns the corrupted agent (None: dropped)."""
    result, tally = read(corrupted(style, index, field, value))
    baseline = BASELINES[style]
    before = list(baseline.agents)
    after = list(result.agents)
    agent = after.pop(index) if len(after) == len(before) else None
    del before[index]
    assert after == before
    assert (result.agent_total, result.call_data, result.campaigns) == (
        baseline.agent_total, baseline.call_data, baseline.campaigns)
    noted = {kind for (name, kind) in tally.notes if name in (f"agents.{field}", "agents")}
    assert noted & kinds, (tally.notes, kinds)
    if agent is not None and field is not None:
        derived = {field, "status_time_sec"} if field == "status_time_sec" else {field}
        unchanged = [name for name in AGENT_KINDS if name not in derived]
        was = baseline.agents[index]
        assert [getattr(agent, name) for name in unchanged] == [getattr(was, name) for name in unchanged]
    return agent


FEW = settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
styles = st.sampled_from(STYLES)
indexes = st.integers(0, AGENTS - 1)


@FEW
@given(styles, indexes, st.sampled_from(TEXTS), st.lists(st.integers(0x80, 0xFF), min_size=1, max_size=3).map(bytes))
def test_bytes_that_are_not_utf8_are_replaced_in_their_field_alone(style, index, field, junk):
    """Was: "body is not valid UTF-8", the whole account failed."""
    try:
        junk.decode("utf-8")
        return  # valid after all
    except UnicodeDecodeError:
        pass
    agent = check(style, index, field, b'"Jos' + junk + b'"', {"invalid_unicode"})
    value = getattr(agent, field)
    assert value is not None and value.startswith("Jos") and "\ufffd" in value


@FEW
@given(styles, indexes, st.sampled_from(TEXTS + COUNTS + ("skill_options",)),
       st.sampled_from([b'{"a": 1}', b"[1, [2]]", b"true", b"false", b'{"nested": {"x": [1, 2, 3]}}']))
def test_a_value_of_the_wrong_type_is_cleared_and_noted(style, index, field, value):
    agent = check(style, index, field, value, {"wrong_type", "other_type"})
    if style == "live" and field == "user_id":
        assert agent.user_id == BASELINES[style].agents[index].user_id  # keyed by it: read from the key
    elif field != "status_time_sec" and not (field == "skill_options" and value.startswith(b"[")):
        assert getattr(agent, field) is None


@FEW
@given(styles, indexes, st.sampled_from(COUNTS), st.integers(33, 10_000), st.booleans())
def test_a_count_of_too_many_digits_is_cleared_and_noted(style, index, field, digits, as_text):
    """Was: "number out of range", the whole account failed."""
    number = b"7" * digits
    agent = check(style, index, field, b'"' + number + b'"' if as_text else number, {"out_of_bounds"})
    if field != "status_time_sec":
        assert getattr(agent, field) is None


@FEW
@given(styles, indexes, st.sampled_from(TEXTS), st.integers(257, 5000))
def test_a_text_too_long_is_cut_and_noted(style, index, field, length):
    agent = check(style, index, field, json.dumps("x" * length).encode(), {"out_of_bounds"})
    assert getattr(agent, field) == "x" * 256


@FEW
@given(styles, indexes, st.sampled_from(TEXTS + COUNTS + ("queue_assignment_ids", "deep")),
       st.integers(2_000, 20_000))
def test_a_record_nested_too_deeply_is_dropped_and_noted(style, index, field, depth):
    """Was: "JSON nested too deeply", the whole account failed. A field the model reads:
    the record is dropped on every Python (decode.MAX_DEPTH). One it does not read
    (`queue_assignment_ids`, `deep`) is skipped unbuilt where the decoder can skip it
    (3.13): the record is then kept as it was; where it cannot (3.11), dropped."""
    value = b"[" * depth + b"]" * depth
    if field not in AGENT_KINDS:
        result, _ = read(corrupted(style, index, field, value))
        if result.agents == BASELINES[style].agents:
            return
    agent = check(style, index, field, value, {"out_of_bounds"})
    assert agent is None


@FEW
@given(styles, indexes, st.sampled_from([b"5", b'"agent"', b"[]", b"null", b"true", b"[" * 3000 + b"]" * 3000]))
def test_an_entry_that_is_not_an_object_is_dropped_and_noted(style, index, value):
    assert check(style, index, None, value, {"wrong_type", "out_of_bounds"}) is None
