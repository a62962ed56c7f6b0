"""Properties of the parser over generated answers in every shape the API uses
(tests/api_strategies.py): it returns a snapshot or raises a classified ConvosoError,
never anything else, from the decoded document and from the bytes alike; and what it
returns holds the bounds the rest of the exporter relies on."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoso_exporter.api.decode import decode_json
from convoso_exporter.api.errors import ConvosoError
from convoso_exporter.api.labels import FOLDED_LABELS
from convoso_exporter.api.limits import MAX_COUNT, MAX_LABEL_CHARS, MAX_SCOPE_IDS, MAX_STATUSES
from convoso_exporter.api.model import COMMON_STATUSES, FOLDED, SearchResult
from convoso_exporter.api.parse import parse_search
from tests.api_strategies import documents, good_documents

TOKEN = "pr0perty/T0ken+x"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parsed(doc: object) -> SearchResult | ConvosoError:
    try:
        return parse_search(doc, secret=TOKEN)
    except ConvosoError as error:
        return error


def from_bytes(raw: bytes) -> SearchResult | ConvosoError:
    doc, problem = decode_json(raw, "application/json")
    return problem if problem is not None else parsed(doc)


def check(outcome: SearchResult | ConvosoError) -> None:
    """A snapshot within the bounds, or a classified error with a one-line message."""
    if isinstance(outcome, ConvosoError):
        assert outcome.kind and "\n" not in str(outcome) and str(outcome)
        return
    assert isinstance(outcome, SearchResult)
    texts = []
    for agent in outcome.agents:
        for name in ("calls_today", "total_calls", "status_time_sec"):
            value = getattr(agent, name)
            assert value is None or (type(value) is int and 0 <= value <= MAX_COUNT), (name, value)
        texts += [value for value in (agent.user_id, agent.user_full_name, agent.campaign_id, agent.queue_id,
                                      agent.status, agent.extension, agent.campaign_name) if value is not None]
        texts += list(agent.skill_options or ())
    for scope in (outcome.campaigns or ()) + (outcome.queues or ()):
        texts += [scope.id] + ([scope.name] if scope.name is not None else [])
    for text in texts:
        text.encode("utf-8")  # valid Unicode: no lone surrogate left
        assert len(text) <= MAX_LABEL_CHARS and TOKEN not in text
    statuses = {agent.status for agent in outcome.agents} - {None, FOLDED, *COMMON_STATUSES}
    assert len(statuses) <= MAX_STATUSES
    for field in FOLDED_LABELS[1:]:
        assert len({getattr(agent, field) for agent in outcome.agents} - {None, FOLDED}) <= MAX_SCOPE_IDS


@FUZZ
@given(documents())
def test_any_answer_parses_to_a_snapshot_or_a_classified_error(doc):
    check(parsed(doc))


@FUZZ
@given(documents(), st.booleans())
def test_any_answer_as_bytes_decodes_and_parses_to_a_snapshot_or_a_classified_error(doc, php_slashes):
    text = json.dumps(doc)  # NaN and Infinity written as Python writes them: not JSON
    if php_slashes:
        text = text.replace("/", "\\/")
    check(from_bytes(text.encode()))


@settings(max_examples=100, deadline=None)
@given(good_documents())
def test_answers_of_the_right_shape_always_parse(doc):
    """A count out of range refused the whole answer; now it is cleared (and noted)."""
    outcome = parsed(doc)
    assert isinstance(outcome, SearchResult), outcome


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_decode_to_a_snapshot_or_a_classified_error(raw):
    check(from_bytes(raw))
