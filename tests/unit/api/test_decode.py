"""convoso_exporter.api.decode: JSON whose structure is beyond the limits refused unparsed;
what is out of bounds in one value or entry costs only that value or entry."""

from __future__ import annotations

import pytest

from convoso_exporter.api.decode import decode_json
from convoso_exporter.api.errors import ProtocolError, ResponseTooLarge
from convoso_exporter.api.fields import Unreadable
from convoso_exporter.api.limits import Limits

# --- JSON: what the text may build is bounded before it is built ----------------------------

SMALL = Limits(max_agents=10)  # 4 * 10 + 4096 containers, 64 * 10 + 4096 values


def test_an_answer_within_the_bounds_decodes():
    # 2367 agents, their commas, the root object and the array: exactly 4736 values.
    doc, problem = decode_json(b'{"agents": [' + b",".join([b"{}"] * 2367) + b"]}", "application/json", SMALL)
    assert problem is None and len(doc["agents"]) == 2367
    doc, problem = decode_json(b"[" * 4136 + b"]" * 4136, "application/json", SMALL)
    # Within the count bound, but deeper than MAX_DEPTH: refused as too deep on every
    # Python (3.13's decoder reads it, 3.11's does not: the exporter's own bound decides).
    assert doc is None and "nested too deeply" in str(problem)


def test_nesting_deeper_than_the_interpreter_allows_is_a_protocol_error():
    deep = 200_000  # beyond the recursion limit of every Python the project supports
    doc, problem = decode_json(b"[" * deep + b"]" * deep, "application/json", Limits(max_agents=deep))
    assert doc is None and isinstance(problem, ProtocolError) and "nested too deeply" in str(problem)


@pytest.mark.parametrize(("body", "words"), [
    (b"[" * 4137 + b"]" * 4137, "4137 JSON objects and arrays, over the bound of 4136 (4 per agent, max_agents 10)"),
    (b"[" + b",".join([b"{}"] * 5000) + b"]", "5001 JSON objects and arrays, over the bound of 4136"),
    (b"[" + b",".join([b"1"] * 5000) + b"]", "5001 JSON values, over the bound of 4736 (64 per agent, max_agents 10)"),
])
def test_an_answer_beyond_the_bounds_is_too_large_and_not_parsed(body, words, monkeypatch):
    monkeypatch.setattr("convoso_exporter.api.decode.json.loads", lambda *a, **k: pytest.fail("parsed"))
    doc, problem = decode_json(body, "application/json", SMALL)
    assert doc is None and isinstance(problem, ResponseTooLarge)
    assert words in str(problem) and str(problem).endswith("; not parsed")


@pytest.mark.parametrize("number", [
    b"1" + b"0" * 400, b"9" * 5000, b"1e400", b"-1e400", b"0." + b"1" * 40,
])
def test_a_number_beyond_the_bounds_is_unreadable_where_it_stood(number):
    """It refused the whole answer ("number out of range"); now it costs that value."""
    doc, problem = decode_json(b'{"agents": [{"user_id": "1"}], "x": ' + number + b"}", "application/json")
    assert problem is None and doc["agents"] == [{"user_id": "1"}]
    assert type(doc["x"]) is Unreadable and doc["x"].text == number.decode()
    assert doc["x"].why == "at most 32 characters, and finite"


@pytest.mark.parametrize(("body", "words"), [
    (b'{"x": NaN}', "body is not JSON (NaN is not a JSON value)"),
    (b'{"x": -Infinity}', "body is not JSON (-Infinity is not a JSON value)"),
])
def test_constants_that_are_not_json_refuse_the_answer(body, words):
    doc, problem = decode_json(body, "application/json")
    assert doc is None and type(problem) is ProtocolError
    assert words in str(problem), str(problem)


def test_bytes_that_are_not_utf8_are_kept_as_lone_surrogates():
    """"body is not valid UTF-8" refused the whole answer for one byte of one name."""
    doc, problem = decode_json(b'{"agents": [{"user_full_name": "Jos\xe9"}, {"user_full_name": "Ann"}]}', "")
    assert problem is None and doc["agents"] == [{"user_full_name": "Jos\udce9"}, {"user_full_name": "Ann"}]


def test_an_entry_nested_too_deeply_is_unreadable_and_the_rest_is_read():
    """The decoder's RecursionError refused the whole answer ("JSON nested too deeply")."""
    deep = b"[" * 5000 + b"]" * 5000
    body = (b'{"success": true, "data": {"entries": {"agents": {"1": {"user_id": "1"}, "2": {"x": ' + deep
            + b'}, "3": {"user_id": "3", "n": ' + b"9" * 40 + b'}}, "agent_total": 2, "deep": ' + deep + b"}}}")
    doc, problem = decode_json(body, "application/json")
    assert problem is None
    entries = doc["data"]["entries"]
    assert entries["agents"]["1"] == {"user_id": "1"} and entries["agents"]["3"]["user_id"] == "3"
    assert type(entries["agents"]["2"]) is Unreadable and "nested deeper" in entries["agents"]["2"].why
    assert type(entries["deep"]) is Unreadable and entries["agent_total"] == 2
    assert type(entries["agents"]["3"]["n"]) is Unreadable


@pytest.mark.parametrize("body", [
    b'{"agents": [' + b"[" * 5000 + b"]" * 5000 + b", {} ",  # truncated
    b'{"agents": [' + b"[" * 5000 + b"]" * 5000 + b"]} trailing",
])
def test_a_deep_answer_that_is_not_json_is_still_refused(body):
    doc, problem = decode_json(body, "application/json")
    assert doc is None and type(problem) is ProtocolError


def test_numbers_within_the_bounds_decode():
    doc, problem = decode_json(b'{"a": ' + b"9" * 32 + b', "b": 1.5e300, "c": -0.0}', "application/json")
    assert problem is None and doc == {"a": int("9" * 32), "b": 1.5e300, "c": 0.0}


def test_an_entry_nested_to_the_bound_is_read_and_one_level_more_is_unreadable_on_every_python():
    """The exporter's own MAX_DEPTH, far inside every decoder's limit: an agents entry of
    MAX_DEPTH levels is read, one of a level more is an Unreadable where it stood, and so
    is a level's member."""
    from convoso_exporter.api.decode import MAX_DEPTH

    def nested(levels: int) -> bytes:  # an object holding lists: `levels` containers deep
        return b'{"x": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"

    at, past = nested(MAX_DEPTH), nested(MAX_DEPTH + 1)
    body = (b'{"data": {"entries": {"agents": {"1": ' + at + b', "2": ' + past + b', "3": {"user_id": "3"}}, '
            b'"agent_total": 3, "deep": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}}}")
    doc, problem = decode_json(body, "application/json")
    assert problem is None
    entries = doc["data"]["entries"]
    assert type(entries["agents"]["1"]) is dict and type(entries["agents"]["2"]) is Unreadable
    assert entries["agents"]["3"] == {"user_id": "3"} and entries["agent_total"] == 3
    assert type(entries["deep"]) is Unreadable and "nested deeper" in entries["deep"].why
