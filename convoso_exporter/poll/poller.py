"""The scrape loop: one asyncio task per target polls the Convoso API in the background.

Each task polls its target at a fixed rate (every `interval`, measured from the start of
the previous poll, with a little random jitter so many targets do not fire in lockstep).
A poll that overruns the interval is followed by the next one at once; a target's polls
never overlap because one task runs them one after another. Failures back off
exponentially and honour the server's Retry-After. Every finished poll updates the
target's `TargetState` (between awaits, so readers on the event loop see it whole) and
calls `on_change`, which the app uses to re-render /metrics.

Logs say when a target's health changes, not on every poll: a warning when it starts
failing or fails differently, an info when it recovers; each poll is logged at debug.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from convoso_exporter.config.schema import Target
from convoso_exporter.api.errors import ConvosoError
from convoso_exporter.api.model import SearchResult

# Error kind recorded when the client raises something outside the ConvosoError taxonomy
# (a bug): the poll counts as failed and the loop carries on.
INTERNAL = "internal"

# A Retry-After longer than this is cut down to it, so a hostile or broken server cannot
# park a target for days; one hour is far beyond any rate-limit window Convoso uses.
MAX_RETRY_AFTER = 3600.0

# Backoff doubles per consecutive failure; past 2**30 intervals it has long hit
# max_backoff, and capping the exponent keeps the float arithmetic from overflowing.
_MAX_DOUBLINGS = 30


@dataclass
class TargetState:
    """What the exporter knows about one target. Replaced field-wise by the poller
    only between awaits, so readers on the event loop always see a consistent state."""

    target: Target
    snapshot: SearchResult | None = None
    last_success: float | None = None
    up: bool = False
    attempted: bool = False
    last_duration: float | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    consecutive_failures: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    generation: int = 0


class Poller:
    """Polls every target in its own task; `states` holds the latest state per target name."""

    def __init__(
        self,
        targets: Sequence[Target],
        client: Any,
        *,
        interval: float,
        max_backoff: float,
        on_change: Callable[[TargetState], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        jitter: float = 0.1,
        logger: logging.Logger | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"poll interval must be positive, got {interval!r}")
        if not max_backoff > 0:
            raise ValueError(f"max_backoff must be positive, got {max_backoff!r}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
        self._client = client
        self._interval = interval
        self._max_backoff = max_backoff
        self._on_change = on_change
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._jitter = jitter
        self._log = logger if logger is not None else logging.getLogger(__name__)
        self.states: dict[str, TargetState] = {t.name: TargetState(t) for t in _unique(targets)}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._running = False
        self._stopped = asyncio.Event()

    def ready(self) -> bool:
        """True once every current target has finished at least one poll, ok or not."""
        return all(state.attempted for state in self.states.values())

    async def run(self) -> None:
        """Poll every target until `stop()` (or until this coroutine is cancelled)."""
        if self._stopped.is_set():
            return
        self._running = True
        try:
            for name in self.states:
                self._start(name)
            await self._stopped.wait()
        finally:
            self._running = False
            await self._cancel_all()

    async def stop(self) -> None:
        """Cancel every poll, in flight or sleeping, and wait for the tasks to end."""
        self._stopped.set()
        await self._cancel_all()

    def replace(self, targets: Sequence[Target], client: Any, *,
                interval: float | None = None, max_backoff: float | None = None) -> None:
        """Apply a reloaded config. Targets whose definition is unchanged keep their state
        and their schedule; changed and new ones start afresh (first poll at once);
        removed ones stop. Every poll from now on uses `client`, and a new `interval` /
        `max_backoff` apply from each target's next scheduling on."""
        wanted = _unique(targets)
        self._client = client
        if interval is not None:
            self._interval = interval
        if max_backoff is not None:
            self._max_backoff = max_backoff
        new_states: dict[str, TargetState] = {}
        for target in wanted:
            kept = self.states.get(target.name)
            unchanged = kept is not None and kept.target == target
            new_states[target.name] = kept if unchanged else TargetState(target)
        for name, state in self.states.items():
            if new_states.get(name) is not state:
                self._cancel(name)
        # Mutated in place: the app and metrics may hold a reference to this dict.
        self.states.clear()
        self.states.update(new_states)
        if self._running:
            for name in self.states:
                if name not in self._tasks:
                    self._start(name)

    async def poll_once(self, name: str) -> None:
        """Poll one target once and record the outcome in its state."""
        await self._poll(self.states[name])

    def _start(self, name: str) -> None:
        state = self.states[name]
        self._tasks[name] = asyncio.get_running_loop().create_task(
            self._loop(state), name=f"poll {name}"
        )

    def _cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
            # Kept until done so stop() can await it and it is never garbage-collected pending.
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def _cancel_all(self) -> None:
        for name in list(self._tasks):
            self._cancel(name)
        await asyncio.gather(*self._retiring, return_exceptions=True)

    async def _loop(self, state: TargetState) -> None:
        # Fixed rate: the next poll is due `delay` after this one started, or at once if
        # this one overran. Polls of one target run strictly one after another.
        while True:
            started = self._clock()
            delay = await self._poll(state)
            await self._sleep(max(0.0, started + delay - self._clock()))

    async def _poll(self, state: TargetState) -> float:
        """One poll of `state.target`; returns the delay from its start to the next poll."""
        started = self._clock()
        try:
            result = await self._search(state.target)
        except ConvosoError as err:
            retry_after = getattr(err, "retry_after", None)  # only RateLimited has one
            return self._failed(state, err.kind, str(err), started, retry_after)
        except Exception as err:
            self._log.debug("target %s: unexpected error from the client", state.target.name,
                            exc_info=True, extra={"target": state.target.name})
            return self._failed(state, INTERNAL, f"{type(err).__name__}: {err}", started, None)
        return self._succeeded(state, result, started)

    async def _search(self, target: Target) -> SearchResult:
        while True:
            client = self._client
            try:
                return await client.search(
                    campaign_id=target.campaign_id,
                    queue_id=target.queue_id,
                    user_id=target.user_id,
                    skills=target.skills,
                )
            except Exception:
                if client is self._client:
                    raise
                # The client was replaced while this request was in flight (a reload, which
                # closes the old client): that failure says nothing about the target, so
                # ask again with the new client.

    def _succeeded(self, state: TargetState, result: SearchResult, started: float) -> float:
        recovered_after = state.consecutive_failures
        state.snapshot = result
        state.up = True
        state.attempted = True
        state.last_success = self._wall()
        state.last_duration = self._clock() - started
        state.last_error = None
        state.last_error_kind = None
        state.consecutive_failures = 0
        state.generation += 1
        name = state.target.name
        if recovered_after:
            self._log.info("target %s: recovered after %d failed polls", name, recovered_after,
                           extra={"target": name})
        delay = self._jittered(self._interval)
        self._log.debug("target %s: poll ok in %.3fs, %d agents; next in %.1fs", name,
                        state.last_duration, len(result.agents), delay, extra={"target": name})
        self._notify(state)
        return delay

    def _failed(self, state: TargetState, kind: str, message: str, started: float,
                retry_after: float | None) -> float:
        message = _one_line(message) or kind
        previous_kind = state.last_error_kind  # None while ok or before the first poll
        state.up = False
        state.attempted = True
        state.last_duration = self._clock() - started
        state.last_error = message
        state.last_error_kind = kind
        state.errors_by_kind[kind] = state.errors_by_kind.get(kind, 0) + 1
        state.consecutive_failures += 1
        state.generation += 1
        name = state.target.name
        if kind != previous_kind:
            self._log.warning("target %s: poll failed: %s: %s", name, kind, message,
                              extra={"target": name})
        delay = self._failure_delay(state.consecutive_failures, retry_after)
        self._log.debug("target %s: poll failed in %.3fs (%d in a row): %s: %s; next in %.1fs",
                        name, state.last_duration, state.consecutive_failures, kind, message,
                        delay, extra={"target": name})
        self._notify(state)
        return delay

    def _failure_delay(self, failures: int, retry_after: float | None) -> float:
        # interval, 2×, 4×, ... up to max_backoff, never faster than the normal interval
        # (even if max_backoff is set below it); the first retry comes one interval later.
        backoff = min(self._max_backoff, self._interval * 2 ** min(failures - 1, _MAX_DOUBLINGS))
        delay = self._jittered(max(self._interval, backoff))
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay

    def _jittered(self, delay: float) -> float:
        return delay * (1 + self._rng.uniform(-self._jitter, self._jitter))

    def _notify(self, state: TargetState) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(state)
        except Exception:
            # A bug in the listener must not stop polling; say so loudly.
            self._log.exception("target %s: on_change failed", state.target.name,
                                extra={"target": state.target.name})


def _unique(targets: Sequence[Target]) -> list[Target]:
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise ValueError(f"duplicate target name {target.name!r}")
        seen.add(target.name)
    return list(targets)


def _one_line(text: str) -> str:
    return " ".join(text.split())
