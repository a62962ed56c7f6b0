"""convoso_exporter/web/messages.py: the request head parsed, the response head written,
and a body of pieces cut into writes (the server over sockets: test_http.py)."""

from __future__ import annotations

import pytest

from convoso_exporter.web.messages import (
    WRITE_CHUNK,
    BadRequest,
    Pieces,
    Response,
    chunks,
    head_bytes,
    parse_head,
    wants_keep_alive,
)


def test_a_head_is_parsed_into_method_target_version_and_lower_case_headers_joined_when_repeated():
    head = b"get /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: a\r\naccept: b\r\n\r\n"
    assert parse_head(head) == ("GET", "/metrics?x=1", "HTTP/1.1", {"host": "a", "accept": "a, b"})


@pytest.mark.parametrize("head", [b"GET /\r\n\r\n", b"GET x HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nNo colon\r\n\r\n"])
def test_a_head_that_is_not_http_is_a_bad_request(head):
    with pytest.raises(BadRequest):
        parse_head(head)


def test_keep_alive_by_version_and_connection_header():
    assert wants_keep_alive("HTTP/1.1", {}) and not wants_keep_alive("HTTP/1.1", {"connection": "close"})
    assert not wants_keep_alive("HTTP/1.0", {}) and wants_keep_alive("HTTP/1.0", {"connection": "keep-alive"})


def test_the_response_head_names_length_type_and_closing():
    head = head_bytes(Response(404, b"", "text/plain", [("X-A", "1")]), 5, keep_alive=False)
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\n") and head.endswith(b"X-A: 1\r\nConnection: close\r\n\r\n")
    assert b"Content-Length: 5\r\n" in head


def test_pieces_are_written_in_chunks_of_about_a_write_each_never_joined_whole():
    small = [bytes([65 + i % 26]) * 1000 for i in range(600)]  # 600 kB in 1 kB pieces
    large = b"L" * (WRITE_CHUNK * 2 + 5)
    body = Pieces.of([*small[:300], large, *small[300:]])
    written = [bytes(chunk) for chunk in chunks(body)]
    assert b"".join(written) == body.joined() and len(body) == sum(map(len, written))
    # Small pieces gathered up to a chunk (one write, not 300); the large one sliced, not copied.
    assert all(len(chunk) < WRITE_CHUNK + 1000 for chunk in written)
    assert len(written) <= 2 * len(body) // WRITE_CHUNK + 3
    assert any(isinstance(chunk, memoryview) for chunk in chunks(body))
