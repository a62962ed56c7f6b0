"""HTTP/1.1 messages as the server (web/http.py) reads and writes them: `Request`,
`Response` (its body bytes, or `Pieces` written one after another and never joined),
the request head parsed, the response head, and a body cut into writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Iterator, Sequence
from urllib.parse import parse_qsl

SERVER_NAME = "convoso-exporter"

# Bytes of a body handed to the transport at a time (after what it held has drained):
# a connection that does not read holds at most this and the transport's high-water mark
# (64 KiB) of its body. Smaller chunks cost a syscall each on fast clients (64 KiB made
# the median plain scrape of 2.3 MB 1.9x slower than one write).
WRITE_CHUNK = 256 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def form(self) -> dict[str, str]:
        """The body as application/x-www-form-urlencoded; the last value of a key wins."""
        text = self.body.decode("utf-8", errors="replace")
        return dict(parse_qsl(text, keep_blank_values=True))


@dataclass(frozen=True, slots=True)
class Pieces:
    """A body made of pieces written one after another, never joined into one copy:
    the exposition is served from the renderer's cached pieces (expose/cache.py)."""

    parts: tuple[bytes, ...]
    size: int

    @classmethod
    def of(cls, parts: Sequence[bytes]) -> Pieces:
        return cls(tuple(parts), sum(map(len, parts)))

    def __len__(self) -> int:
        return self.size

    def joined(self) -> bytes:
        return b"".join(self.parts)


Body = bytes | Pieces


@dataclass
class Response:
    status: int = 200
    body: Body = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


class BadRequest(Exception):
    """The client sent something that is not HTTP/1.x; answered with `status`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def text_response(status: int, message: str | None = None, **kwargs) -> Response:
    """A plain-text answer; the default message is the status phrase."""
    if message is None:
        message = HTTPStatus(status).phrase
    return Response(status=status, body=(message + "\n").encode(), **kwargs)


def chunks(body: Body) -> Iterator[bytes | memoryview]:
    """A body in writes of about WRITE_CHUNK bytes: slices of a large piece (views of the
    shared bytes, not copies), small pieces gathered into one write (a copy of at most a
    chunk): a write per small piece would be a syscall per piece on a fast client."""
    parts = body.parts if isinstance(body, Pieces) else (body,)
    gathered: list[bytes] = []
    size = 0
    for part in parts:
        if len(part) >= WRITE_CHUNK:
            if gathered:
                yield b"".join(gathered)
                gathered, size = [], 0
            view = memoryview(part)
            for start in range(0, len(view), WRITE_CHUNK):
                yield view[start : start + WRITE_CHUNK]
            continue
        gathered.append(part)
        size += len(part)
        if size >= WRITE_CHUNK:
            yield b"".join(gathered)
            gathered, size = [], 0
    if size:
        yield b"".join(gathered)


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    # latin-1 maps every byte to a character: decoding cannot fail.
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if not method.isalpha() or not target.startswith("/"):
        raise BadRequest(400, "malformed request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400, "malformed header line")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return method.upper(), target, version, headers


def wants_keep_alive(version: str, headers: dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


def head_bytes(response: Response, length: int, keep_alive: bool) -> bytes:
    """The status line and headers of `response`, its body `length` bytes long."""
    status = response.status
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [
        f"HTTP/1.1 {status} {phrase}",
        f"Server: {SERVER_NAME}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {length}",
    ]
    lines += [f"{name}: {value}" for name, value in response.headers]
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
