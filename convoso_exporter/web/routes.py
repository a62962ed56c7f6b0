"""The exporter's own HTTP endpoints.

    /              landing page: version, a link to the metrics, each target's state
    /metrics       the last rendered exposition (path set by --web.telemetry-path)
    /-/healthy     200 while the process serves
    /-/ready       200 after the first poll round, 503 before
    /-/reload      POST or PUT: re-read the config; 200, or 500 with the reason

Nothing here waits on the Convoso API: a scrape hands out bytes the app rendered after
the last poll (and their cached gzip copy). With a web config, every endpoint asks for
basic auth and every response carries the configured headers.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Awaitable, Callable, Iterable, Protocol

from convoso_exporter.api.parse import one_line
from convoso_exporter.config.schema import Target
from convoso_exporter.web.http import HttpServer, Request, Response, text_response
from convoso_exporter.poll.state import TargetState
from convoso_exporter.web.webconfig import WebConfig

if TYPE_CHECKING:
    from convoso_exporter.expose.cache import Exposition

NAME = "convoso-exporter"
EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
AUTH_CHALLENGE = ("WWW-Authenticate", f'Basic realm="{NAME}"')
READ_METHODS = ("GET", "HEAD")
WRITE_METHODS = ("POST", "PUT")


class ReloadError(Exception):
    """The new config was refused (the old one keeps running); one-line reason."""


class Backend(Protocol):
    """What the server reads from the running exporter (implemented by the app)."""

    version: str

    def exposition(self) -> Exposition:
        """The latest rendered metrics; never blocks, never calls the API."""

    def ready(self) -> bool:
        """True once the served metrics include every target's first poll."""

    def target_states(self) -> Iterable[TargetState]: ...

    async def reload(self) -> str:
        """Re-read the config; a short success message, or ReloadError."""


Endpoint = Callable[[Request], Awaitable[Response]]


class ExporterServer:
    def __init__(
        self,
        backend: Backend,
        *,
        telemetry_path: str = "/metrics",
        web_config: WebConfig | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.telemetry_path = telemetry_path
        self.web_config = web_config
        self.wall = wall
        self.routes: dict[str, tuple[tuple[str, ...], Endpoint]] = {
            "/": (READ_METHODS, self.landing_page),
            "/-/healthy": (READ_METHODS, self.healthy),
            "/-/ready": (READ_METHODS, self.ready),
            "/-/reload": (WRITE_METHODS, self.reload),
            telemetry_path: (READ_METHODS, self.metrics),
        }
        ssl_context = web_config.ssl_context if web_config else None
        self._http = HttpServer(self.handle, ssl_context=ssl_context)

    async def start(self, host: str, port: int) -> None:
        await self._http.start(host, port)

    @property
    def port(self) -> int:
        return self._http.port

    async def close(self) -> None:
        await self._http.close()

    async def handle(self, request: Request) -> Response:
        response = await self._route(request)
        if self.web_config:
            response.headers.extend(self.web_config.headers)
        return response

    async def _route(self, request: Request) -> Response:
        # Authentication comes first, so an anonymous client cannot even probe which paths exist.
        if self.web_config and not await self.web_config.authorized(request.headers.get("authorization")):
            return text_response(401, headers=[AUTH_CHALLENGE])
        route = self.routes.get(request.path)
        if route is None:
            return text_response(404)
        methods, endpoint = route
        if request.method not in methods:
            return text_response(405, headers=[("Allow", ", ".join(methods))])
        return await endpoint(request)

    # --- endpoints --------------------------------------------------------------------

    async def metrics(self, request: Request) -> Response:
        exposition = self.backend.exposition()
        headers = [("Vary", "Accept-Encoding")]
        if accepts_gzip(request.headers.get("accept-encoding", "")):
            headers.append(("Content-Encoding", "gzip"))
            return Response(body=exposition.gzip_body, content_type=EXPOSITION_CONTENT_TYPE, headers=headers)
        return Response(body=exposition.body, content_type=EXPOSITION_CONTENT_TYPE, headers=headers)

    async def healthy(self, request: Request) -> Response:
        return text_response(200, "OK")

    async def ready(self, request: Request) -> Response:
        if self.backend.ready():
            return text_response(200, "OK")
        return text_response(503, "not ready: waiting for the first poll round")

    async def reload(self, request: Request) -> Response:
        try:
            message = await self.backend.reload()
        except ReloadError as exc:
            return text_response(500, one_line(f"reload failed: {exc}"))
        return text_response(200, one_line(message))

    async def landing_page(self, request: Request) -> Response:
        page = render_landing_page(
            version=self.backend.version,
            telemetry_path=self.telemetry_path,
            series=self.backend.exposition().series,
            states=self.backend.target_states(),
            now=self.wall(),
        )
        return Response(body=page.encode("utf-8"), content_type=HTML_CONTENT_TYPE)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value allows gzip (`gzip;q=0` refuses it, `*` allows it)."""
    wildcard = False
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            return _quality(params) > 0
        if coding == "*":
            wildcard = _quality(params) > 0
    return wildcard


def _quality(params: str) -> float:
    """The q value of `;q=0.5` style parameters: 1 when absent, 0 when malformed."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


# --- landing page ---------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{name}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
.up {{ color: #1a7f37; }} .down {{ color: #cf222e; }} .pending {{ color: #9a6700; }}
</style>
</head>
<body>
<h1>{name}</h1>
<p>Prometheus exporter for the Convoso contact-center API, version {version}.</p>
<p><a href="{telemetry_path}">Metrics</a> ({series} series) &middot;
<a href="/-/healthy">/-/healthy</a> &middot; <a href="/-/ready">/-/ready</a></p>
<p>The Convoso API is polled in the background; a scrape serves the last poll's data.</p>
<h2>Targets</h2>
<table>
<tr><th>target</th><th>filter</th><th>state</th><th>last success</th><th>last poll</th><th>last error</th></tr>
{rows}
</table>
</body>
</html>
"""

ROW = (
    '<tr><td>{name}</td><td>{filter}</td><td class="{state}">{state}</td>'
    "<td>{success}</td><td>{duration}</td><td>{error}</td></tr>"
)


def render_landing_page(
    *, version: str, telemetry_path: str, series: int, states: Iterable[TargetState], now: float
) -> str:
    rows = "\n".join(_row(state, now) for state in states) or '<tr><td colspan="6">no targets</td></tr>'
    return PAGE.format(
        name=NAME,
        version=html.escape(version),
        telemetry_path=html.escape(telemetry_path),
        series=series,
        rows=rows,
    )


def _row(state: TargetState, now: float) -> str:
    return ROW.format(
        name=html.escape(state.target.name),
        filter=html.escape(describe_filter(state.target)),
        state=_state_word(state),
        success="never" if state.last_success is None else f"{format_age(now - state.last_success)} ago",
        duration="" if state.last_duration is None else f"{state.last_duration:.3f} s",
        error=html.escape(state.last_error or ""),
    )


def _state_word(state: TargetState) -> str:
    if not state.attempted:
        return "pending"
    return "up" if state.up else "down"


def describe_filter(target: Target) -> str:
    """`campaign_id=111 skills=english,spanish`, or `whole account` for no filter."""
    parts = [f"{key}={','.join(value) if key == 'skills' else value}" for key, value in target.filters().items()]
    return " ".join(parts) or "whole account"


def format_age(seconds: float) -> str:
    """12s, 3m 4s, 2h 5m, 3d 4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"
