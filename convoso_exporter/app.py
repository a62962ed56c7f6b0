"""The running exporter: wires config → client → poller → metrics → server.

Rendering happens off the scrape path: every finished poll marks the exposition
dirty, a single render task rebuilds it (coalescing bursts of poll completions)
in a worker thread, and the server only ever hands out the last finished bytes.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import signal
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from convoso_exporter import __version__
from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.config.schema import Config, ConfigError, Target
from convoso_exporter.web.http import parse_listen_address
from convoso_exporter.logs import add_secret
from convoso_exporter.expose.metrics import ExporterInfo, Exposition, MetricsRenderer
from convoso_exporter.poll.poller import Poller, TargetState
from convoso_exporter.runtime import tune_runtime
from convoso_exporter.web.routes import ExporterServer, ReloadError
from convoso_exporter.shard import select_targets
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.web.webconfig import WebConfig

log = logging.getLogger(__name__)

# Data of a failing target is served for this many poll intervals, then removed.
STALE_INTERVALS = 3
# Bursts of poll completions within this window share one render; a slow render
# widens it (RENDER_GAP_FACTOR × its duration) so rendering never eats the CPU.
RENDER_COALESCE_SECONDS = 1.0
RENDER_GAP_FACTOR = 3.0


@dataclass(frozen=True)
class RunOptions:
    listen_address: str = ":10717"
    telemetry_path: str = "/metrics"
    web_config: WebConfig | None = None
    shard: tuple[int, int] | None = None  # (index, count)


class App:
    """One exporter process. Implements the server's Backend protocol."""

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
        self._stopping = asyncio.Event()
        self._render_stale: frozenset[str] = frozenset()
        # Ready once the *served* metrics include the first poll round; it stays so
        # across reloads, so a reload never takes the exporter out of a Service.
        self._ready = False
        self.client = self._make_client(config)
        self.renderer = self._make_renderer(config)
        self.poller = Poller(
            self._targets(config),
            self.client,
            interval=config.poll_interval,
            max_backoff=config.convoso.max_backoff,
            on_change=self._on_change,
        )
        self.server = ExporterServer(self, telemetry_path=options.telemetry_path, web_config=options.web_config)
        self._exposition = self._render_now()

    # --- Backend protocol (what the server reads) ---------------------------------

    def exposition(self) -> Exposition:
        return self._exposition

    def ready(self) -> bool:
        return self._ready

    def target_states(self) -> Iterable[TargetState]:
        return self.poller.states.values()

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
            self._reload_ok = True
            self._reload_time = time.time()
            self._dirty.set()
            message = f"config reloaded: {len(self.poller.states)} targets"
            log.info(message)
            return message

    # --- lifecycle ----------------------------------------------------------------

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or `stop()`); SIGHUP reloads."""
        tune_runtime()
        for warning in self.config.warnings:
            log.warning(warning)
        host, port = parse_listen_address(self.options.listen_address)
        await self.server.start(host, port)
        log.info(
            "listening on %s (metrics at %s), polling %d targets every %gs",
            self.options.listen_address,
            self.options.telemetry_path,
            len(self.poller.states),
            self.config.poll_interval,
        )
        if self._banner:
            log.info(self._banner)
        self._install_signal_handlers()
        tasks = [asyncio.create_task(self.poller.run()), asyncio.create_task(self._render_loop())]
        await self._stopping.wait()
        log.info("shutting down")
        await self.poller.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.server.close()
        await self.client.aclose()
        return 0

    def stop(self) -> None:
        self._stopping.set()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._reload_from_signal()))

    async def _reload_from_signal(self) -> None:
        try:
            await self.reload()
        except ReloadError:
            pass  # already logged; the old config keeps running

    # --- config application -------------------------------------------------------

    def _targets(self, config: Config) -> tuple[Target, ...]:
        if self.options.shard is None:
            return config.targets
        index, count = self.options.shard
        return tuple(select_targets(config.targets, index, count))

    def _make_client(self, config: Config) -> ConvosoClient:
        settings = config.convoso
        add_secret(settings.auth_token)
        return ConvosoClient.from_settings(settings, stats=self.stats)

    def _make_renderer(self, config: Config) -> MetricsRenderer:
        return MetricsRenderer(
            agent_metrics=config.agent_metrics,
            max_agents_per_target=config.max_agents_per_target,
            stale_after=STALE_INTERVALS * config.poll_interval,
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
        if (new.agent_metrics, new.max_agents_per_target, new.poll_interval) != (
            old.agent_metrics,
            old.max_agents_per_target,
            old.poll_interval,
        ):
            self.renderer = self._make_renderer(new)
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
        self._dirty.set()

    async def _render_loop(self) -> None:
        """Render after changes, and when a target's data crosses the staleness line."""
        while True:
            try:
                await asyncio.wait_for(self._dirty.wait(), timeout=self._tick())
            except asyncio.TimeoutError:
                if self._stale_targets() == self._render_stale:
                    continue
            self._dirty.clear()
            started = time.perf_counter()
            self._exposition = await self._render_in_thread()
            took = time.perf_counter() - started
            await asyncio.sleep(max(RENDER_COALESCE_SECONDS, RENDER_GAP_FACTOR * took))

    def _tick(self) -> float:
        return max(1.0, min(5.0, self.config.poll_interval / 3))

    def _stale_targets(self) -> frozenset[str]:
        """Targets holding data the renderer no longer serves: when this set changes,
        the exposition must be rebuilt even though no poll finished."""
        now = time.time()
        return frozenset(
            name
            for name, state in self.poller.states.items()
            if state.snapshot is not None and not self.renderer.fresh(state, now)
        )

    async def _render_in_thread(self) -> Exposition:
        # Copy the states on the event loop so the worker thread sees a consistent view
        # while polls keep completing.
        states = [copy.copy(s) for s in self.poller.states.values()]
        round_done = self.poller.ready()
        stats = copy.deepcopy(self.stats)
        self._render_stale = self._stale_targets()
        renderer, info = self.renderer, self._info()
        try:
            exposition = await asyncio.to_thread(renderer.render, states, stats, time.time(), info)
        except Exception as exc:  # never let a render bug take the exporter down
            log.error("render failed, serving the previous metrics: %s: %s", type(exc).__name__, exc)
            return self._exposition
        self._ready = self._ready or round_done
        return exposition

    def _render_now(self) -> Exposition:
        return self.renderer.render(list(self.poller.states.values()), self.stats, time.time(), self._info())

    def _info(self) -> ExporterInfo:
        return ExporterInfo(
            version=__version__,
            targets=len(self.poller.states),
            reload_ok=self._reload_ok,
            reload_timestamp=self._reload_time,
        )
