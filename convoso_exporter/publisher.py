"""What /metrics serves: the exposition rendered after changes, with the readiness it
goes with, published whole.

Every finished poll marks the exposition dirty; one task renders it again (coalescing
bursts of poll completions) in a worker thread, from a `Frame` the app takes on the
event loop (the states, a copy of the request counters, the exporter's own figures),
and swaps in a new `Published`: the exposition's text bodies as their pieces (never
joined: web/http.py writes them one after another), its gzip bodies joined, and the
readiness judged on the very states
it was rendered from. A scrape takes the current `Published` once and never waits on a
render or a poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from convoso_exporter.api.stats import ApiStats
from convoso_exporter.expose.cache import Exposition, MetricsRenderer, Parts
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.poll.readiness import STARTING, Readiness
from convoso_exporter.poll.state import TargetState
from convoso_exporter.web.http import Pieces

log = logging.getLogger(__name__)

# Bursts of poll completions within this window share one render; a slow render
# widens it (RENDER_GAP_FACTOR × its duration) so rendering never eats the CPU.
RENDER_COALESCE_SECONDS = 1.0
RENDER_GAP_FACTOR = 3.0
# How long the figures of discovered campaigns and queues may wait to be rendered together
# (at most a third of the poll interval): each render writes the whole exposition, and at
# 50,000 agents with 200 discovered targets a render per poll was a render a second.
RENDER_BATCH_SECONDS = 5.0


class Frame(NamedTuple):
    """Everything one render reads, taken at once on the event loop."""

    states: Mapping[str, TargetState]
    stats: ApiStats  # a copy: the client goes on counting meanwhile
    info: ExporterInfo
    renderer: MetricsRenderer


@dataclass(frozen=True, slots=True)
class Published:
    exposition: Exposition  # text bodies as web.http.Pieces, gzip bodies joined (served())
    readiness: Readiness
    at: float  # monotonic time of the render


def served(parts: Parts) -> Exposition:
    """The exposition as served: the text bodies as their pieces (never held twice), the
    gzip bodies joined. Prometheus asks for gzip, a tenth of the text's size: one buffer
    is written as slices of itself, where hundreds of small deflated pieces were gathered
    into writes on every scrape (idle gzip scrapes 2.7x slower than a static server's)."""
    body, gzip_body, om_body, om_gzip_body = parts.bodies
    return Exposition(Pieces.of(body), b"".join(gzip_body), parts.series, Pieces.of(om_body), b"".join(om_gzip_body))


class Publisher:
    """Renders after changes and when a target's data crosses the staleness line;
    `published` is replaced whole after every render."""

    def __init__(self, take: Callable[[], Frame], *, interval: Callable[[], float],
                 states: Callable[[], Mapping[str, TargetState]],
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self._take = take
        # Cheap reads for the waits between renders: a whole frame copies the request
        # counters and counts the targets, on the event loop, and is taken only to render.
        self._interval = interval
        self._states = states
        self._clock = clock
        self._wall = wall
        self._dirty = asyncio.Event()
        self._prompt = asyncio.Event()
        self._stale: frozenset[str] = frozenset()
        self.pending_since: float | None = None  # the first change not yet published
        self.published = self._render(take(), STARTING)

    def changed(self, prompt: bool) -> None:
        """Something to publish: `prompt` for the account, a custom slice, a first poll or
        a reload; discovered scopes' figures may wait for a batch."""
        if self.pending_since is None:
            self.pending_since = self._clock()
        if prompt:
            self._prompt.set()
        self._dirty.set()

    async def run(self) -> None:
        while True:
            frame = await self._next_frame()
            self._dirty.clear()
            self._prompt.clear()
            pending, started = self.pending_since, time.perf_counter()
            self.pending_since = None
            readiness = self.published.readiness
            try:
                published = await asyncio.to_thread(self._render, frame, readiness)
            except Exception as exc:  # never let a render bug take the exporter down
                log.error("render failed, serving the previous metrics: %s: %s", type(exc).__name__, exc)
                self.pending_since = pending
            else:
                if published.readiness.ready and not readiness.ready:
                    log.info("ready: every target polled once and the account answered")
                self.published = published
            took = time.perf_counter() - started
            await asyncio.sleep(max(RENDER_COALESCE_SECONDS, RENDER_GAP_FACTOR * took))

    async def _next_frame(self) -> Frame:
        """Wait for a change (or a target's data going stale), then for the batch window
        unless something prompt is waiting; the frame is taken after the wait."""
        while True:
            interval = self._interval()
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
                # arrives as the wait ends, and shutdown would wait on this loop forever.
                async with asyncio.timeout(max(1.0, min(5.0, interval / 3))):
                    await self._dirty.wait()
                break
            except TimeoutError:
                if self._stale_targets(self._states()) != self._stale:
                    break
        try:
            async with asyncio.timeout(min(RENDER_BATCH_SECONDS, interval / 3)):
                await self._prompt.wait()
        except TimeoutError:
            pass
        return self._take()

    def _render(self, frame: Frame, readiness: Readiness) -> Published:
        states = list(frame.states.values())
        self._stale = self._stale_targets(frame.states)
        parts = frame.renderer.render_parts(states, frame.stats, self._wall(), frame.info)
        return Published(served(parts), readiness.judge(states), self._clock())

    def _stale_targets(self, states: Mapping[str, TargetState]) -> frozenset[str]:
        """Targets holding data the renderer no longer serves: when this set changes, the
        exposition must be rebuilt even though no poll finished."""
        now = self._wall()
        return frozenset(name for name, state in states.items() if state.snapshot is not None and not state.fresh(now))
