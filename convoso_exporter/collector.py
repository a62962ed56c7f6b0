"""The collector process: config → client → poller → derive → render, and the pages.

Everything but serving /metrics runs here, in a process of its own (app.py forks it):
polling, parsing, deriving, rendering, the pages and the JSON (asked for by the serving
process over the channel, answered from the states held here), reloads. Every finished
poll marks the exposition dirty; a single render task rebuilds it (coalescing bursts of
poll completions) in a worker thread, seals it into a memfd and hands it to the serving
process, which only ever serves the last finished bytes (channel.py).
The readiness rule is poll/readiness.py's; the collector evaluates it on the states it
renders and hands the answer over with the exposition.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections import Counter
from typing import TYPE_CHECKING, Callable, Iterable

from convoso_exporter import __version__
from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ACCOUNT, Config, ConfigError, Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.expose.cache import Exposition, MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.logs import add_secret
from convoso_exporter.poll.discovery import Discovery
from convoso_exporter.poll.plan import budget_per_minute, plan, same_plan
from convoso_exporter.poll.poller import Poller
from convoso_exporter.poll.readiness import backbone_succeeded, readiness
from convoso_exporter.poll.state import TargetState
from convoso_exporter.channel import Channel, seal
from convoso_exporter.web.board import View
from convoso_exporter.web.http import Request, Response
from convoso_exporter.web.routes import ExporterServer, ReloadError

log = logging.getLogger(__name__)

# Bursts of poll completions within this window share one render; a slow render
# widens it (RENDER_GAP_FACTOR × its duration) so rendering never eats the CPU.
RENDER_COALESCE_SECONDS = 1.0
RENDER_GAP_FACTOR = 3.0
# How long the figures of discovered campaigns and queues may wait to be rendered together
# (at most a third of the poll interval): each render writes the whole exposition, and at
# 50,000 agents with 200 discovered targets a render per poll was a render a second.
RENDER_BATCH_SECONDS = 5.0
# Response bodies up to this size travel in the message; larger ones in a memfd.
INLINE_BODY = 32 * 1024

if TYPE_CHECKING:
    from convoso_exporter.app import RunOptions


class Collector:
    """The collector process's work. Implements the server's Backend protocol for the
    pages it answers (its ExporterServer never listens: the serving process relays)."""

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
        self._banner = banner
        self._config_loader = config_loader
        self.config = config
        self.stats = ApiStats()
        self._reload_ok = True
        self._reload_time = time.time()
        self._reload_lock = asyncio.Lock()
        self._dirty = asyncio.Event()
        self._prompt = asyncio.Event()
        self._stopping = asyncio.Event()
        self._render_stale: frozenset[str] = frozenset()
        # Finished polls (and reloads) since start: the pages redraw when it changes.
        self._generation = 0
        # Ready once the *served* metrics include the first poll round and the account
        # has answered once (see the module docstring); it stays so across reloads, so
        # a reload never takes the exporter out of a Service.
        self._ready = False
        self._backbone_ok = False  # the account target has succeeded since start
        self.client = self._make_client(config)
        self.renderer = self._make_renderer(config)
        self.discovery = Discovery(config.discovery) if config.discovery.enabled else None
        self.deriver = Deriver(config.timezone)
        self.poller = Poller(
            self._targets(config),
            self.client,
            interval=config.poll_interval,
            max_backoff=config.convoso.max_backoff,
            on_change=self._on_change,
            derive=lambda *args: self.deriver.advance(*args),
        )
        self.server = ExporterServer(self, telemetry_path=options.telemetry_path)
        self._exposition = self._render_now()
        self._channel: Channel | None = None

    # --- Backend protocol (what the server reads) ---------------------------------

    def exposition(self) -> Exposition:
        return self._exposition

    def ready(self) -> bool:
        return self._ready

    def not_ready_reason(self) -> str:
        reason = readiness(self.poller.states.values(), self._backbone_ok or backbone_succeeded(self.poller.states))
        return reason or "waiting for the metrics to include the first poll round"

    def view(self) -> View:
        states = self.poller.states  # swapped whole on every change: taken once
        return View(
            states=states,
            generation=self._generation,
            poll_interval=self.config.poll_interval,
            api_calls_per_minute=self._budget(states.values()),
            agent_metrics=self.config.agent_metrics,
            agent_names=self.config.agent_names,
            banner=self._banner,
        )

    async def reload(self) -> str:
        """Re-read the config (and token file); swap it in, or keep the old one."""
        if self._config_loader is None:
            return "nothing to reload: running without a config file"
        async with self._reload_lock:
            try:
                new = await asyncio.to_thread(self._config_loader)
            except ConfigError as exc:
                self._reload_ok = False
                self._dirty.set()
                log.error("reload failed, keeping the running config: %s", exc)
                raise ReloadError(str(exc)) from None
            self._apply(new)
            self._generation += 1
            self._reload_ok = True
            self._reload_time = time.time()
            self._dirty.set()
            message = f"config reloaded: {len(self.poller.states)} targets"
            log.info(message)
            return message

    # --- lifecycle ----------------------------------------------------------------

    async def run(self, channel: Channel) -> int:
        """Collect until the serving process says stop, or goes away; SIGTERM and SIGINT
        stop too (a Ctrl-C reaches both processes)."""
        self._channel = channel
        channel.start(self._on_message, self.stop)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        for warning in self.config.warnings:
            log.warning(warning)
        await self._hand_over(self._exposition)
        tasks = [asyncio.create_task(self.poller.run()), asyncio.create_task(self._render_loop())]
        await self._stopping.wait()
        await self.poller.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.client.aclose()
        channel.close()
        return 0

    def stop(self) -> None:
        self._stopping.set()

    # --- the channel -----------------------------------------------------------------

    def _on_message(self, message: tuple, fds: list[int]) -> None:
        for fd in fds:
            os.close(fd)
        kind = message[0]
        if kind == "request":
            asyncio.ensure_future(self._answer(*message[1:]))
        elif kind == "reload":
            asyncio.ensure_future(self._reload_for(message[1]))
        elif kind == "stop":
            self.stop()

    async def _answer(self, ident: int, request: Request) -> None:
        """A page or the JSON the serving process was asked for."""
        try:
            response = await self.server.handle(request)
        except Exception:
            log.exception("answering %s failed", request.path)
            response = Response(status=500, body=b"internal error\n")
        body = bytes(response.body)
        fds: list[int] = []
        if len(body) > INLINE_BODY:
            fd, _ = seal([[body]])
            fds, body = [fd], None
        try:
            await self._send(("response", ident, response.status, response.content_type, response.headers,
                              body, len(response.body)), fds)
        finally:
            for fd in fds:
                os.close(fd)

    async def _reload_for(self, ident: int) -> None:
        try:
            outcome = (True, await self.reload())
        except ReloadError as exc:
            outcome = (False, str(exc))
        await self._send(("reloaded", ident, *outcome))

    async def _send(self, message: tuple, fds: list[int] | None = None) -> None:
        assert self._channel is not None
        try:
            await self._channel.send(message, fds or ())
        except ConnectionError:
            self.stop()

    async def _hand_over(self, exposition: Exposition, sealed: tuple[int, list[int]] | None = None) -> None:
        """The exposition to the serving process, with the readiness it goes with."""
        fd, sizes = sealed if sealed is not None else await asyncio.to_thread(_sealed, exposition)
        try:
            reason = None if self._ready else self.not_ready_reason()
            await self._send(("exposition", exposition.series, sizes, self._ready, reason), [fd])
        finally:
            os.close(fd)
        # The bytes now live in the memfd; only the series count is read here (the landing page).
        self._exposition = Exposition(b"", b"", exposition.series)

    # --- config application -------------------------------------------------------

    def _targets(self, config: Config) -> tuple[Target, ...]:
        found = self.discovery.found.targets if self.discovery is not None else ()
        return plan(config, found, self.options.shard)

    def _make_client(self, config: Config) -> ConvosoClient:
        settings = config.convoso
        add_secret(settings.auth_token)
        return ConvosoClient.from_settings(settings, stats=self.stats)

    def _make_renderer(self, config: Config) -> MetricsRenderer:
        return MetricsRenderer(
            agent_metrics=config.agent_metrics,
            agent_names=config.agent_names,
            max_agents_per_target=config.max_agents_per_target,
        )

    def _apply(self, new: Config) -> None:
        old = self.config
        client = self.client
        if new.convoso != old.convoso:
            client = self._make_client(new)
            old_client = self.client
            # In-flight polls finish on the old client; close it once they are done.
            asyncio.get_running_loop().call_later(new.convoso.timeout + 1, lambda: asyncio.ensure_future(old_client.aclose()))
            self.client = client
        if (new.agent_metrics, new.agent_names, new.max_agents_per_target) != (
            old.agent_metrics, old.agent_names, old.max_agents_per_target
        ):
            self.renderer = self._make_renderer(new)
        if new.timezone != old.timezone:
            self.deriver = Deriver(new.timezone)
        if new.discovery != old.discovery:
            # New rules for what to poll: the next account answer rediscovers at once.
            self.discovery = Discovery(new.discovery) if new.discovery.enabled else None
        self.poller.replace(
            self._targets(new),
            client,
            interval=new.poll_interval,
            max_backoff=new.convoso.max_backoff,
        )
        for warning in new.warnings:
            log.warning(warning)
        self.config = new

    # --- rendering ----------------------------------------------------------------

    def _on_change(self, state: TargetState) -> None:
        self._generation += 1
        if state.target.kind == ACCOUNT and state.up and self.discovery is not None:
            self._discover(state)
        if state.target.keeps_agents or state.generation <= 1:
            self._prompt.set()  # the account, a custom slice, a first poll: published promptly
        self._dirty.set()

    def _discover(self, account: TargetState) -> None:
        """A discovery round from a fresh account answer: new scopes start polling now."""
        assert account.snapshot is not None and account.last_success is not None
        self.discovery.update(account.snapshot, account.last_success)
        targets = self._targets(self.config)
        if not same_plan(targets, [state.target for state in self.poller.states.values()]):
            self.poller.replace(targets)

    async def _render_loop(self) -> None:
        """Render after changes, and when a target's data crosses the staleness line."""
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
                # arrives as the wait ends, and shutdown would wait on this loop forever.
                async with asyncio.timeout(self._tick()):
                    await self._dirty.wait()
            except TimeoutError:
                if self._stale_targets() == self._render_stale:
                    continue
            # Discovered campaigns and queues poll one after another all minute long: their
            # figures wait a little to be published together (each render writes the whole
            # exposition), unless the account's answer or a first poll needs publishing.
            try:
                async with asyncio.timeout(self._batch()):
                    await self._prompt.wait()
            except TimeoutError:
                pass
            self._dirty.clear()
            self._prompt.clear()
            started = time.perf_counter()
            rendered = await self._render_in_thread()
            if rendered is not None:
                await self._hand_over(*rendered)
            took = time.perf_counter() - started
            await asyncio.sleep(max(RENDER_COALESCE_SECONDS, RENDER_GAP_FACTOR * took))

    def _batch(self) -> float:
        return min(RENDER_BATCH_SECONDS, self.config.poll_interval / 3)

    def _tick(self) -> float:
        return max(1.0, min(5.0, self.config.poll_interval / 3))

    def _stale_targets(self) -> frozenset[str]:
        """Targets holding data the renderer no longer serves: when this set changes,
        the exposition must be rebuilt even though no poll finished."""
        now = time.time()
        return frozenset(
            name for name, state in self.poller.states.items() if state.snapshot is not None and not state.fresh(now)
        )

    async def _render_in_thread(self) -> tuple[Exposition, tuple[int, list[int]]] | None:
        # Published states are immutable and the mapping is replaced whole, so taking the
        # current one is enough; the stats are still written by the client: copy them.
        current = self.poller.states
        states = list(current.values())
        self._backbone_ok = self._backbone_ok or backbone_succeeded(current)
        reason = readiness(states, self._backbone_ok)
        stats = self.stats.snapshot()
        self._render_stale = self._stale_targets()
        renderer, info = self.renderer, self._info()
        try:
            rendered = await asyncio.to_thread(_render_sealed, renderer, states, stats, time.time(), info)
        except Exception as exc:  # never let a render bug take the exporter down
            log.error("render failed, serving the previous metrics: %s: %s", type(exc).__name__, exc)
            return None
        if not self._ready and reason is None:
            self._ready = True
            log.info("ready: every target polled once and the account answered")
        return rendered

    def _render_now(self) -> Exposition:
        return self.renderer.render(list(self.poller.states.values()), self.stats, time.time(), self._info())

    def _budget(self, states: Iterable[TargetState]) -> float:
        return budget_per_minute([state.target for state in states], self.config.poll_interval)

    def _info(self) -> ExporterInfo:
        targets = [state.target for state in self.poller.states.values()]
        return ExporterInfo(
            version=__version__,
            targets=Counter(target.kind for target in targets),
            reload_ok=self._reload_ok,
            reload_timestamp=self._reload_time,
            budget_per_minute=self._budget(self.poller.states.values()),
            discovered=self.discovery.found.counts if self.discovery is not None else {},
        )


def _sealed(exposition: Exposition) -> tuple[int, list[int]]:
    return seal([[exposition.body], [exposition.gzip_body], [exposition.om_body], [exposition.om_gzip_body]])


def _render_sealed(renderer: MetricsRenderer, *args) -> tuple[Exposition, tuple[int, list[int]]]:
    """Render and seal in one worker-thread call: neither holds the event loop, and the
    pieces go straight into the memfd (no joined copy of the exposition here)."""
    parts = renderer.render_parts(*args)
    return Exposition(b"", b"", parts.series), seal(parts.bodies)
