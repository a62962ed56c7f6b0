"""convoso_exporter.api.inflate: Content-Encoding layers decoded incrementally, every
layer's output held to the cap."""

from __future__ import annotations

import gzip
import zlib

import pytest

from convoso_exporter.api.errors import ProtocolError, ResponseTooLarge
from convoso_exporter.api.inflate import CHUNK, BodyDecoder, codings

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
