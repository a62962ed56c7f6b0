"""The simulator's HTTP front: the Convoso Agent Monitor API on loopback, with faults
on demand and a small control endpoint; plus the `convoso-exporter simulate` command.

API (like the live service): `POST /v1/agent-monitor/search` and
`POST /v1/agent-monitor/logout`, form body, `auth_token` in the query or the body.
A wrong or missing token answers HTTP 200 `{"success": false, "error": "Invalid
authentication token"}` (documented); other methods answer 405; unknown paths 404
with an HTML page.

Faults (`Simulator.set_fault` or `POST /_sim/fault`), each optionally scoped to the
requests that filter by one campaign_id and/or queue_id, and optionally healing
after `times` requests:
  401, 403, 429 (Retry-After), 500, 502_html, slow (answer after `delay` s),
  truncated (JSON cut in half, Content-Length matching the cut body), reset
  (connection reset mid-body), too_large (a body over `size` bytes), not_json,
  wrong_shape (root is an array), and the search-only content faults
  agents_null, keyed_by_id, strings, unknown_status, hostile_names (see render.py).
A request meets at most one fault: the most specific match wins. Faults apply
before the token check (a broken server does not read tokens).

Control endpoint (token in the query, as `auth_token`; JSON bodies):
  POST /_sim/fault  {"fault": "429", "campaign_id": "1001", "retry_after": 5, "times": 3}
                    {"fault": null} clears all faults ({"fault": null, "campaign_id": ...}: that scope's)
  POST /_sim/surge  {"drop_ratio": 0.2} / {"drop_ratio": null}
  POST /_sim/style  {"style": "live"}
  GET  /_sim/state  campaigns, queues, agent ids, faults, counters
`requests_served` counts API requests (not control requests).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import math
import secrets
from dataclasses import asdict, dataclass, replace

from convoso_exporter.config.units import parse_duration
from convoso_exporter.web.http import HttpServer, Request, Response, parse_listen_address
from convoso_exporter.simulator.center import ContactCenter, NotFound, parse_skills
from convoso_exporter.simulator.render import CONTENT_FAULTS, STYLES, Renderer

log = logging.getLogger(__name__)

SEARCH_PATH = "/v1/agent-monitor/search"
LOGOUT_PATH = "/v1/agent-monitor/logout"
HTTP_FAULTS = ("401", "403", "429", "500", "502_html", "slow", "truncated", "reset", "too_large", "not_json", "wrong_shape")
FAULTS = HTTP_FAULTS + CONTENT_FAULTS
DEFAULT_SLOW_DELAY = 60.0
DEFAULT_RETRY_AFTER = 5.0
DEFAULT_TOO_LARGE = 40 * 1024 * 1024

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=UTF-8"
INVALID_TOKEN = {"success": False, "error": "Invalid authentication token"}

NOT_FOUND_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
    b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n"
)
BAD_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
NOT_JSON_BODY = b"Warning: mysqli_connect(): (HY000/1040): Too many connections in /var/www/api/db.php on line 12\n"
WRONG_SHAPE_BODY = b'[{"agents": []}]'
# One agent, repeated to build `too_large` bodies.
_SAMPLE_AGENT = json.dumps(
    {"user_id": "12345", "user_full_name": "Jane Smith", "campaign_id": "111", "status": "READY", "status_time_sec": 300}
).encode()


@dataclass(frozen=True)
class Fault:
    name: str
    campaign_id: str | None = None
    queue_id: str | None = None
    retry_after: float | None = None
    delay: float | None = None
    times: int | None = None  # requests left before it heals; None: until cleared
    size: int | None = None

    @property
    def scope(self) -> tuple[str | None, str | None]:
        return self.campaign_id, self.queue_id

    def matches(self, params: dict[str, str]) -> bool:
        return all(want is None or params.get(name) == want for name, want in zip(("campaign_id", "queue_id"), self.scope))


class Simulator:
    """The simulated API over real loopback HTTP, for tests, benchmarks and the demo."""

    def __init__(self, center: ContactCenter, *, token: str = "demo", style: str = "documented", latency: float = 0.0) -> None:
        if not token:
            raise ValueError("the simulator needs a non-empty auth token")
        self.center = center
        self._token = token
        self._renderer = Renderer(center)
        self._http = HttpServer(self._handle)
        self._faults: dict[tuple[str | None, str | None], Fault] = {}
        self._oversized: tuple[int, bytes] | None = None
        self._host = "127.0.0.1"
        self.set_style(style)
        self.set_latency(latency)
        self.requests_served = 0

    def __repr__(self) -> str:  # no token
        return f"<Simulator style={self.style} faults={len(self._faults)}>"

    # --- lifecycle ------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        await self._http.start(host, port)
        self._host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host

    async def close(self) -> None:
        await self._http.close()

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def base_url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/v1"

    @property
    def connections_opened(self) -> int:
        return self._http.connections_opened

    # --- knobs ----------------------------------------------------------------------

    def set_style(self, style: str) -> None:
        if style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
        self.style = style

    def set_latency(self, seconds: float) -> None:
        self.latency = _non_negative("latency", seconds)

    def surge(self, ratio: float | None) -> None:
        """Raise the drop ratio (e.g. 0.2); None goes back to the configured one."""
        self.center.set_drop_ratio(ratio)

    def set_fault(
        self,
        fault: str | None,
        *,
        campaign_id: str | None = None,
        queue_id: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        times: int | None = None,
        size: int | None = None,
    ) -> None:
        """Break (or with None, heal) the API for one scope; `fault=None` with no scope heals all."""
        campaign_id, queue_id = _scope_id("campaign_id", campaign_id), _scope_id("queue_id", queue_id)
        if fault is None:
            if campaign_id is None and queue_id is None:
                self.clear_faults()
            else:
                self._faults.pop((campaign_id, queue_id), None)
            return
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError(f"times must be a positive integer, got {times!r}")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(f"size must be a positive integer (bytes), got {size!r}")
        entry = Fault(
            name=fault,
            campaign_id=campaign_id,
            queue_id=queue_id,
            retry_after=None if retry_after is None else _non_negative("retry_after", retry_after),
            delay=None if delay is None else _non_negative("delay", delay),
            times=times,
            size=size,
        )
        self._faults[entry.scope] = entry

    def clear_faults(self) -> None:
        self._faults.clear()

    def faults(self) -> list[dict]:
        return [asdict(fault) for fault in self._faults.values()]

    def state(self) -> dict:
        center = self.center
        return {
            "campaigns": center.campaigns(),
            "queues": center.queues(),
            "agents": center.agent_ids(),
            "skills": list(center.skills),
            "style": self.style,
            "latency": self.latency,
            "drop_ratio": center.drop_ratio,
            "faults": self.faults(),
            "requests_served": self.requests_served,
            "connections_opened": self.connections_opened,
        }

    # --- requests -------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        if request.path in (SEARCH_PATH, LOGOUT_PATH):
            return await self._api(request)
        if request.path.startswith("/_sim/"):
            return self._control(request)
        return Response(404, NOT_FOUND_PAGE, HTML)

    async def _api(self, request: Request) -> Response:
        self.requests_served += 1
        if request.method != "POST":
            return _json(405, {"success": False, "error": "Method Not Allowed"}, headers=[("Allow", "POST")])
        if self.latency:
            await asyncio.sleep(self.latency)
        form = request.form()
        params = {**request.query, **form}
        search = request.path == SEARCH_PATH
        fault = self._take_fault(params, search)
        if fault is not None and fault.name == "slow":
            await asyncio.sleep(DEFAULT_SLOW_DELAY if fault.delay is None else fault.delay)
        elif fault is not None and fault.name not in ("truncated", "reset") + CONTENT_FAULTS:
            return self._broken(fault)
        if not (self._token_ok(request.query.get("auth_token")) or self._token_ok(form.get("auth_token"))):
            return _json(200, INVALID_TOKEN)
        content = fault.name if fault is not None and fault.name in CONTENT_FAULTS else None
        body = self._search(params, content) if search else _dumps(self.center.logout(params.get("user_id")))
        if fault is not None and fault.name == "truncated":
            return Response(200, body[: len(body) // 2], JSON)
        if fault is not None and fault.name == "reset":
            return Response(200, body, JSON, abort_after=len(body) // 2)
        return Response(200, body, JSON)

    def _search(self, params: dict[str, str], content_fault: str | None) -> bytes:
        try:
            selection = self.center.select(
                params.get("campaign_id"),
                params.get("queue_id"),
                params.get("user_id"),
                parse_skills(params.get("filter_by_skill_options")),
            )
        except NotFound as missing:
            return _dumps(missing.as_dict())
        return self._renderer.search(selection, self.style, content_fault)

    def _token_ok(self, given: str | None) -> bool:
        return given is not None and secrets.compare_digest(given.encode(), self._token.encode())

    def _take_fault(self, params: dict[str, str], search: bool) -> Fault | None:
        """The most specific fault matching this request; counts down its `times`."""
        matching = [
            fault
            for fault in self._faults.values()
            if fault.matches(params) and (search or fault.name not in CONTENT_FAULTS)
        ]
        if not matching:
            return None
        fault = max(matching, key=lambda item: sum(part is not None for part in item.scope))
        if fault.times is not None:
            if fault.times <= 1:
                del self._faults[fault.scope]
            else:
                self._faults[fault.scope] = replace(fault, times=fault.times - 1)
        return fault

    def _broken(self, fault: Fault) -> Response:
        name = fault.name
        if name == "401":
            return _json(401, {"success": False, "message": "Unauthenticated."})
        if name == "403":
            return _json(403, {"success": False, "code": 403, "text": "Token is not valid for this office"})
        if name == "429":
            seconds = DEFAULT_RETRY_AFTER if fault.retry_after is None else fault.retry_after
            retry = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
            return _json(429, {"success": False, "message": "Too Many Attempts."}, headers=[("Retry-After", retry)])
        if name == "500":
            return _json(500, {"success": False, "error": "Internal Server Error"})
        if name == "502_html":
            return Response(502, BAD_GATEWAY_PAGE, HTML)
        if name == "too_large":
            return Response(200, self._oversized_body(fault.size or DEFAULT_TOO_LARGE), JSON)
        if name == "not_json":
            return Response(200, NOT_JSON_BODY, "text/plain; charset=utf-8")
        return Response(200, WRONG_SHAPE_BODY, JSON)  # wrong_shape

    def _oversized_body(self, size: int) -> bytes:
        """Valid JSON over `size` bytes, built once per size from a repeated chunk."""
        if self._oversized is None or self._oversized[0] != size:
            chunk = _SAMPLE_AGENT + b", "
            body = b'{"agents": [' + chunk * (size // len(chunk) + 1) + _SAMPLE_AGENT + b"]}"
            self._oversized = (size, body)
        return self._oversized[1]

    # --- control endpoint -----------------------------------------------------------

    def _control(self, request: Request) -> Response:
        if not self._token_ok(request.query.get("auth_token")):
            return _json(401, INVALID_TOKEN)
        action = request.path.removeprefix("/_sim/")
        if action not in ("fault", "surge", "style", "state"):
            return _json(404, {"error": f"unknown control endpoint {request.path}"})
        wanted = "GET" if action == "state" else "POST"
        if request.method != wanted:
            return _json(405, {"error": f"use {wanted} for {request.path}"}, headers=[("Allow", wanted)])
        try:
            if action != "state":
                self._apply_control(action, _json_object(request.body))
        except (ValueError, TypeError) as bad:
            return _json(400, {"error": str(bad)})
        return _json(200, self.state())

    def _apply_control(self, action: str, data: dict) -> None:
        if action == "fault":
            unknown = set(data) - {"fault", "campaign_id", "queue_id", "retry_after", "delay", "times", "size"}
            if unknown:
                raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}")
            if "fault" not in data:
                raise ValueError('missing "fault" (a fault name, or null to clear)')
            self.set_fault(data.pop("fault"), **data)
        elif action == "surge":
            if "drop_ratio" not in data:
                raise ValueError('missing "drop_ratio" (a ratio in [0, 1), or null to end the surge)')
            self.surge(data["drop_ratio"])
        else:
            self.set_style(data.get("style"))


def _json_object(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as bad:
        raise ValueError(f"body is not JSON: {bad}") from None
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _scope_id(name: str, value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return str(value)


def _non_negative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _json(status: int, value, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, _dumps(value), JSON, headers or [])


# --- `convoso-exporter simulate` -----------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `simulate` command's flags."""
    parser.add_argument("--web.listen-address", dest="listen", default="127.0.0.1:18080",
                        help="address to listen on (default 127.0.0.1:18080)")
    parser.add_argument("--auth-token", dest="auth_token", default="demo", help="the token clients must send (default demo)")
    parser.add_argument("--agents", type=_int_at_least(0), default=50, help="number of agents (default 50)")
    parser.add_argument("--campaigns", type=_int_at_least(1), default=3, help="number of campaigns (default 3)")
    parser.add_argument("--queues", type=_int_at_least(1), default=4, help="number of queues, at least --campaigns (default 4)")
    parser.add_argument("--skills", type=parse_skills, default=("english", "spanish", "sales", "support"),
                        help="comma-separated skills (default english,spanish,sales,support)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same contact center (default 1)")
    parser.add_argument("--style", choices=STYLES, default="documented",
                        help="documented (flat, as the reference) or live (wrapped, numbers as strings, '-' empties)")
    parser.add_argument("--latency", type=_duration, default=0.0, help="added delay per API request, e.g. 250ms (default 0)")
    parser.add_argument("--drop-ratio", dest="drop_ratio", type=_ratio, default=0.02,
                        help="share of answered calls dropped (default 0.02)")
    parser.add_argument("--leads-per-queue", dest="leads_per_queue", type=_int_at_least(1), default=5000,
                        help="dialable leads a fresh list gives a queue (default 5000)")
    parser.add_argument("--start-time", dest="start_time", type=_start_time, default=None,
                        help="simulated wall-clock time at start, e.g. 2026-11-24T14:00:00Z "
                             "(default: now); pins the time of day, e.g. so tests never cross midnight")


