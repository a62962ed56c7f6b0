"""The client's typed path (api/typed.py, through api/read.py) against the reference
parser (decode_json + parse_search over the decoded document): on every generated answer
it gives what the reference gives of the answer, or of the part of it the exporter reads
(it skips the fields it does not read, unbuilt)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from convoso_exporter.api.decode import Body, decode_json
from convoso_exporter.api.errors import ConvosoError
from convoso_exporter.api.model import Agent, status_counts
from convoso_exporter.api.parse import parse_search
from convoso_exporter.api.read import read_search
from tests.api_strategies import documents, good_documents

TOKEN = "pr0perty/T0ken+x"
# 150 generated answers per property: the unit suite runs in under a minute (400 took 6.5 s of it).
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
# What the typed path reads of a level (an error document goes to the reference whole).
READ = {"agents", "data", "entries", "success", "call_data", "campaigns", "queues", "queue_dialable_leads",
        "queue_calls_today", "queue_dropped", "queue_answered", "agent_total", "agent_incall", "agent_ready",
        "agent_paused"}


LABELS = ("user_id", "campaign_id", "queue_id", "status")


def outcome(parse, arg):
    try:
        return parse(arg)
    except ConvosoError as error:
        return type(error), str(error)


def reference(raw: bytes, agents: bool = True):
    doc, problem = decode_json(raw, "application/json")
    if problem is not None:
        return type(problem), str(problem)
    return outcome(lambda d: parse_search(d, secret=TOKEN, agents=agents), doc)


def typed(raw: bytes, agents: bool = True):
    return outcome(lambda b: read_search(b, secret=TOKEN, agents=agents), Body(raw, "application/json"))


def record(entry, fields=Agent.__struct_fields__):
    return {name: value for name, value in entry.items() if name in fields} if type(entry) is dict else entry


def read_part(doc, fields=Agent.__struct_fields__):
    """The document as far as the typed path reads it."""
    if type(doc) is not dict:
        return doc
    part = {}
    for key, value in doc.items():
        if key not in READ:
            continue
        if key in ("data", "entries"):
            value = read_part(value, fields)
        elif key == "agents" and type(value) is list:
            value = [record(entry, fields) for entry in value]
        elif key == "agents" and type(value) is dict:
            value = {user: record(entry, fields) for user, entry in value.items()}
        elif key == "call_data" and type(value) is dict:
            value = {name: v for name, v in value.items() if name in ("total_calls", "answered", "dropped")}
        part[key] = value
    return part


def encoded(doc, ascii_only: bool) -> bytes | None:
    try:
        return json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return None


@FUZZ
@given(documents())
def test_typed_path_gives_what_the_reference_gives(doc):
    for ascii_only in (True, False):
        raw = encoded(doc, ascii_only)
        if raw is None:
            continue
        got = typed(raw)
        if got != reference(raw):
            assert got == reference(encoded(read_part(doc), ascii_only)), raw[:300]


@FUZZ
@given(good_documents())
def test_typed_path_gives_the_same_snapshot_for_answers_as_the_api_sends_them(doc):
    raw = json.dumps(doc).encode()
    assert typed(raw) == reference(raw)


@FUZZ
@given(documents())
def test_figures_only_reads_the_labels_it_counts_and_keeps_no_agent(doc):
    """A discovered scope's answer (agents=False): the same figures and folded counts as
    the reference, with the agents read for their labels alone, and none kept."""
    raw = encoded(doc, False)
    if raw is None:
        return
    got = typed(raw, agents=False)
    if got != reference(raw, agents=False):
        assert got == reference(encoded(read_part(doc, LABELS), False), agents=False), raw[:300]
    assert not isinstance(got, tuple) and got.agents == () or isinstance(got, tuple)


def test_text_padded_with_whitespace_other_than_a_space_reads_as_the_reference_reads_it():
    """Found by the property above: the typed path took only " " for padding, so "\\t-"
    stayed a name where the reference reads an empty, and a user_id "\\x1f" stayed one
    where the reference takes the key of a keyed collection."""
    for doc in ({"agents": {"0": {"user_id": "0"}, "1": {"user_id": "\x1f", "status": "READY"}}},
                {"agents": [{"user_full_name": "\t-", "status": "\x0bREADY\n", "lead_id": "\r0"}]}):
        raw = json.dumps(doc).encode()
        assert typed(raw) == reference(raw)


def test_a_figures_only_answer_counts_its_statuses_as_the_kept_agents_would():
    """Keyed by user_id (the key standing in for a missing one) and listed, a repeat once."""
    listed = [{"user_id": "7", "status": "READY"}, {"user_id": "8", "status": "RINGING"},
              {"user_id": "7", "status": "INCALL"}, {"status": "WRAP"}, {"user_id": "9", "status": "-"}]
    keyed = {"data": {"entries": {"agents": {"7": {"status": "READY"}, "8": {"user_id": "8", "status": "PAUSED"},
                                             "9": {"status": "PAUSED"}}}}}
    for doc, expected in (({"agents": listed}, (("", 1), ("READY", 1), ("RINGING", 1), ("WRAP", 1))),
                          (keyed, (("PAUSED", 2), ("READY", 1)))):
        raw = json.dumps(doc).encode()
        only, whole = typed(raw, agents=False), typed(raw)
        assert only.agents == () and only.statuses == expected == status_counts(whole.agents)
        assert whole.statuses is None and reference(raw, agents=False) == only
