"""The running exporter, in one process: config → client → poller → derive → render →
server, on one event loop.

A scrape never waits on a poll: the server hands out the last `Published` exposition
(publisher.py), rendered in a worker thread after polls finish and written to the socket
from its pieces. Measured against a forked collector that handed each exposition to a
serving process (docs/benchmarks.md, "One process or two"): at 50,000 agents the worst
scrape stays well under a second in one process, which then runs wherever Python runs.

The app watches its own progress (poll/watchdog.py): while polling or rendering is
stuck, /metrics and /-/healthy answer 503 instead of serving old numbers as live, and
if it stays stuck the process exits with status 1 for its supervisor to restart it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import httpx

from convoso_exporter import __version__
from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.errors import AccessDenied
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ACCOUNT, ENDPOINT_KINDS, Config, ConfigError, Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.expose.cache import Exposition, MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.logs import add_secret
from convoso_exporter.poll.calls import Calls
from convoso_exporter.poll.discovery import Discovery
from convoso_exporter.poll.endpoints import Endpoints
from convoso_exporter.poll.plan import plan, same_plan
from convoso_exporter.poll.poller import Poller
from convoso_exporter.poll.state import TargetState
from convoso_exporter.poll.watchdog import Watchdog, bound
from convoso_exporter.publisher import Frame, Publisher
from convoso_exporter.runtime import tune_runtime
from convoso_exporter.web.board import View
from convoso_exporter.web.routes import ExporterServer, ReloadError
from convoso_exporter.web.systemd import Notifier
from convoso_exporter.web.webconfig import WebConfig

log = logging.getLogger(__name__)

# How often the app looks at its own progress (and feeds systemd's watchdog at most).
WATCH_SECONDS = 1.0


@dataclass(frozen=True)
class RunOptions:
    listen_addresses: tuple[str, ...] = (":10717",)  # each one listens
    systemd_socket: bool = False  # listen on systemd's sockets instead (web/systemd.py)
    telemetry_path: str = "/metrics"
    web_config: WebConfig | None = None
    shard: tuple[int, int] | None = None  # (index, count)


class App:
    """Implements the server's Backend protocol (web/routes.py) from what it holds."""

    version = __version__

    def __init__(
        self,
        config: Config,
        options: RunOptions,
        *,
        config_loader: Callable[[], Config] | None = None,
        banner: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        poll_log: logging.Logger | None = None,
    ) -> None:
        self.options = options
        self._clock = clock  # the watchdog's (the poller's progress is in time.monotonic)
        # `wall`, `transport` and `poll_log`: for running the app's own wiring in-process on
        # what a recording holds (record/expect.py), at the time it was taken.
        self._wall = wall
        self._transport = transport
        self.config = config
        self._config_loader = config_loader
        self._banner = banner
        self.stats = ApiStats()
        self._reload_ok = True
        self._reload_time = time.time()
        self._reload_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._exit_status = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Finished polls (and reloads) since start: the pages redraw when it changes.
        self._generation = 0
        self.client = self._make_client(config)
        self.renderer = self._make_renderer(config)
        self.discovery = Discovery(config.discovery) if config.discovery.enabled else None
        self.deriver = self._make_deriver(config)
        # The optional endpoints: on or off (the config, the token's refusals), and what a
        # poll asks for each kind of target (the account's day in its time zone).
        self.endpoints = Endpoints(config, wall)
        self.calls = Calls(config.timezone)
        self.poller = Poller(
            self._targets(config),
            self.client,
            interval=config.poll_interval,
            max_backoff=config.convoso.max_backoff,
            on_change=self._on_change,
            derive=lambda *args: self.deriver.advance(*args),
            max_requests_per_minute=config.convoso.max_requests_per_minute,
            wall=wall,
            logger=poll_log,
            call=lambda *args: self.calls(*args),
        )
        self.publisher = Publisher(self._frame, interval=lambda: self.config.poll_interval,
                                   states=lambda: self.poller.states, wall=wall)
        self.watchdog = Watchdog(bound(config.poll_interval, config.convoso.timeout))
        self.server = ExporterServer(self, telemetry_path=options.telemetry_path, web_config=options.web_config)

    # --- Backend protocol -----------------------------------------------------------

    def exposition(self) -> Exposition:
        return self.publisher.published.exposition

    def ready(self) -> bool:
        return self.publisher.published.readiness.ready

    def not_ready_reason(self) -> str:
        return self.publisher.published.readiness.reason or ""

    def stuck(self) -> str | None:
        stopped = next((f"the {name}" for name, task in self._tasks.items() if task.done()), None)
        return self.watchdog.verdict(self.poller.progress(), self.publisher.pending_since, self._clock(), stopped)

    def view(self) -> View:
        states = self.poller.states  # swapped whole on every change: taken once
        return View(
            states=states,
            generation=self._generation,
            poll_interval=self.config.poll_interval,
            api_calls_per_minute=self.poller.stretch.planned_total,
            agent_metrics=self.config.agent_metrics,
            agent_names=self.config.agent_names,
            banner=self._banner,
            drift=self.stats.drift.report(),
            endpoints=self.endpoints.statuses(),
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
                self.publisher.changed(prompt=True)
                log.error("reload failed, keeping the running config: %s", exc)
                raise ReloadError(str(exc)) from None
            self._apply(new)
            self._generation += 1
            self._reload_ok = True
            self._reload_time = time.time()
            self.publisher.changed(prompt=True)
            message = f"config reloaded: {len(self.poller.states)} targets"
            log.info(message)
            return message

    # --- lifecycle ------------------------------------------------------------------

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or `stop()`); SIGHUP reloads. Exit status 1 when
        the watchdog gave up on a stuck exporter."""
        tune_runtime()
        for warning in self.config.warnings:
            log.warning(warning)
        await self.server.listen(self.options.listen_addresses, self.options.systemd_socket)
        self._log_start()
        loop = asyncio.get_running_loop()
        self._handle_signals(loop)
        self._tasks = {"poller": loop.create_task(self.poller.run()),
                       "render loop": loop.create_task(self.publisher.run())}
        watch = loop.create_task(self._watch(Notifier()))
        await self._stopping.wait()
        log.info("shutting down")
        watch.cancel()
        await self.server.close()
        await self.poller.stop()
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(watch, *self._tasks.values(), return_exceptions=True)
        await self.client.aclose()
        return self._exit_status

    def stop(self) -> None:
        self._stopping.set()

    async def poll_all_once(self) -> None:
        """One poll of every target, the account first (its answer discovers the others),
        without the loop: what the app makes of one round, e.g. of a recording's answers."""
        account = next((name for name, s in self.poller.states.items() if s.target.kind == ACCOUNT), None)
        if account is not None:
            await self.poller.poll_once(account)
        for name in list(self.poller.states):
            if name != account:
                await self.poller.poll_once(name)

    def render_now(self) -> Exposition:
        """The exposition of what is held now, rendered on the spot (joined)."""
        frame = self._frame()
        return frame.renderer.render(frame.states.values(), frame.stats, self._wall(), frame.info)

    def _handle_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        """SIGTERM and SIGINT stop, SIGHUP reloads. Where the loop takes no signal handlers
        (Windows), Ctrl-C still stops (KeyboardInterrupt) and /-/reload still reloads."""
        wanted = [(signal.SIGTERM, self.stop), (signal.SIGINT, self.stop)]
        if hasattr(signal, "SIGHUP"):
            wanted.append((signal.SIGHUP, lambda: asyncio.ensure_future(self._reload_from_signal())))
        for sig, handler in wanted:
            try:
                loop.add_signal_handler(sig, handler)
            except (NotImplementedError, RuntimeError):
                log.debug("no handler for %s on this system", sig.name)

    def _log_start(self) -> None:
        targets = len(self.poller.states)
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

    async def _watch(self, notifier: Notifier) -> None:
        """Look at the work's progress every second: log when it gets stuck and when it
        recovers, feed systemd's watchdog only while it progresses, and exit (status 1)
        once stuck for a second bound, so that a supervisor restarts the exporter."""
        notifier.notify("READY=1")
        stuck_since: float | None = None
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            now, reason = self._clock(), self.stuck()
            if reason is None:
                if stuck_since is not None:
                    log.info("progressing again: serving the metrics")
                stuck_since = None
                # Fed on every look while progressing: the sleep above spaces the looks
                # WATCH_SECONDS apart, so a throttle at min(interval, WATCH_SECONDS) never bit.
                if notifier.interval is not None:
                    notifier.notify("WATCHDOG=1")
                continue
            if stuck_since is None:
                stuck_since = now
                log.error("stuck: %s; /metrics and /-/healthy answer 503 until it progresses", reason)
            if now - stuck_since > self.watchdog.bound:
                log.error("still stuck after %.0fs more: exiting so that the exporter is restarted", now - stuck_since)
                self._exit_status = 1
                self.stop()
                return

    async def _reload_from_signal(self) -> None:
        try:
            await self.reload()
        except ReloadError:
            pass  # logged; the old config keeps running

    # --- config application -----------------------------------------------------------

    def _targets(self, config: Config) -> tuple[Target, ...]:
        found = self.discovery.found.targets if self.discovery is not None else ()
        return plan(config, found, self.options.shard, self.endpoints.polling())

    def _make_client(self, config: Config) -> ConvosoClient:
        settings = config.convoso
        add_secret(settings.auth_token)
        return ConvosoClient.from_settings(settings, stats=self.stats, transport=self._transport)

    def _make_renderer(self, config: Config) -> MetricsRenderer:
        return MetricsRenderer(
            agent_metrics=config.agent_metrics,
            agent_names=config.agent_names,
            max_agents_per_target=config.max_agents_per_target,
        )

    def _make_deriver(self, config: Config) -> Deriver:
        # A scope's agent-time cells linger three discovery intervals after it goes (expiry.py).
        return Deriver(config.timezone, discovery_interval=config.discovery.interval)

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
        if (new.timezone, new.discovery.interval) != (old.timezone, old.discovery.interval):
            self.deriver = self._make_deriver(new)
            self.calls = Calls(new.timezone)
        # An endpoint the token was refused is tried again on reload.
        self.endpoints = Endpoints(new, self._wall)
        if new.discovery != old.discovery:
            # New rules for what to poll: the next account answer rediscovers at once.
            self.discovery = Discovery(new.discovery) if new.discovery.enabled else None
        self.poller.replace(self._targets(new), client, interval=new.poll_interval,
                            max_backoff=new.convoso.max_backoff,
                            max_requests_per_minute=new.convoso.max_requests_per_minute)
        self.watchdog = Watchdog(bound(new.poll_interval, new.convoso.timeout))
        # A warning is said once per config that causes it, not again on every reload.
        for warning in sorted(set(new.warnings) - set(old.warnings)):
            log.warning(warning)
        self.config = new

    # --- what polls change ------------------------------------------------------------

    def _on_change(self, state: TargetState) -> None:
        self._generation += 1
        if state.target.kind in ENDPOINT_KINDS:
            self._endpoint_answered(state)
        if state.target.kind == ACCOUNT and state.up:
            if self.discovery is not None:
                assert state.snapshot is not None and state.last_success is not None
                self.discovery.update(state.snapshot, state.last_success)
            self._replan()  # new scopes start polling now; a refused endpoint's hourly try
        # The account, a custom slice, a first poll: published promptly; discovered
        # campaigns' and queues' figures may wait for the batch.
        self.publisher.changed(prompt=state.target.keeps_agents or state.generation <= 1)

    def _endpoint_answered(self, state: TargetState) -> None:
        """A token refused for an optional endpoint turns that endpoint off (its targets
        leave the plan); an answer turns it back on (a probe's, an hour later)."""
        endpoint = state.target.kind
        if state.last_error_kind == AccessDenied.kind:
            self.endpoints.deny(endpoint, state.last_error or AccessDenied.kind)
            self._replan()
        elif state.up and self.endpoints.allow(endpoint):
            self._replan()

    def _replan(self) -> None:
        """The targets as discovery and the endpoints now say; swapped in if they changed."""
        targets = self._targets(self.config)
        if not same_plan(targets, [state.target for state in self.poller.states.values()]):
            self.poller.replace(targets)

    def _frame(self) -> Frame:
        states = self.poller.states
        return Frame(states, self.stats.snapshot(), self._info(states), self.renderer)

    def _info(self, states) -> ExporterInfo:
        targets = [state.target for state in states.values()]
        return ExporterInfo(
            version=__version__,
            targets=Counter(target.kind for target in targets),
            reload_ok=self._reload_ok,
            reload_timestamp=self._reload_time,
            # The calls a minute the current targets imply, as the ceiling planned them at
            # their last replace (same targets, same poll interval): not summed again.
            budget_per_minute=self.poller.stretch.planned_total,
            discovered=self.discovery.found.counts if self.discovery is not None else {},
            stretch=self.poller.stretch,
            ceiling_wait_seconds=self.poller.ceiling_wait_seconds,
            endpoints=self.endpoints.enabled(),
        )
