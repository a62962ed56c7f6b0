"""The exporter's own HTTP endpoints.

    /              landing page: version, links, headline numbers per campaign, each target's state
    /wallboard     the live wallboard (?campaign=ID | ?queue=ID, &tv=1), see web/pages.py
    /api/v1/snapshot   the current state as JSON, schema 1 (?target=NAME), see web/snapshot.py
    /metrics       the last rendered exposition (path set by --web.telemetry-path)
    /-/healthy     200 while polling and rendering progress; 503 saying why when stuck
    /-/ready       200 once every target has been polled once and the account target has
                   answered since start (then for good); before, 503 saying why
    /-/reload      POST or PUT: re-read the config; 200, or 500 with the reason

Nothing here waits on the Convoso API: a scrape hands out bytes the app rendered after
the last poll (and their cached gzip copy); the pages and the JSON read the states the
exporter already holds. With a web config, every endpoint asks for basic auth and every
response carries the configured headers. Bad query parameters get a one-line 400.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol, Sequence

from convoso_exporter.api.errors import one_line
from convoso_exporter.web import snapshot
from convoso_exporter.web.board import View
from convoso_exporter.web.http import HttpServer, Request, Response, text_response
from convoso_exporter.web.pages import HTML_CONTENT_TYPE, NAME, landing_page, wallboard_page
from convoso_exporter.web.systemd import listen_sockets
from convoso_exporter.web.webconfig import WebConfig

if TYPE_CHECKING:
    from convoso_exporter.expose.cache import Exposition

EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
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
        """True once the served metrics include every target's first poll and the account
        target has succeeded since start; it stays True from then on."""

    def not_ready_reason(self) -> str:
        """Why `ready()` is False, in one line (never the token)."""

    def stuck(self) -> str | None:
        """None while polling and rendering progress; else why the metrics must not be
        served as live, in one line (poll/watchdog.py)."""

    def view(self) -> View:
        """The current states and what the pages show beside them, taken once."""

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
            "/wallboard": (READ_METHODS, self.wallboard),
            "/api/v1/snapshot": (READ_METHODS, self.snapshot),
            "/-/healthy": (READ_METHODS, self.healthy),
            "/-/ready": (READ_METHODS, self.ready),
            "/-/reload": (WRITE_METHODS, self.reload),
            telemetry_path: (READ_METHODS, self.metrics),
        }
        ssl_context = web_config.ssl_context if web_config else None
        self._http = HttpServer(self.handle, ssl_context=ssl_context)

    async def start(self, host: str, port: int) -> None:
        await self._http.start(host, port)

    async def listen(self, addresses: Sequence[str], systemd_socket: bool = False) -> None:
        """Listen on every address (ListenError naming one that fails), or, with
        `systemd_socket`, on the sockets systemd passed instead (SystemdSocketError)."""
        if systemd_socket:
            self._http.adopt(listen_sockets())
        else:
            await self._http.listen(addresses)

    @property
    def addresses(self) -> list[str]:
        return self._http.addresses

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
        """The last rendered exposition: OpenMetrics when the scraper asks for it (as
        Prometheus does), text 0.0.4 otherwise; gzipped when it takes gzip. All four are
        rendered and compressed beforehand: a scrape only picks one. While the exporter
        is stuck, 503: a failed scrape, never old numbers served as live."""
        stuck = self.backend.stuck()
        if stuck is not None:
            return text_response(503, one_line(f"not serving stale metrics: the exporter is stuck: {stuck}"))
        exposition = self.backend.exposition()
        headers = [("Vary", "Accept, Accept-Encoding")]
        gzip_ok = accepts_gzip(request.headers.get("accept-encoding", ""))
        if gzip_ok:
            headers.append(("Content-Encoding", "gzip"))
        if wants_openmetrics(request.headers.get("accept", "")):
            body = exposition.om_gzip_body if gzip_ok else exposition.om_body
            return Response(body=body, content_type=OPENMETRICS_CONTENT_TYPE, headers=headers)
        body = exposition.gzip_body if gzip_ok else exposition.body
        return Response(body=body, content_type=EXPOSITION_CONTENT_TYPE, headers=headers)

    async def healthy(self, request: Request) -> Response:
        stuck = self.backend.stuck()
        if stuck is not None:
            return text_response(503, one_line(f"stuck: {stuck}"))
        return text_response(200, "OK")

    async def ready(self, request: Request) -> Response:
        if self.backend.ready():
            return text_response(200, "OK")
        return text_response(503, one_line(f"not ready: {self.backend.not_ready_reason()}"))

    async def reload(self, request: Request) -> Response:
        try:
            message = await self.backend.reload()
        except ReloadError as exc:
            return text_response(500, one_line(f"reload failed: {exc}"))
        return text_response(200, one_line(message))

    async def landing_page(self, request: Request) -> Response:
        page = landing_page(
            self.backend.view(),
            version=self.backend.version,
            telemetry_path=self.telemetry_path,
            series=self.backend.exposition().series,
            now=self.wall(),
        )
        return Response(body=page.encode("utf-8"), content_type=HTML_CONTENT_TYPE, headers=[NO_STORE])

    async def wallboard(self, request: Request) -> Response:
        try:
            query = checked_query(request.query, WALLBOARD_PARAMS)
            if "campaign" in query and "queue" in query:
                raise BadQuery("give campaign or queue, not both")
        except BadQuery as bad:
            return text_response(400, f"bad request: {bad}")
        body, policy = wallboard_page()
        headers = [("Content-Security-Policy", policy), ("X-Content-Type-Options", "nosniff")]
        return Response(body=body, content_type=HTML_CONTENT_TYPE, headers=headers)

    async def snapshot(self, request: Request) -> Response:
        try:
            query = checked_query(request.query, SNAPSHOT_PARAMS)
        except BadQuery as bad:
            return json_error(400, f"bad request: {bad}")
        view, now, version = self.backend.view(), self.wall(), self.backend.version
        gzip_ok = accepts_gzip(request.headers.get("accept-encoding", ""))
        try:
            # 2,000 agents take ~60 ms to build and gzip: off the loop, so scrapes never wait
            # (the states are immutable, so another thread may read them).
            body, zipped = await asyncio.to_thread(_snapshot_body, view, now, version, query.get("target"), gzip_ok)
        except snapshot.UnknownTarget as unknown:
            return json_error(404, f"unknown target {unknown.name!r}: see the targets at /api/v1/snapshot")
        headers = [*JSON_HEADERS, ("Vary", "Accept-Encoding")] + ([("Content-Encoding", "gzip")] if zipped else [])
        return Response(body=body, content_type=snapshot.CONTENT_TYPE, headers=headers)


def _snapshot_body(view: View, now: float, version: str, target: str | None, gzip_ok: bool) -> tuple[bytes, bool]:
    """The encoded document, gzipped when the client takes it and it is worth it
    (~700 KB for 2,000 agents, ~50 KB gzipped; a wallboard asks every few seconds)."""
    body = snapshot.encode(snapshot.document(view, now=now, version=version, target=target))
    if gzip_ok and len(body) > GZIP_OVER:
        return gzip.compress(body, GZIP_LEVEL, mtime=0), True
    return body, False


def wants_openmetrics(accept: str) -> bool:
    """Whether an Accept value asks for OpenMetrics, as prometheus_client's `choose_encoder`
    decides: any `application/openmetrics-text` range without a version or with version
    1.0.0 or later, wherever it stands in the list (Prometheus lists it first with
    q=0.75); text 0.0.4 for anything else, wildcards included. One difference: a range
    refused with `q=0` is refused (RFC 9110), where choose_encoder would take it."""
    for item in accept.split(","):
        media, _, params = item.partition(";")
        if media.strip().lower() != "application/openmetrics-text" or _quality(params) <= 0:
            continue
        version = _param(params, "version")
        if version is None or _version(version) >= (1, 0, 0):
            return True
    return False


def _param(params: str, wanted: str) -> str | None:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == wanted:
            return value.strip().strip('"')
    return None


def _version(text: str) -> tuple[int, ...]:
    """"1.0.0" → (1, 0, 0); what is not a version sorts below every version."""
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return ()


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


# --- query parameters -------------------------------------------------------------------

NO_STORE = ("Cache-Control", "no-store")
GZIP_OVER = 1024  # bytes: smaller JSON answers go as they are
GZIP_LEVEL = 6
# Longest query value taken: a target name (ids are shorter) is at most 128 characters.
MAX_VALUE = 128
JSON_HEADERS = [NO_STORE, ("X-Content-Type-Options", "nosniff")]


class BadQuery(ValueError):
    """A query parameter the endpoint does not take, or a value it cannot use; one line."""


def _identifier(limit: int) -> Callable[[str], str]:
    """A value like the config's ids and target names: 1..limit printable characters, no spaces."""

    def check(value: str) -> str:
        if not value or len(value) > limit or not value.isprintable() or any(c.isspace() for c in value):
            raise BadQuery(f"expected 1 to {limit} printable characters without spaces")
        return value

    return check


def _flag(value: str) -> str:
    if value not in ("0", "1"):
        raise BadQuery("expected 0 or 1")
    return value


WALLBOARD_PARAMS = {"campaign": _identifier(MAX_VALUE), "queue": _identifier(MAX_VALUE), "tv": _flag}
SNAPSHOT_PARAMS = {"target": _identifier(MAX_VALUE)}


def checked_query(query: dict[str, str], known: dict[str, Callable[[str], str]]) -> dict[str, str]:
    """The query with every parameter checked; BadQuery names the first bad one."""
    for name, value in query.items():
        check = known.get(name)
        if check is None:
            raise BadQuery(f"unknown parameter {one_line(name)[:40]!r} (known: {', '.join(known)})")
        try:
            check(value)
        except BadQuery as bad:
            raise BadQuery(f"{name}={one_line(value)[:40]!r}: {bad}") from None
    return query


def json_error(status: int, message: str) -> Response:
    """`{"error": "..."}`: one line, for the JSON API."""
    body = json.dumps({"error": one_line(message)}, ensure_ascii=False).encode("utf-8")
    return Response(status=status, body=body + b"\n", content_type=snapshot.CONTENT_TYPE, headers=list(JSON_HEADERS))
