"""The exporter in one process (measured against the forked collector, issue #20).

Poller, renderer and server share one interpreter: the collector's work (collector.py)
with its server listening, and each render served from its pieces, never joined.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from convoso_exporter.collector import Collector
from convoso_exporter.expose.cache import Exposition
from convoso_exporter.poll.readiness import backbone_succeeded, readiness
from convoso_exporter.runtime import tune_runtime
from convoso_exporter.web.http import Pieces
from convoso_exporter.web.routes import ExporterServer

log = logging.getLogger(__name__)


class SingleApp(Collector):
    def __init__(self, config, options, *, config_loader=None, banner=None) -> None:
        super().__init__(config, options, config_loader=config_loader, banner=banner)
        self.server = ExporterServer(self, telemetry_path=options.telemetry_path, web_config=options.web_config)

    async def run(self) -> int:  # type: ignore[override]
        tune_runtime()
        await self.server.listen(self.options.listen_addresses, self.options.systemd_socket)
        log.info("listening on %s (metrics at %s), one process", ", ".join(self.server.addresses),
                 self.options.telemetry_path)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._reload_quietly()))
        for warning in self.config.warnings:
            log.warning(warning)
        tasks = [asyncio.create_task(self.poller.run()), asyncio.create_task(self._render_loop())]
        await self._stopping.wait()
        await self.server.close()
        await self.poller.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.client.aclose()
        return 0

    async def _reload_quietly(self) -> None:
        try:
            await self.reload()
        except Exception:
            pass

    async def _hand_over(self, exposition, sealed=None) -> None:  # type: ignore[override]
        self._exposition = exposition

    async def _render_in_thread(self):  # type: ignore[override]
        current = self.poller.states
        states = list(current.values())
        self._backbone_ok = self._backbone_ok or backbone_succeeded(current)
        reason = readiness(states, self._backbone_ok)
        stats = self.stats.snapshot()
        self._render_stale = self._stale_targets()
        renderer, info = self.renderer, self._info()
        try:
            parts = await asyncio.to_thread(renderer.render_parts, states, stats, time.time(), info)
        except Exception as exc:
            log.error("render failed, serving the previous metrics: %s: %s", type(exc).__name__, exc)
            return None
        if not self._ready and reason is None:
            self._ready = True
            log.info("ready: every target polled once and the account answered")
        body, gzip_body, om_body, om_gzip_body = map(Pieces.of, parts.bodies)
        return (Exposition(body, gzip_body, parts.series, om_body, om_gzip_body),)