async def run(args: argparse.Namespace) -> int:
    """Serve until cancelled; returns 0 then. Bad settings raise ValueError, a busy port OSError."""
    host, port = parse_listen_address(args.listen)
    center = ContactCenter(
        agents=args.agents,
        campaigns=args.campaigns,
        queues=args.queues,
        skills=args.skills,
        seed=args.seed,
        drop_ratio=args.drop_ratio,
        leads_per_queue=args.leads_per_queue,
        start_wall=args.start_time,
    )
    simulator = Simulator(center, token=args.auth_token, style=args.style, latency=args.latency)
    await simulator.start(host, port)
    log.info(
        "simulator listening on %s (style %s): %d agents, campaigns %s, queues %s",
        simulator.base_url, args.style, args.agents, ",".join(center.campaign_ids()), ",".join(center.queue_ids()),
    )
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        pass  # the caller's way of saying stop (SIGINT/SIGTERM): a normal end
    finally:
        await simulator.close()
    return 0


def _int_at_least(least: int):
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return convert


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as bad:
        raise argparse.ArgumentTypeError(str(bad)) from None


def _start_time(text: str) -> float:
    """ISO 8601 (a missing zone means UTC, like the simulated day) or Unix seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ISO 8601 like 2026-11-24T14:00:00Z or Unix seconds, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a ratio like 0.02, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value
