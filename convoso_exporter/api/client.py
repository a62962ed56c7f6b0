"""`ConvosoClient`: the only code that talks HTTP to the Convoso API (or the simulator).

One pooled `httpx.AsyncClient` (keep-alive) serves every request; a semaphore
bounds requests in flight. Each request has a total deadline (connect + send +
full body) that starts once a slot is free, so queueing is not counted.

Everything that can go wrong becomes a `ConvosoError` subclass with a one-line
message naming the endpoint (and HTTP status when there is one), with the auth
token redacted. httpx exceptions are never chained nor quoted: their text and attributes
carry the full URL, token included. A transport failure is told in words from what they
wrap, naming the host and port (api/failures.py).

The body is read raw and decoded here (api/decode.py), so that the size cap holds for
the bytes every Content-Encoding layer produces, not only for the bytes on the wire.
It is then read (api/read.py) on the parse thread; what reading it took (the answer's
`drift.Tally`) is added to the stats' shape telemetry back on the event loop.

Status mapping: 401/403 → AuthError (for the optional endpoints a 403, or a `success:
false` about a permission, is AccessDenied: `refusals.denial`), 429 → RateLimited, 5xx → ServerError;
any other non-2xx answer → the ApiError/AuthError its JSON body states with
`success: false`, otherwise ProtocolError (an unknown path answers 404 + HTML).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import httpx

from convoso_exporter import __version__
from convoso_exporter.api.decode import Body, decode_json
from convoso_exporter.api.drift import Tally
from convoso_exporter.api.endpoints.activity import UserActivity
from convoso_exporter.api.endpoints.performance import PerformanceAnswer, all_pages
from convoso_exporter.api.errors import (
    INTERNAL,
    AuthError,
    ConvosoError,
    ProtocolError,
    RateLimited,
    ResponseTooLarge,
    ServerError,
    one_line,
    redact,
)
from convoso_exporter.api.failures import Endpoint, Steps, describe
from convoso_exporter.api.inflate import ACCEPT_ENCODING, BodyDecoder, codings
from convoso_exporter.api.labels import valid_text
from convoso_exporter.api.limits import DEFAULT_LIMITS, Limits
from convoso_exporter.api.model import SearchResult
from convoso_exporter.api.read import (
    LOGOUT,
    PERFORMANCE,
    SEARCH,
    USER_ACTIVITY,
    read_logout,
    read_performance,
    read_search,
    read_user_activity,
)
from convoso_exporter.api.refusals import PERMISSIONS, denial, document_error
from convoso_exporter.api.retry_after import parse_retry_after
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.api.transport import client_transport
from convoso_exporter.api.worker import ParseWorker

if TYPE_CHECKING:
    from convoso_exporter.config.schema import ConvosoSettings

USER_AGENT = f"convoso-exporter/{__version__}"

# Each endpoint's path below the base URL (the recorder's and the replay's too).
PATHS = {
    SEARCH: "/agent-monitor/search", LOGOUT: "/agent-monitor/logout",
    USER_ACTIVITY: "/user-activity/search", PERFORMANCE: "/agent-performance/search",
}

# Longest error message; server text beyond it is cut (after redaction).
MAX_MESSAGE = 300

T = TypeVar("T")


def pool_limits(concurrency: int) -> httpx.Limits:
    """The connection pool for `concurrency` requests in flight: as many connections, all kept alive."""
    return httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)


async def _already_read(content: bytes) -> AsyncIterator[bytes]:
    yield content


class ConvosoClient:
    """Async client for POST /agent-monitor/search and /agent-monitor/logout, and the
    optional /user-activity/search and /agent-performance/search."""

    def __init__(
        self,
        base_url: str,
        auth_token: str,
        *,
        timeout: float = 10.0,
        concurrency: int = 8,
        max_response_bytes: int = 32 * 1024 * 1024,
        stats: ApiStats | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            shown = redact(base_url, auth_token)
            raise ValueError(f"base_url: expected an http:// or https:// URL, got {shown!r}")
        if not timeout > 0:
            raise ValueError(f"timeout: must be > 0 seconds, got {timeout!r}")
        if concurrency < 1:
            raise ValueError(f"concurrency: must be >= 1, got {concurrency!r}")
        if max_response_bytes < 1:
            raise ValueError(f"max_response_bytes: must be >= 1, got {max_response_bytes!r}")
        self._base_url = base_url.rstrip("/")
        self._where = Endpoint.of(self._base_url)  # what a transport failure names
        self._token = auth_token
        self._timeout = timeout
        self._concurrency = concurrency
        self._max_bytes = max_response_bytes
        self._stats = stats
        self._limits = limits
        self._slots = asyncio.Semaphore(concurrency)
        # Answers are decoded and parsed off the event loop, one at a time (api/worker.py).
        self._parser = ParseWorker()
        limits = pool_limits(concurrency)
        self._http = httpx.AsyncClient(
            # A connection whose response left bytes over is never reused (api/transport.py);
            # a proxy the environment names (HTTPS_PROXY, NO_PROXY) is used as httpx would.
            transport=transport if transport is not None else client_transport(self._base_url, limits),
            limits=limits,
            # Per-phase limits as a backstop; the total deadline is anyio.fail_after below.
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
        )

    @classmethod
    def from_settings(
        cls, settings: ConvosoSettings, *, stats: ApiStats | None = None, concurrency: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> ConvosoClient:
        """A client for the config's `convoso` section; `concurrency` overrides the configured one,
        `transport` the HTTP transport (a recording's, record/capture.py; a replay's)."""
        return cls(
            settings.base_url,
            settings.auth_token,
            timeout=settings.timeout,
            concurrency=settings.concurrency if concurrency is None else concurrency,
            max_response_bytes=settings.max_response_bytes,
            stats=stats,
            transport=transport,
        )

    def __repr__(self) -> str:
        return (
            f"ConvosoClient(base_url={redact(self._base_url, self._token)!r}, "
            f"timeout={self._timeout!r}, concurrency={self._concurrency!r})"
        )

    async def __aenter__(self) -> ConvosoClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        self._parser.close()

    async def search(
        self,
        campaign_id: str | None = None,
        queue_id: str | None = None,
        user_id: str | None = None,
        skills: Sequence[str] | None = None,
        *,
        agents: bool = True,
    ) -> SearchResult:
        """One snapshot; filters left None (or empty) are not sent. Without `agents`
        the snapshot keeps none (see `parse_search`)."""
        form = {
            "campaign_id": campaign_id,
            "queue_id": queue_id,
            "user_id": user_id,
            "filter_by_skill_options": ",".join(skills) if skills else None,
        }
        # The token is redacted from every text of the answer (an answer may echo it).
        return await self._call(SEARCH, form, partial(read_search, limits=self._limits, secret=self._token,
                                                      agents=agents))

    async def user_activity(self, campaign_id: str | None = None, queue_id: str | None = None,
                            user_id: str | None = None, skills: Sequence[str] | None = None) -> UserActivity:
        """Agents Convoso counts logged in and available, with search's filters. A token
        without the permission raises AccessDenied (`denied`)."""
        form = {"campaign_id": campaign_id, "queue_id": queue_id, "user_id": user_id,
                "filter_by_skill_options": ",".join(skills) if skills else None}
        return await self._call(USER_ACTIVITY, form, read_user_activity)

    async def performance(self, day: str, campaign_id: str | None = None, *,
                          turn: Callable[[], Awaitable[None]] | None = None) -> PerformanceAnswer:
        """Every agent's figures of the account's `day` (YYYY-MM-DD), of one campaign or
        the whole account, all pages (`performance.all_pages`; `turn` is awaited before
        each page after the first: the request-rate ceiling). A token without the
        permission raises AccessDenied (`denied`)."""
        form = {"date_start": day, "date_end": day, "campaign_ids": campaign_id}
        read = partial(read_performance, day=day, limits=self._limits, secret=self._token)

        async def page(number: int) -> PerformanceAnswer:
            if number > 1 and turn is not None:
                await turn()
            return await self._call(PERFORMANCE, {**form, "page": number if number > 1 else None}, read)

        return await all_pages(page, self._limits)

    async def logout(self, user_id: str) -> None:
        """Log an agent out. ApiError code 6006: no such user, 6012: not logged in."""
        await self._call(LOGOUT, {"user_id": user_id}, read_logout)

    # --- one request --------------------------------------------------------------

    async def _call(self, endpoint: str, form: Mapping[str, Any], read: Callable[..., T]) -> T:
        """One request, recorded in the stats with exactly one outcome: success, the kind
        of the ConvosoError it raised, or INTERNAL for anything else (a bug). A request
        cancelled by its caller (shutdown, reload) did not end and is not recorded; an
        answer that was read adds what reading it took to the shape telemetry."""
        outcome: str | None = INTERNAL
        started = time.perf_counter()
        elapsed: float | None = None
        try:
            async with self._slots:
                started = time.perf_counter()
                status, headers, raw = await self._exchange(endpoint, form)
                elapsed = time.perf_counter() - started
            # Decoded and parsed outside the slot and the deadline, in a worker thread: it is
            # CPU work (about 15 µs an agent), not waiting on the API, and on the event loop
            # it would hold up every scrape behind a large answer. The tally is written
            # there alone, and read here once the parse has ended.
            tally = Tally(endpoint, self._token)
            try:
                result = await self._parser.run(self._parse_body, endpoint, status, headers, raw, read, tally)
            except asyncio.CancelledError:
                raise  # the parse may still be writing the tally
            except BaseException:
                self._add_drift(tally)
                raise
            self._add_drift(tally)
            outcome = "success"
            return result
        except ConvosoError as err:
            failure = denial(err, endpoint)  # an optional endpoint the token may not read
            outcome = failure.kind
            if failure is err:
                raise
            raise failure from None
        except asyncio.CancelledError:
            outcome = None
            raise
        finally:
            if outcome is not None and self._stats is not None:
                self._stats.record(endpoint, outcome, elapsed if elapsed is not None else time.perf_counter() - started)

    def _add_drift(self, tally: Tally) -> None:
        if self._stats is not None:
            self._stats.drift.add(tally)

    def _parse_body(self, endpoint: str, status: int, headers: httpx.Headers, raw: bytes,
                    read: Callable[..., T], tally: Tally) -> T:
        try:
            return read(Body(raw, headers.get("content-type", "")), tally=tally)
        except ConvosoError as err:
            self._restate(err, endpoint, status)
            raise

    async def _exchange(self, endpoint: str, form: Mapping[str, Any]) -> tuple[int, httpx.Headers, bytes]:
        """(HTTP status, headers, body) of a 2xx answer; raises ConvosoError otherwise."""
        # The replacement is raised after the except block so that the httpx
        # exception (its text holds the URL with the token) is not even __context__.
        failure: ConvosoError
        steps = Steps()  # the step the exchange is in, for the message if it fails
        try:
            # anyio's cancel scope, not asyncio.timeout: a deadline that strikes while
            # httpcore closes the response must not cancel its shielded cleanup, or the
            # pool keeps a dead request forever and, after `concurrency` of them, every
            # later poll times out (encode/httpcore#1093, #830: cancellation leaks pool slots).
            with anyio.fail_after(self._timeout):
                return await self._send(endpoint, form, steps)
        except (TimeoutError, httpx.HTTPError) as exc:
            what = describe(exc, self._where, steps.step, self._timeout)
            failure = what.error(self._message(endpoint, what.detail), reason=what.reason)
        raise failure

    async def _send(
        self, endpoint: str, form: Mapping[str, Any], steps: Steps
    ) -> tuple[int, httpx.Headers, bytes]:
        url = self._base_url + PATHS[endpoint]
        payload = {"auth_token": self._token}
        payload.update((key, str(value)) for key, value in form.items() if value is not None and value != "")
        request = self._http.stream("POST", url, params={"auth_token": self._token}, data=payload,
                                    extensions={"trace": steps})
        async with request as response:
            status = response.status_code
            early = self._status_error(endpoint, response)
            if early is not None:
                raise early
            raw = await self._read(endpoint, response)
        if 200 <= status < 300:
            return status, response.headers, raw
        raise self._unexpected_status(endpoint, status, response.headers, raw)

    def _status_error(self, endpoint: str, response: httpx.Response) -> ConvosoError | None:
        """The error a status alone decides; the body is then not read at all."""
        status = response.status_code
        if status == 401:
            return AuthError(self._message(endpoint, "missing or invalid auth_token", status), status=status)
        if status == 403:
            detail = "access denied" if endpoint in PERMISSIONS else "auth_token not valid for this account"
            return AuthError(self._message(endpoint, detail, status), status=status)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"), time.time())
            hint = f", retry after {retry_after:g}s" if retry_after is not None else ""
            message = self._message(endpoint, f"rate limited{hint}", status)
            return RateLimited(message, retry_after=retry_after)
        if status >= 500:
            return ServerError(self._message(endpoint, "server error", status), status=status)
        return None

    async def _read(self, endpoint: str, response: httpx.Response) -> bytearray:
        """The whole decoded body, refusing to hold more than max_response_bytes of it,
        raw or decoded at any Content-Encoding layer (see api/decode.py)."""
        status = response.status_code
        declared = response.headers.get("content-length", "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > self._max_bytes:  # "²".isdigit()
            detail = f"Content-Length {declared} exceeds max_response_bytes {self._max_bytes}"
            raise ResponseTooLarge(self._message(endpoint, detail, status))
        # One growing buffer, not a list of chunks joined at the end: the join held the
        # body twice (70 MB at 100,000 agents). The decoders read any bytes-like object.
        body = bytearray()
        size = 0
        try:
            if response.is_stream_consumed:  # a transport that read (and decoded) it already: a mock
                decoder, pieces = BodyDecoder([], self._max_bytes), _already_read(response.content)
            else:
                decoder = BodyDecoder(codings(response.headers.get_list("content-encoding")), self._max_bytes)
                pieces = response.aiter_raw()
            async for raw in pieces:
                size += len(raw)
                if size > self._max_bytes:
                    raise ResponseTooLarge(f"body exceeds max_response_bytes {self._max_bytes}; stopped reading")
                for piece in decoder.feed(raw):
                    body += piece
            decoder.finish()
        except ConvosoError as err:
            self._restate(err, endpoint, status)
            raise
        return body

    def _unexpected_status(
        self, endpoint: str, status: int, headers: httpx.Headers, raw: bytes
    ) -> ConvosoError:
        """A 1xx/3xx/4xx not decided by status alone: the body's own error if it states one."""
        doc, problem = decode_json(raw, headers.get("content-type", ""), self._limits)
        error = document_error(doc) if problem is None else None
        if error is not None:
            self._restate(error, endpoint, status)
            return error
        detail = "unexpected status" if problem is None else f"unexpected status; {problem.message}"
        return ProtocolError(self._message(endpoint, detail, status))

    # --- messages ----------------------------------------------------------------

    def _message(self, endpoint: str, detail: str, status: int | None = None) -> str:
        """One line: "<endpoint>: HTTP <status>: <detail>", token redacted, then cut."""
        where = f"{endpoint}: HTTP {status}" if status is not None else endpoint
        text = redact(one_line(valid_text(f"{where}: {detail}")), self._token)
        return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."

    def _restate(self, error: ConvosoError, endpoint: str, status: int) -> None:
        """Give an error from `convoso_exporter.api.parse` the endpoint, status and redaction."""
        error.message = self._message(endpoint, error.message, status)
        error.args = (error.message,)
