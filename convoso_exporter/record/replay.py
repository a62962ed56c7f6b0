"""`convoso-exporter simulate --replay DIR`: a recording (record/folder.py) served as the
API, so the exporter, the dashboards and the wallboard run on what an account sent.

A request is answered with the recorded answer to the same endpoint and parameters
(`auth_token` aside, which must be the replay's token, as the simulator's); several
answers to one request are served in turn, round and round. What the recording does not
hold is answered as the API answers an id it does not know (documented, HTTP 200):
6026 `Campaign not found` for a campaign_id filter, else 6041 `Queue not found` for a
queue_id (`campaign_ids` for agent-performance search), else 6006 `User not found` (a
user_id, a logout, or no id at all); an unknown path (an endpoint the recording never
asked) gets the live service's 404 HTML page, a method other than POST 405.
Agent-performance answers are matched without their dates: a recording is one day, and an
exporter polling the replay on another asks for its own today.

An answer is served as it was read: status, Content-Type, Retry-After and Location,
the body decoded (so without its Content-Encoding, unless it could not be decoded when
recorded). An exchange that broke (reset, timeout) replays as a connection reset after
the bytes that came; an answer the client stopped reading for its size is served past
the recorded `max_response_bytes`, so the client stops again. Agents' time in status is
what it was when recorded: an exporter polling a replay sees every agent start the same
stint again at every poll (agent time adds up, entries count one per poll).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping

from convoso_exporter.api.client import PATHS
from convoso_exporter.api.read import LOGOUT, PERFORMANCE, SEARCH
from convoso_exporter.config.schema import ConvosoSettings
from convoso_exporter.record.capture import TOKEN_PARAM, Exchange
from convoso_exporter.record.folder import CONFIG, REPLAY_TOKEN, Recording, load
from convoso_exporter.web.cutshort import CutShort, CutShortServer
from convoso_exporter.web.http import Request, Response, parse_listen_address
from convoso_exporter.web.inprocess import InProcessTransport
from convoso_exporter.web.vendor_http import (
    CAMPAIGN_NOT_FOUND,
    INVALID_TOKEN,
    JSON,
    QUEUE_NOT_FOUND,
    USER_NOT_FOUND,
    json_response,
    method_not_allowed,
    not_found_page,
    token_ok,
)

log = logging.getLogger(__name__)

API_PREFIX = "/v1"
# Always known, recorded or not (the optional endpoints only if the recording asked them).
ENDPOINTS = (PATHS[SEARCH], PATHS[LOGOUT])
# The filter a not-found answer names, most specific scope first: (parameter, code, error).
NOT_FOUND = (("campaign_id", *CAMPAIGN_NOT_FOUND), ("campaign_ids", *CAMPAIGN_NOT_FOUND),
             ("queue_id", *QUEUE_NOT_FOUND))
# Parameters a request is matched without, by endpoint: agent-performance's day.
UNMATCHED = {PATHS[PERFORMANCE]: frozenset(("date_start", "date_end"))}
# Headers an answer is served with besides its Content-Type.
_SERVED_HEADERS = ("retry-after", "location")

Key = tuple[str, tuple[tuple[str, str], ...]]


class Replay:
    """Answers requests from a recording; `handle` is a `web.http` handler."""

    def __init__(self, recording: Recording, token: str = REPLAY_TOKEN) -> None:
        if not token:
            raise ValueError("the replay needs a non-empty auth token")
        self.recording = recording
        self._token = token
        self._answers: dict[Key, list[Exchange]] = {}
        for exchange in recording.exchanges:
            self._answers.setdefault(_key(exchange.endpoint, exchange.params), []).append(exchange)
        self._known = frozenset(ENDPOINTS).union(endpoint for endpoint, _ in self._answers)
        self._turns: Counter[Key] = Counter()
        self._missed: set[Key] = set()
        convoso = recording.manifest.get("config", {}).get("convoso")
        limit = convoso.get("max_response_bytes") if isinstance(convoso, dict) else None
        self._beyond = (limit if isinstance(limit, int) and limit > 0 else ConvosoSettings.max_response_bytes) + 1
        self.served = 0
        self.unmatched = 0

    def transport(self) -> InProcessTransport:
        """An httpx transport serving this replay in-process."""
        return InProcessTransport(self.handle)

    async def handle(self, request: Request) -> Response:
        endpoint = request.path[len(API_PREFIX):] if request.path.startswith(API_PREFIX + "/") else None
        if endpoint is None or endpoint not in self._known:
            return not_found_page()
        if request.method != "POST":
            return method_not_allowed()
        form = request.form()
        if not any(token_ok(given, self._token) for given in (request.query.get(TOKEN_PARAM), form.get(TOKEN_PARAM))):
            return json_response(200, INVALID_TOKEN)
        params = {**request.query, **form}
        params.pop(TOKEN_PARAM, None)
        key = _key(endpoint, params)
        answers = self._answers.get(key)
        if answers is None:
            return self._not_found(key, endpoint, params)
        self.served += 1
        turn = self._turns[key]
        self._turns[key] = turn + 1
        return self._answer(answers[turn % len(answers)])

    def _answer(self, exchange: Exchange) -> Response:
        if exchange.status is None:  # no answer came: the connection broke first
            return CutShort(200, b" ", JSON, sent=0)
        headers = [(name.title(), exchange.headers[name]) for name in _SERVED_HEADERS if name in exchange.headers]
        if not exchange.decoded and "content-encoding" in exchange.headers:
            headers.append(("Content-Encoding", exchange.headers["content-encoding"]))
        kind = exchange.headers.get("content-type", "application/octet-stream")
        body = exchange.body
        if exchange.failure is not None:
            # One byte more than is sent, so the framing says the answer was cut.
            return CutShort(exchange.status, body + b" ", kind, headers, sent=len(body))
        if 200 <= exchange.status < 300 and not exchange.complete and exchange.decoded:
            # The client stopped reading it for its size (declared or read): so it will again,
            # at the size it was declared with where that is not absurd.
            declared = exchange.headers.get("content-length", "")
            size = int(declared) if declared.isascii() and declared.isdigit() else 0
            size = size if self._beyond <= size <= 4 * self._beyond else self._beyond
            body = body + b" " * max(0, size - len(body))
        return Response(exchange.status, body, kind, headers)

    def _not_found(self, key: Key, endpoint: str, params: Mapping[str, str]) -> Response:
        self.unmatched += 1
        code, error = USER_NOT_FOUND
        if endpoint != PATHS[LOGOUT]:
            code, error = next(((c, e) for name, c, e in NOT_FOUND if params.get(name)), USER_NOT_FOUND)
        if key not in self._missed and len(self._missed) < 1000:  # once per request, bounded
            self._missed.add(key)
            shown = " ".join(f"{k}={v}" for k, v in sorted(params.items()))[:200]
            log.warning("no recorded answer for %s %s: answered %d %s", endpoint, shown or "(no filter)", code, error)
        return json_response(200, {"success": False, "code": code, "error": error})


def _key(endpoint: str, params: Mapping[str, str]) -> Key:
    left_out = UNMATCHED.get(endpoint, frozenset())
    return endpoint, tuple(sorted((name, value) for name, value in params.items() if name not in left_out))


async def serve(folder: str, listen: str, token: str) -> int:
    """`simulate --replay DIR`: serve until cancelled. RecordingError for a bad folder,
    ValueError for a bad address, OSError for a busy port."""
    recording = load(folder)
    host, port = parse_listen_address(listen)
    replay = Replay(recording, token)
    server = CutShortServer(replay.handle)
    await server.start(host, port)
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    log.info("replaying %s on http://%s:%d%s: %d answers recorded %s (%s); the exporter: --config.file %s",
             folder, f"[{shown}]" if ":" in shown else shown, server.port, API_PREFIX, len(recording.exchanges),
             recording.manifest.get("recorded_at", "?"), "redacted" if recording.redacted else "NOT redacted",
             recording.folder / CONFIG)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        pass  # SIGINT/SIGTERM: a normal end
    finally:
        await server.close()
    return 0
