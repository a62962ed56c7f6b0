"""The simulator's HTTP front: the Convoso Agent Monitor API on loopback, with faults
on demand and a small control endpoint; plus the `convoso-exporter simulate` command.

API (like the live service): `POST /v1/agent-monitor/search`,
`POST /v1/agent-monitor/logout`, `POST /v1/user-activity/search` (`scope.activity`) and
`POST /v1/agent-performance/search` (`performance.py`), form body, `auth_token` in the
query or the body.
A wrong or missing token answers HTTP 200 `{"success": false, "error": "Invalid
authentication token"}` (documented); other methods answer 405; unknown paths 404
with an HTML page.

Faults (`Simulator.set_fault` or `POST /_sim/fault`; `faults.py`), each optionally
scoped to the requests that filter by one campaign_id and/or queue_id, and optionally
healing after `times` requests:
  401, 403, 429 (Retry-After), 500, 502_html, slow (answer after `delay` s),
  truncated (JSON cut in half, Content-Length matching the cut body), reset
  (connection reset mid-body), too_large (a body over `size` bytes), not_json,
  wrong_shape (root is an array), and the search-only content faults
  agents_null, keyed_by_id, strings, unknown_status, hostile_names, scopes_keyed,
  glitch (see render.py); user-activity answers can carry `strings`, agent-performance
  answers `strings` and `keyed_by_id`. A fault scoped to a campaign or queue meets an
  agent-performance request whose `campaign_ids`/`queue_ids` is that one id.
A request meets at most one fault: the most specific match wins. Faults apply
before the token check (a broken server does not read tokens).

Count styles (`--count-style`, `/_sim/style {"count_style": ...}`; render.py): how the
answers' own agent_* counts are made, documented or by another rule.
Denied endpoints (`--deny-endpoint`, `POST /_sim/deny`): a token without the permission
for user-activity or agent-performance search; a request with a good token answers
HTTP 403 (or 200, as asked) with `success: false` (`faults.denial`), the other
endpoints as usual.

Control endpoint (`control.py`): `/_sim/fault`, `/_sim/surge`, `/_sim/style`,
`/_sim/campaign` and `/_sim/queue` (add and remove at run time), `/_sim/state`,
`/_sim/truth` (the ground truth), `/_sim/machines`, `/_sim/deny`. `requests_served`
counts API requests (not control requests), `requests_by_endpoint` per endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from convoso_exporter.simulator import control, performance
from convoso_exporter.simulator.center import ContactCenter, NotFound, parse_skills
from convoso_exporter.simulator.faults import (
    ANSWERING_FAULTS,
    CONTENT_FAULTS,
    DEFAULT_SLOW_DELAY,
    FAULTS,
    FaultBook,
    check_denied,
    denial,
    non_negative,
)
from convoso_exporter.simulator.render import COUNT_STYLES, STYLES, Renderer, all_strings
from convoso_exporter.simulator.scope import activity
from convoso_exporter.simulator.transport import SimulatorTransport
from convoso_exporter.web.cutshort import CutShort, CutShortServer
from convoso_exporter.web.http import Request, Response, parse_listen_address
from convoso_exporter.web.vendor_http import (
    INVALID_TOKEN,
    JSON,
    dumps,
    json_response,
    method_not_allowed,
    not_found_page,
    token_ok,
)

__all__ = ["FAULTS", "Simulator", "run"]

log = logging.getLogger(__name__)

SEARCH_PATH = "/v1/agent-monitor/search"
LOGOUT_PATH = "/v1/agent-monitor/logout"
ACTIVITY_PATH = "/v1/user-activity/search"
PERFORMANCE_PATH = "/v1/agent-performance/search"
# API path -> endpoint name (request counts, denial).
ENDPOINTS = {
    SEARCH_PATH: "search", LOGOUT_PATH: "logout", ACTIVITY_PATH: "user_activity", PERFORMANCE_PATH: "performance",
}
# The content faults each endpoint's answers can carry.
ENDPOINT_CONTENT = {
    "search": CONTENT_FAULTS, "logout": (), "user_activity": ("strings",), "performance": performance.CONTENT_FAULTS,
}


class Simulator:
    """The simulated API over real loopback HTTP, for tests, benchmarks and the demo."""

    def __init__(
        self, center: ContactCenter, *, token: str = "demo", style: str = "documented", latency: float = 0.0,
        count_style: str = "documented", deny: tuple[str, ...] = (),
    ) -> None:
        if not token:
            raise ValueError("the simulator needs a non-empty auth token")
        self.center = center
        self._token = token
        self._renderer = Renderer(center)
        self._http = CutShortServer(self.handle)
        self._faults = FaultBook()
        self._host = "127.0.0.1"
        self.set_style(style)
        self.set_count_style(count_style)
        self.set_latency(latency)
        self._denied: dict[str, int] = {}
        self.deny(deny)
        self.requests_served = 0
        self.requests_by_endpoint = dict.fromkeys(ENDPOINTS.values(), 0)

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

    def set_count_style(self, count_style: str) -> None:
        """How the answers' own agent_* counts are made (render.py `COUNT_STYLES`)."""
        if not isinstance(count_style, str) or count_style not in COUNT_STYLES:
            raise ValueError(f"count_style must be one of {', '.join(COUNT_STYLES)}, got {count_style!r}")
        self.count_style = count_style

    def set_latency(self, seconds: float) -> None:
        self.latency = non_negative("latency", seconds)

    def surge(self, ratio: float | None) -> None:
        """Raise the drop ratio (e.g. 0.2); None goes back to the configured one."""
        self.center.set_drop_ratio(ratio)

    def set_machine_share(self, share: float | None) -> None:
        """The share of answered calls a machine answers; None: back to the configured one."""
        self.center.set_machine_share(share)

    def deny(self, endpoints, status: int = 403) -> None:
        """The token loses the permission for these endpoints ("performance",
        "user_activity"), answered with HTTP `status` (403 or 200); () gives every one back."""
        self._denied = dict.fromkeys(check_denied(endpoints, status), status)

    def set_fault(self, fault: str | None, **options) -> None:
        """Break (or with None, heal) the API for one scope; `fault=None` with no scope
        heals all. Options: campaign_id, queue_id, retry_after, delay, times, size
        (`FaultBook.set`)."""
        self._faults.set(fault, **options)

    def clear_faults(self) -> None:
        self._faults.set(None)

    def faults(self) -> list[dict]:
        self._faults.forget(*self.center.removed_ids())
        return self._faults.listed()

    def state(self) -> dict:
        center = self.center
        return {
            "campaigns": center.campaigns(),
            "queues": center.queues(),
            "agents": center.agent_ids(),
            "skills": list(center.skills),
            "timezone": center.timezone,
            "style": self.style,
            "count_style": self.count_style,
            "latency": self.latency,
            "drop_ratio": center.drop_ratio,
            "machine_share": center.machine_share,
            "faults": self.faults(),
            "denied": dict(self._denied),
            "requests_served": self.requests_served,
            "requests_by_endpoint": dict(self.requests_by_endpoint),
            "connections_opened": self.connections_opened,
        }

    def token_ok(self, given: str | None) -> bool:
        return token_ok(given, self._token)

    # --- requests -------------------------------------------------------------------

    def transport(self) -> SimulatorTransport:
        """An httpx transport serving this simulator in-process, without sockets
        (`transport.py`): `ConvosoClient(url, token, transport=sim.transport())`."""
        return SimulatorTransport(self)

    async def handle(self, request: Request) -> Response:
        """One request, as the HTTP server (or the in-process transport) hands it over."""
        endpoint = ENDPOINTS.get(request.path)
        if endpoint is not None:
            return await self._api(request, endpoint)
        if request.path.startswith("/_sim/"):
            return control.handle(self, request)
        return not_found_page()

    async def _api(self, request: Request, endpoint: str) -> Response:
        self.requests_served += 1
        self.requests_by_endpoint[endpoint] += 1
        if request.method != "POST":
            return method_not_allowed()
        if self.latency:
            await asyncio.sleep(self.latency)
        form = request.form()
        params = {**request.query, **form}
        self._faults.forget(*self.center.removed_ids())
        fault = self._faults.take(_fault_scope(endpoint, params), content=ENDPOINT_CONTENT[endpoint])
        if fault is not None and fault.name == "slow":
            await asyncio.sleep(DEFAULT_SLOW_DELAY if fault.delay is None else fault.delay)
        elif fault is not None and fault.name not in ANSWERING_FAULTS:
            return self._faults.response(fault)
        if not (self.token_ok(request.query.get("auth_token")) or self.token_ok(form.get("auth_token"))):
            return json_response(200, INVALID_TOKEN)
        if endpoint in self._denied:
            return denial(endpoint, self._denied[endpoint])
        content = fault.name if fault is not None and fault.name in CONTENT_FAULTS else None
        body = self._answer(endpoint, params, content)
        if fault is not None and fault.name == "truncated":
            return Response(200, body[: len(body) // 2], JSON)
        if fault is not None and fault.name == "reset":
            return CutShort(200, body, JSON, sent=len(body) // 2)
        return Response(200, body, JSON)

    def _answer(self, endpoint: str, params: dict[str, str], content_fault: str | None) -> bytes:
        if endpoint == "logout":
            return dumps(self.center.logout(params.get("user_id")))
        if endpoint == "performance":
            return dumps(performance.search(self.center, params, self.style, content_fault))
        try:
            selection = self.center.select(
                params.get("campaign_id"),
                params.get("queue_id"),
                params.get("user_id"),
                parse_skills(params.get("filter_by_skill_options")),
            )
        except NotFound as missing:
            return dumps(missing.as_dict())
        if endpoint == "search":
            return self._renderer.search(selection, self.style, content_fault, self.count_style)
        self.center.now()
        answer = {"success": True, "data": activity(selection)}
        return dumps(all_strings(answer) if content_fault == "strings" else answer)


def _fault_scope(endpoint: str, params: dict[str, str]) -> dict[str, str]:
    """What a fault's campaign/queue scope is matched against: agent-performance names
    its filters `campaign_ids`/`queue_ids`."""
    if endpoint == "performance":
        return {"campaign_id": params.get("campaign_ids", ""), "queue_id": params.get("queue_ids", "")}
    return params


# --- `convoso-exporter simulate` -----------------------------------------------------


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
        machine_share=args.machine_share,
        leads_per_queue=args.leads_per_queue,
        start_wall=args.start_time,
        timezone=args.timezone,
    )
    simulator = Simulator(center, token=args.auth_token, style=args.style, latency=args.latency,
                          count_style=args.count_style, deny=tuple(args.deny))
    await simulator.start(host, port)
    log.info(
        "simulator listening on %s (style %s, count style %s, timezone %s): %d agents, campaigns %s, queues %s",
        simulator.base_url, args.style, args.count_style, center.timezone, args.agents, ",".join(center.campaign_ids()),
        ",".join(center.queue_ids()),
    )
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        pass  # the caller's way of saying stop (SIGINT/SIGTERM): a normal end
    finally:
        await simulator.close()
    return 0
