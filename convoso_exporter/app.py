"""The running exporter: wires config → client → poller → metrics → server.

Rendering happens off the scrape path: every finished poll marks the exposition
dirty, a single render task rebuilds it (coalescing bursts of poll completions)
in a worker thread, and the server only ever hands out the last finished bytes.

Readiness (`/-/ready`) is what a Kubernetes rollout waits on, so it must not go green
on an exporter that cannot read the account: ready once the served metrics include a
finished first poll of every target AND the account target (the backbone every agent
count comes from) has succeeded at least once since start. A wrong token or host
therefore keeps a new pod unready and the rollout stalls with the old pod serving.
Once ready it stays ready (across reloads and later failures): from then on the
metrics (`convoso_up`, the alerts) say what fails, and a pod leaving its Service on
every API hiccup would only hide them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from convoso_exporter import __version__
from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ACCOUNT, Config, ConfigError, Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.expose.cache import Exposition, MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.logs import add_secret
from convoso_exporter.poll.discovery import Discovery
from convoso_exporter.poll.plan import ACCOUNT_NAME, budget_per_minute, plan, same_plan
from convoso_exporter.poll.poller import Poller
from convoso_exporter.poll.state import TargetState
from convoso_exporter.runtime import tune_runtime
from convoso_exporter.web.board import View
from convoso_exporter.web.routes import ExporterServer, ReloadError
from convoso_exporter.web.webconfig import WebConfig

log = logging.getLogger(__name__)

# Bursts of poll completions within this window share one render; a slow render
# widens it (RENDER_GAP_FACTOR × its duration) so rendering never eats the CPU.
RENDER_COALESCE_SECONDS = 1.0
RENDER_GAP_FACTOR = 3.0


@dataclass(frozen=True)
class RunOptions:
    listen_addresses: tuple[str, ...] = (":10717",)  # each one listens
    systemd_socket: bool = False  # listen on systemd's sockets instead (web/systemd.py)
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
        self.server = ExporterServer(self, telemetry_path=options.telemetry_path, web_config=options.web_config)
        self._exposition = self._render_now()

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

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or `stop()`); SIGHUP reloads."""
        tune_runtime()
        for warning in self.config.warnings:
            log.warning(warning)
        await self.server.listen(self.options.listen_addresses, self.options.systemd_socket)
        log.info(
            "listening on %s (metrics at %s), polling %d targets every %gs",
            ", ".join(self.server.addresses),
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
            name for name, state in self.poller.states.items() if state.snapshot is not None and not state.fresh(now)
        )

    async def _render_in_thread(self) -> Exposition:
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
            exposition = await asyncio.to_thread(renderer.render, states, stats, time.time(), info)
        except Exception as exc:  # never let a render bug take the exporter down
            log.error("render failed, serving the previous metrics: %s: %s", type(exc).__name__, exc)
            return self._exposition
        if not self._ready and reason is None:
            self._ready = True
            log.info("ready: every target polled once and the account answered")
        return exposition

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


def backbone_succeeded(states: Mapping[str, TargetState]) -> bool:
    """Whether the backbone has answered: the account target, where this replica polls
    it; else (a shard with discovery off) any of its targets; with no target, vacuously."""
    account = states.get(ACCOUNT_NAME)
    if account is not None:
        return account.last_success is not None
    return not states or any(state.last_success is not None for state in states.values())


def readiness(states: Iterable[TargetState], backbone_ok: bool) -> str | None:
    """None when the rule for /-/ready holds; else why not, in one line for the 503."""
    states = list(states)
    pending = [state.target.name for state in states if not state.attempted]
    if pending:
        shown = ", ".join(pending[:3]) + (", ..." if len(pending) > 3 else "")
        return f"waiting for the first poll of {len(pending)} of {len(states)} targets ({shown})"
    if not backbone_ok and states:
        account = [state for state in states if state.target.name == ACCOUNT_NAME]
        what = f"the {ACCOUNT_NAME} target has not" if account else "no target has"
        last = (account or states)[0]
        return f"{what} answered since start (last error: {last.last_error_kind}: {last.last_error})"
    return None
