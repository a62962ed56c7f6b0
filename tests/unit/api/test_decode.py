"""convoso_exporter.api.decode: Content-Encoding layers decoded incrementally, every
layer's output held to the cap; JSON whose structure is beyond the limits refused unparsed."""

from __future__ import annotations

import gzip
import zlib

import pytest

from convoso_exporter.api.decode import CHUNK, BodyDecoder, codings, decode_json
from convoso_exporter.api.fields import Unreadable
from convoso_exporter.api.errors import ProtocolError, ResponseTooLarge
from convoso_exporter.api.limits import Limits

BODY = b'{"agents": [' + b",".join(b'{"user_id": "%d"}' % i for i in range(2000)) + b"]}"


def decode(data: bytes, applied: list[str], limit: int = 1 << 20, piece: int = 1000) -> bytes:
    decoder = BodyDecoder(applied, limit)
    out = []
    for start in range(0, len(data), piece):
        out += decoder.feed(data[start : start + piece])
    decoder.finish()
    return b"".join(out)


def deflate(data: bytes, raw: bool = False) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15 if raw else 15)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(("encoded", "applied"), [
    (BODY, []),
    (gzip.compress(BODY), ["gzip"]),
    (gzip.compress(BODY), ["x-gzip"]),
    (deflate(BODY), ["deflate"]),
    (deflate(BODY, raw=True), ["deflate"]),
    (gzip.compress(gzip.compress(BODY)), ["gzip", "gzip"]),
    (gzip.compress(deflate(BODY)), ["deflate", "gzip"]),
    (gzip.compress(BODY[:500]) + gzip.compress(BODY[500:]), ["gzip"]),  # two gzip members
], ids=["identity", "gzip", "x-gzip", "zlib deflate", "raw deflate", "gzip, gzip", "deflate, gzip", "members"])
def test_every_supported_encoding_decodes(encoded, applied):
    assert decode(encoded, applied) == BODY


def test_the_header_lists_codings_in_the_order_applied():
    assert codings(["gzip, identity", "deflate"]) == ["gzip", "deflate"]
    assert codings([]) == [] and codings(["identity"]) == []


@pytest.mark.parametrize(("values", "words"), [
    (["br"], "unsupported Content-Encoding 'br'"),
    (["gzip, gzip, gzip"], "stacks 3 compressions; at most 2"),
])
def test_unsupported_or_too_many_codings_are_protocol_errors(values, words):
    with pytest.raises(ProtocolError, match=words):
        codings(values)


def test_a_layer_whose_output_passes_the_cap_stops_at_once():
    """The inner layer of gzip(gzip(64 MiB)) passes a 1 MiB cap after at most one more
    chunk: never the whole 64 MiB."""
    inner = gzip.compress(bytes(64 << 20), 9)
    decoder = BodyDecoder(["gzip", "gzip"], 1 << 20)
    produced = []
    with pytest.raises(ResponseTooLarge, match="exceeds max_response_bytes 1048576"):
        for piece in (gzip.compress(inner, 9),):
            produced += decoder.feed(piece)
    assert sum(map(len, produced)) <= (1 << 20) + CHUNK


def test_a_body_exactly_at_the_cap_is_accepted():
    assert decode(gzip.compress(BODY), ["gzip"], limit=len(BODY)) == BODY
    with pytest.raises(ResponseTooLarge):
        decode(gzip.compress(BODY), ["gzip"], limit=len(BODY) - 1)


@pytest.mark.parametrize(("data", "applied", "words"), [
    (b"not gzip at all", ["gzip"], r"does not match its Content-Encoding \(gzip\)"),
    (gzip.compress(BODY)[:-20], ["gzip"], r"compressed body \(gzip\) is truncated"),
    (b"\x00\xff" * 20, ["deflate"], r"does not match its Content-Encoding \(deflate\)"),
    (gzip.compress(BODY) + b"garbage!!", ["gzip"], "does not match"),
])
def test_broken_compressed_bodies_are_protocol_errors(data, applied, words):
    with pytest.raises(ProtocolError, match=words):
        decode(data, applied)


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
