"""What went over the wire: every request the client made and every answer, as recorded
by `check --record` (record/session.py).

`RecordingTransport` sits between the client and its own transport. A request is
recorded as its endpoint and parameters (query and form merged, `auth_token` left out,
any other form of the token redacted); an answer as its status, the headers that matter
and the body bytes the client read, decoded from Content-Encoding so that the recording
is readable and can be redacted. The body is copied as the client reads it, never read
ahead: an answer the client stops reading (a status that decides alone, a body over
`max_response_bytes`) is recorded as far as it was read, so recording changes nothing
the client sees or does, and holds at most the size bound per answer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx

from convoso_exporter.api.errors import ConvosoError, redact
from convoso_exporter.api.inflate import BodyDecoder, codings

# The answer's headers worth keeping: what decides how the client reads it.
RECORDED_HEADERS = ("content-type", "content-encoding", "content-length", "retry-after", "location")
TOKEN_PARAM = "auth_token"


@dataclass
class Exchange:
    """One request and what came back."""

    number: int  # 1, 2, ... in the order the requests were sent
    at: float  # wall-clock seconds when it was sent
    method: str
    endpoint: str  # the path below the base URL's, e.g. /agent-monitor/search
    params: dict[str, str]  # query and form merged, auth_token left out
    status: int | None = None  # None: no answer came
    headers: dict[str, str] = field(default_factory=dict)  # RECORDED_HEADERS found, lower-case
    body: bytes = b""  # as far as the client read it, decoded from Content-Encoding
    received: int = 0  # body bytes on the wire (before decoding)
    decoded: bool = True  # False: `body` is as received (its encoding could not be undone)
    complete: bool = False  # the client read the body to its end
    truncated: bool = False  # the body went past the size bound: the rest was not kept
    failure: str | None = None  # the exchange broke: the exception's class (its text holds the URL)
    seconds: float | None = None  # from sending to the end of the answer


class Recorder:
    """Collects the exchanges of one client; `transport(inner)` is the client's transport."""

    def __init__(self, base_url: str, token: str, max_bytes: int) -> None:
        self._base_path = urlsplit(base_url).path.rstrip("/")
        self._token = token
        self._max_bytes = max_bytes
        self.exchanges: list[Exchange] = []

    def transport(self, inner: httpx.AsyncBaseTransport) -> RecordingTransport:
        return RecordingTransport(inner, self)

    def begin(self, method: str, url: httpx.URL, form: bytes) -> Exchange:
        """A new exchange for a request about to be sent."""
        params = dict(parse_qsl(url.query.decode("ascii"), keep_blank_values=True))
        params.update(parse_qsl(form.decode("utf-8", "replace"), keep_blank_values=True))
        params.pop(TOKEN_PARAM, None)
        path = url.path
        if self._base_path and path.startswith(self._base_path + "/"):
            path = path[len(self._base_path):]
        exchange = Exchange(
            number=len(self.exchanges) + 1,
            at=time.time(),
            method=method,
            endpoint=redact(path, self._token),
            params={redact(k, self._token): redact(v, self._token) for k, v in sorted(params.items())},
        )
        self.exchanges.append(exchange)
        return exchange

    def answered(self, exchange: Exchange, response: httpx.Response) -> None:
        exchange.status = response.status_code
        for name in RECORDED_HEADERS:
            values = response.headers.get_list(name)
            if values:
                exchange.headers[name] = redact(", ".join(values), self._token)

    def finish(self, exchange: Exchange, raw: bytes, received: int, started: float) -> None:
        """The answer ended (read whole or not): its body, decoded when it can be."""
        exchange.seconds = time.perf_counter() - started
        exchange.received = received
        exchange.body = raw
        exchange.decoded = not exchange.headers.get("content-encoding")
        if exchange.decoded or exchange.truncated or not exchange.complete:
            return  # a part of an encoded body stays as it came
        try:
            decoder = BodyDecoder(codings([exchange.headers["content-encoding"]]), self._max_bytes)
            exchange.body = b"".join([*decoder.feed(raw)])
            decoder.finish()
            exchange.decoded = True
        except ConvosoError:  # the client refused it too: kept as received
            exchange.body = raw

    @property
    def max_bytes(self) -> int:
        return self._max_bytes


class RecordingTransport(httpx.AsyncBaseTransport):
    """The client's transport, with every exchange recorded as it happens."""

    def __init__(self, inner: httpx.AsyncBaseTransport, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = self._recorder.begin(request.method, request.url, await request.aread())
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException as exc:  # cancelled by the deadline included
            exchange.failure = type(exc).__name__
            self._recorder.finish(exchange, b"", 0, started)
            raise
        self._recorder.answered(exchange, response)
        tee = _Tee(response.stream, exchange, self._recorder, started)
        return httpx.Response(response.status_code, headers=response.headers, stream=tee,
                              extensions=response.extensions, request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Tee(httpx.AsyncByteStream):
    """The answer's raw stream, copied (up to the size bound) as the client reads it."""

    def __init__(self, inner: httpx.AsyncByteStream, exchange: Exchange, recorder: Recorder, started: float) -> None:
        self._inner = inner
        self._exchange = exchange
        self._recorder = recorder
        self._started = started
        self._raw = bytearray()
        self._received = 0
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                self._keep(chunk)
                yield chunk
        except GeneratorExit:  # the client stopped reading: not a failure of the exchange
            raise
        except BaseException as exc:
            self._exchange.failure = self._exchange.failure or type(exc).__name__
            raise
        self._exchange.complete = True

    def _keep(self, chunk: bytes) -> None:
        self._received += len(chunk)
        room = self._recorder.max_bytes - len(self._raw)
        if len(chunk) > room:
            self._exchange.truncated = True
        self._raw += chunk[: max(room, 0)]

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if not self._closed:
                self._closed = True
                self._recorder.finish(self._exchange, bytes(self._raw), self._received, self._started)
