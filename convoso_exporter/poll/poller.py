"""The scrape loop: one asyncio task per target polls the Convoso API in the background.

Each task polls its target at a fixed rate (every `interval`, measured from the start of
the previous poll, with a little random jitter so many targets do not fire in lockstep).
A poll that overruns the interval is followed by the next one at once; a target's polls
never overlap because one task runs them one after another. Failures back off
exponentially and honour the server's Retry-After, counted from the end of the failed
poll: a poll that timed out after 10 s is followed by its full backoff, not by an
immediate retry, and the wait a log line announces is the wait that follows. Every finished poll builds a
new, immutable `TargetState` (see state.py) and publishes it by replacing the whole
mapping of states, then calls `on_change`, which the app uses to re-render /metrics.

With a ceiling (`max_requests_per_minute`, poll/budget.py) the intervals are stretched
to fit it (re-planned with every target list) and every request waits its turn under it.
What a poll asks is `call`'s (poll/calls.py: a search, or an optional endpoint's call).

Logs say when a target's health changes, not on every poll: a warning when it starts
failing or fails differently, an info when it recovers; each poll is logged at debug.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from convoso_exporter.api.errors import INTERNAL, AccessDenied, ConvosoError
from convoso_exporter.api.errors import one_line
from convoso_exporter.config.schema import Target
from convoso_exporter.poll.budget import Ceiling, Stretch
from convoso_exporter.poll.calls import Call, Calls
from convoso_exporter.poll.state import TargetState, stale_after

# INTERNAL (api.errors): the kind recorded when the client raises something outside the
# ConvosoError taxonomy (a bug): the poll counts as failed and the loop carries on.

# A Retry-After longer than this is cut down to it, so a hostile or broken server cannot
# park a target for days; one hour is far beyond any rate-limit window Convoso uses.
MAX_RETRY_AFTER = 3600.0

# Backoff doubles per consecutive failure; past 2**30 intervals it has long hit
# max_backoff, and capping the exponent keeps the float arithmetic from overflowing.
_MAX_DOUBLINGS = 30

# (target, previous derived figures, answer, wall-clock time) -> new derived figures.
Derive = Callable[[Target, Any, Any, float], Any]


@dataclass(frozen=True, slots=True)
class Progress:
    """Whether polling is getting anywhere (poll/watchdog.py judges it), in `clock` time."""

    oldest_in_flight: float | None  # when the oldest poll still running started
    last_finished: float | None  # when a poll last finished, ok or not
    broken: tuple[str, ...]  # targets whose polling task ended on an error (a bug)


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
        derive: Derive | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        jitter: float = 0.1,
        logger: logging.Logger | None = None,
        max_requests_per_minute: int | None = None,
        call: Call | None = None,
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
        self._derive = derive
        self._call = call if call is not None else Calls()
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._jitter = jitter
        self._log = logger if logger is not None else logging.getLogger(__name__)
        self._ceiling = Ceiling(max_requests_per_minute, clock=clock, sleep=sleep, logger=self._log)
        self._ceiling.plan(targets, interval)
        self._states: Mapping[str, TargetState] = MappingProxyType(
            {t.name: self._new_state(t) for t in _check_unique_names(targets)}
        )
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._in_flight: dict[object, float] = {}
        self._last_finished: float | None = None
        self._broken: dict[str, str] = {}
        self._running = False
        self._stopped = asyncio.Event()

    @property
    def states(self) -> Mapping[str, TargetState]:
        """The latest published state per target name. The mapping is replaced whole on
        every change and never edited: take it once and read it as long as you like."""
        return self._states

    @property
    def stretch(self) -> Stretch:
        """How the request-rate ceiling stretches the current targets' intervals."""
        return self._ceiling.stretch

    @property
    def ceiling_wait_seconds(self) -> float:
        """Seconds requests have waited for their turn under the ceiling, in total."""
        return self._ceiling.limiter.waited

    def ready(self) -> bool:
        """True once every current target has finished at least one poll, ok or not."""
        return all(state.attempted for state in self._states.values())

    def progress(self) -> Progress:
        in_flight = min(self._in_flight.values(), default=None)
        return Progress(in_flight, self._last_finished, tuple(sorted(self._broken)))

    async def run(self) -> None:
        """Poll every target until `stop()` (or until this coroutine is cancelled)."""
        if self._stopped.is_set():
            return
        self._running = True
        try:
            for name in self._states:
                self._start(name)
            await self._stopped.wait()
        finally:
            self._running = False
            await self._cancel_all()

    async def stop(self) -> None:
        """Cancel every poll, in flight or sleeping, and wait for the tasks to end."""
        self._stopped.set()
        await self._cancel_all()

    def replace(self, targets: Sequence[Target], client: Any = None, *, interval: float | None = None,
                max_backoff: float | None = None, max_requests_per_minute: int | None = None) -> None:
        """Apply a new target list (a reload, or a discovery round). Targets whose
        definition is unchanged keep their state and their schedule; changed and new ones
        start afresh (first poll at once); removed ones stop. A new `client` is used by
        every poll from now on, and a new `interval` / `max_backoff` apply from each
        target's next scheduling on, as do the intervals stretched for the new list (and
        a new `max_requests_per_minute`); the requests of the last minute still count."""
        wanted = _check_unique_names(targets)
        if client is not None:
            self._client = client
        if interval is not None:
            self._interval = interval
        if max_backoff is not None:
            self._max_backoff = max_backoff
        self._ceiling.plan(wanted, self._interval, max_requests_per_minute)
        old = self._states
        new: dict[str, TargetState] = {}
        for target in wanted:
            kept = old.get(target.name)
            if kept is not None and kept.target == target:
                # Display names are not part of a target's identity: take the new ones.
                if not kept.target.same_names(target):
                    kept = dataclasses.replace(kept, target=target)
                new[target.name] = _with_stale_after(kept, stale_after(self._interval_of(target)))
            else:
                new[target.name] = self._new_state(target)
        for name, state in old.items():
            if name not in new or new[name].target != state.target:
                self._cancel(name)
                self._broken.pop(name, None)
        self._states = MappingProxyType(new)
        if self._running:
            for name in new:
                if name not in self._tasks:
                    self._start(name)

    async def poll_once(self, name: str) -> None:
        """Poll one target once and publish the outcome."""
        await self._poll(name)

    def _interval_of(self, target: Target) -> float:
        return self._ceiling.interval(target, self._interval)

    def _new_state(self, target: Target) -> TargetState:
        return TargetState(target, stale_after=stale_after(self._interval_of(target)))

    def _publish(self, previous: TargetState, state: TargetState) -> TargetState | None:
        """Swap in `state` for its target and return it as published, unless the target
        was removed or redefined by a reload while this poll ran (then None)."""
        name = state.target.name
        current = self._states.get(name)
        if current is None or current.target != previous.target or current.generation != previous.generation:
            return None
        if current.stale_after != state.stale_after or current.target is not state.target:
            # A reload or discovery round changed the interval or the names meanwhile.
            state = dataclasses.replace(state, target=current.target, stale_after=current.stale_after)
        states = dict(self._states)
        states[name] = state
        self._states = MappingProxyType(states)
        return state

    def _start(self, name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._loop(name), name=f"poll {name}")
        task.add_done_callback(lambda done: self._ended(name, done))
        self._tasks[name] = task

    def _ended(self, name: str, task: asyncio.Task[None]) -> None:
        """A polling task only ends when cancelled: anything else is a bug, which stops
        that target's polls for good; the watchdog sees it and the log says what."""
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        self._broken[name] = f"{type(error).__name__}: {error}"
        self._log.error("target %s: polling stopped on an error: %s", name, self._broken[name],
                        exc_info=error, extra={"target": name})

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

    async def _loop(self, name: str) -> None:
        # Polls of one target run strictly one after another, each when the last one said.
        while True:
            due = await self._poll(name)
            await self._sleep(max(0.0, due - self._clock()))

    async def _poll(self, name: str) -> float:
        """One poll of target `name`; returns when (self._clock) the next one is due:
        `interval` after this one started (fixed rate; at once if it overran), or after
        a failure, its backoff from now."""
        await self._ceiling.acquire(self._states[name].target)
        started = self._clock()
        token = object()  # this poll's own key: a redefined target's next poll may overlap its end
        self._in_flight[token] = started
        try:
            due = await self._attempt(self._states[name], started)  # the state as it is once the request may go
        finally:
            del self._in_flight[token]
        self._last_finished = self._clock()
        return due

    async def _attempt(self, state: TargetState, started: float) -> float:
        target = state.target
        try:
            result = await self._request(state)
        except ConvosoError as err:
            retry_after = getattr(err, "retry_after", None)  # only RateLimited has one
            return self._failed(state, err.kind, str(err), started, retry_after)
        except Exception as err:
            self._log.debug("target %s: unexpected error from the client", target.name,
                            exc_info=True, extra={"target": target.name})
            return self._failed(state, INTERNAL, f"{type(err).__name__}: {err}", started, None)
        wall = self._wall()
        derived = await self._derived(state, result, wall)
        return self._succeeded(state, result, started, wall, derived)

    async def _derived(self, state: TargetState, result: Any, wall: float) -> Any:
        """What `derive` makes of this answer (in a worker thread: for the account it walks
        every agent), or None to keep the previous when there is no deriver or it fails."""
        if self._derive is None:
            return None
        try:
            return await asyncio.to_thread(self._derive, state.target, state.derived, result, wall)
        except Exception:
            # A bug in deriving must not lose the poll: the figures still publish.
            self._log.exception("target %s: deriving counters failed", state.target.name,
                                extra={"target": state.target.name})
            return None

    async def _request(self, state: TargetState) -> Any:
        """The poll's request(s), as `call` makes them; each after the first waits its turn."""
        target = state.target
        wall = self._wall()

        def turn() -> Awaitable[None]:
            return self._ceiling.acquire(target)

        while True:
            client = self._client
            try:
                return await self._call(client, state, wall, turn)
            except Exception:
                if client is self._client:
                    raise
                # The client was replaced while this request was in flight (a reload, which
                # closes the old client): that failure says nothing about the target, so
                # ask again with the new client, in turn like any request.
            await turn()

    def _succeeded(self, previous: TargetState, result: Any, started: float, wall: float,
                   derived: Any) -> float:
        state = previous.succeeded(result, wall=wall, duration=self._clock() - started, derived=derived)
        due = started + self._jittered(self._interval_of(previous.target))
        state = self._publish(previous, state)
        if state is None:
            return due
        name = state.target.name
        if previous.consecutive_failures:
            self._log.info("target %s: recovered after %d failed polls", name, previous.consecutive_failures,
                           extra={"target": name})
        self._log.debug("target %s: poll ok in %.3fs, %d agents; next in %.1fs", name,
                        state.last_duration, len(getattr(result, "agents", None) or ()), max(0.0, due - self._clock()),
                        extra={"target": name})
        self._notify(state)
        return due

    def _failed(self, previous: TargetState, kind: str, message: str, started: float,
                retry_after: float | None) -> float:
        message = one_line(message) or kind
        state = previous.failed(kind, message, wall=self._wall(), duration=self._clock() - started)
        delay = self._failure_delay(self._interval_of(previous.target), state.consecutive_failures, retry_after)
        due = self._clock() + delay  # from the end of the failed poll: what the log line says
        state = self._publish(previous, state)
        if state is None:
            return due
        name = state.target.name
        # previous.last_error_kind is None while ok or before the first poll.
        if kind != previous.last_error_kind:
            # A token refused an optional endpoint: the endpoint's switch says so once for
            # all its targets (poll/endpoints.py), not each target.
            level = logging.DEBUG if kind == AccessDenied.kind else logging.WARNING
            self._log.log(level, "target %s: poll failed: %s: %s", name, kind, message, extra={"target": name})
        self._log.debug("target %s: poll failed in %.3fs (%d in a row): %s: %s; next in %.1fs",
                        name, state.last_duration, state.consecutive_failures, kind, message,
                        delay, extra={"target": name})
        self._notify(state)
        return due

    def _failure_delay(self, interval: float, failures: int, retry_after: float | None) -> float:
        # interval, 2×, 4×, ... up to max_backoff, never faster than the normal interval
        # (even if max_backoff is set below it); the first retry comes one interval later.
        backoff = min(self._max_backoff, interval * 2 ** min(failures - 1, _MAX_DOUBLINGS))
        delay = self._jittered(max(interval, backoff))
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


def _check_unique_names(targets: Sequence[Target]) -> list[Target]:
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise ValueError(f"duplicate target name {target.name!r}")
        seen.add(target.name)
    return list(targets)


def _with_stale_after(state: TargetState, seconds: float) -> TargetState:
    return state if state.stale_after == seconds else dataclasses.replace(state, stale_after=seconds)
