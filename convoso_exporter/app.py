"""The running exporter: two processes, so that a scrape never waits on a poll.

The process a user starts serves: it binds the listening address, checks TLS and basic
auth, and answers `/metrics` from the last exposition the collector handed over,
`/-/healthy` and `/-/ready` itself. Everything else runs in the collector process it
forks at start (collector.py): polling, parsing, deriving and rendering, and the pages
and JSON, which the serving process relays to it (channel.py). One CPython process shares
one GIL between serving and parsing, and a single C call that holds it (decoding a large
answer, joining a large body, a GC pass) stalled every scrape behind it: measured in
docs/benchmarks.md. The collector hands over each exposition as a sealed memfd the
serving process maps: no copy, no join, nothing on its event loop but I/O.

Readiness (`/-/ready`, the rule in poll/readiness.py) is decided by the collector on the
states it renders; the serving process answers with what came with the last exposition.

If the collector dies, the serving process logs it and exits with status 1, so that a
supervisor restarts the whole exporter; if the serving process dies, the collector
sees the channel close (and gets SIGTERM from the kernel) and stops.
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Callable

from convoso_exporter import __version__
from convoso_exporter.channel import Channel, mapped, socket_pair, unsupported
from convoso_exporter.collector import Collector
from convoso_exporter.config.schema import Config
from convoso_exporter.expose.cache import Exposition
from convoso_exporter.poll.plan import plan
from convoso_exporter.runtime import tune_runtime
from convoso_exporter.web.board import View
from convoso_exporter.web.http import Request, Response
from convoso_exporter.web.routes import ExporterServer, ReloadError
from convoso_exporter.web.webconfig import WebConfig

log = logging.getLogger(__name__)

# How long the collector may take to hand over its first exposition (rendered at start).
FIRST_EXPOSITION_SECONDS = 60.0
# How long the collector gets to stop after the serving process asks it to.
STOP_GRACE_SECONDS = 3.0
# How long a relayed page or reload may take before the serving process gives up on it.
RELAY_TIMEOUT_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class RunOptions:
    listen_addresses: tuple[str, ...] = (":10717",)  # each one listens
    systemd_socket: bool = False  # listen on systemd's sockets instead (web/systemd.py)
    telemetry_path: str = "/metrics"
    web_config: WebConfig | None = None
    shard: tuple[int, int] | None = None  # (index, count)


class App:
    """The serving process. Implements the server's Backend protocol: the exposition and
    readiness from the collector's last hand-over; pages and reloads relayed to it."""

    version = __version__

    def __init__(
        self,
        config: Config,
        options: RunOptions,
        *,
        config_loader: Callable[[], Config] | None = None,
        banner: str | None = None,
    ) -> None:
        self.options = options
        self.config = config
        self._config_loader = config_loader
        self._banner = banner
        self._exposition = Exposition(b"", b"", 0)
        self._ready = False
        self._reason = "waiting for the collector's first render"
        self._stopping = asyncio.Event()
        self._first = asyncio.Event()
        self._failed = False
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._channel: Channel | None = None
        self._collector_pid: int | None = None
        self._mapping = _Sequence()  # hand-overs are taken in the order they came
        self.server = ExporterServer(self, telemetry_path=options.telemetry_path, web_config=options.web_config,
                                     relay=self._relay)

    # --- Backend protocol -----------------------------------------------------------

    def exposition(self) -> Exposition:
        return self._exposition

    def ready(self) -> bool:
        return self._ready

    def not_ready_reason(self) -> str:
        return self._reason

    def view(self) -> View:
        raise RuntimeError("the pages are the collector's: relayed, never built here")

    async def reload(self) -> str:
        ok, message = await self._ask("reload")
        if not ok:
            raise ReloadError(message)
        return message

    # --- lifecycle ------------------------------------------------------------------

    async def run(self) -> int:
        """Fork the collector, then serve until SIGTERM/SIGINT (or `stop()`); SIGHUP reloads."""
        problem = unsupported()
        if problem is not None:
            log.error(problem)
            return 1
        tune_runtime()  # before the fork: what start-up allocated is frozen in both processes
        ours, theirs = socket_pair()
        pid = os.fork()
        if pid == 0:  # the collector; never returns
            ours.close()
            os._exit(_collect(theirs, self.config, self.options, self._config_loader, self._banner))
        theirs.close()
        self._collector_pid = pid
        self._channel = Channel(ours)
        self._channel.start(self._on_message, self._collector_gone)
        try:
            # Serve nothing before the first exposition: /metrics is never empty.
            await asyncio.wait_for(self._first.wait(), FIRST_EXPOSITION_SECONDS)
            if self._failed:
                await self._stop_collector()
                return 1
            await self.server.listen(self.options.listen_addresses, self.options.systemd_socket)
        except BaseException:
            await self._stop_collector()
            raise
        targets = len(plan(self.config, (), self.options.shard))
        log.info(
            "listening on %s (metrics at %s), polling %d %s every %gs%s",
            ", ".join(self.server.addresses),
            self.options.telemetry_path,
            targets,
            "target" if targets == 1 else "targets",
            self.config.poll_interval,
            "; discovery adds the campaigns and queues it finds" if self.config.discovery.enabled else "",
        )
        if self._banner:
            log.info(self._banner)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._reload_from_signal()))
        await self._stopping.wait()
        log.info("shutting down")
        await self.server.close()
        await self._stop_collector()
        return 1 if self._failed else 0

    def stop(self) -> None:
        self._stopping.set()

    async def _reload_from_signal(self) -> None:
        try:
            await self.reload()
        except ReloadError:
            pass  # the collector logged it; the old config keeps running

    async def _stop_collector(self) -> None:
        pid, channel = self._collector_pid, self._channel
        if pid is None:
            return
        self._stopping.set()  # the channel closing now is expected
        if channel is not None:
            try:
                await asyncio.wait_for(channel.send(("stop",)), 1.0)
            except (ConnectionError, OSError, TimeoutError):
                pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            await asyncio.sleep(0.02)
        else:
            log.warning("the collector did not stop within %gs; killed", STOP_GRACE_SECONDS)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self._collector_pid = None
        if channel is not None:
            channel.close()

    def _collector_gone(self) -> None:
        if self._stopping.is_set():
            return
        if not self._first.is_set():
            self._first.set()  # run() then stops instead of waiting
        log.error("the collector process has exited: stopping, so that the exporter is restarted whole")
        self._failed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the collector process has exited"))
        self.stop()

    # --- the channel ----------------------------------------------------------------

    def _on_message(self, message: tuple, fds: list[int]) -> None:
        kind = message[0]
        if kind == "exposition":
            self._mapping = self._mapping.then(self._take(message, fds[0]))
            return
        future = self._pending.pop(message[1], None)
        payload = message[2:]
        if kind == "response" and fds:
            status, content_type, headers, _, size = payload
            payload = (status, content_type, headers, mapped(fds[0], [size])[0], size)
        else:
            for fd in fds:
                os.close(fd)
        if future is not None and not future.done():
            future.set_result(payload)

    async def _take(self, message: tuple, fd: int) -> None:
        """Serve the handed-over exposition from now on. Mapped in a thread (the mmap
        call, populating the page tables, releases the GIL): scrapes go on meanwhile."""
        _, series, sizes, ready, reason = message
        body, gzip_body, om_body, om_gzip_body = await asyncio.to_thread(mapped, fd, sizes, True)
        self._exposition = Exposition(body, gzip_body, series, om_body, om_gzip_body)
        self._ready = ready
        self._reason = reason or "waiting for the metrics to include the first poll round"
        self._first.set()

    async def _ask(self, kind: str, *args) -> tuple:
        if self._channel is None:
            raise ConnectionError("the collector is not running")
        ident = next(self._ids)
        future = self._pending[ident] = asyncio.get_running_loop().create_future()
        try:
            await self._channel.send((kind, ident, *args))
            return await asyncio.wait_for(future, RELAY_TIMEOUT_SECONDS)
        finally:
            self._pending.pop(ident, None)

    async def _relay(self, request: Request) -> Response:
        """A page or the JSON, from the collector (which holds the states)."""
        relayed = Request(request.method, request.path, request.query, request.headers, b"")
        try:
            status, content_type, headers, body, _ = await self._ask("request", relayed)
        except (ConnectionError, TimeoutError) as exc:
            return Response(status=503, body=f"the collector cannot answer: {exc}\n".encode())
        return Response(status=status, body=body, content_type=content_type, headers=list(headers))


class _Sequence:
    """Runs coroutines one after another, each after the one before has ended."""

    def __init__(self) -> None:
        self._last: asyncio.Future | None = None

    def then(self, coroutine) -> _Sequence:
        previous = self._last

        async def after() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await coroutine

        self._last = asyncio.ensure_future(after())
        return self


def _collect(sock, config: Config, options: RunOptions, loader: Callable[[], Config] | None,
             banner: str | None) -> int:
    """The collector process, just forked from the serving one (inside its event loop)."""
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the serving process relays reloads
        _die_with_parent()
        asyncio.set_event_loop(None)
        asyncio.events._set_running_loop(None)  # forked inside the serving process's loop
        collector = Collector(config, options, config_loader=loader, banner=banner)
        return asyncio.run(collector.run(Channel(sock)))
    except BaseException:
        log.exception("the collector failed")
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _die_with_parent() -> None:
    """SIGTERM from the kernel if the serving process dies (the channel closing says so
    too, but only once this process reads it)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
