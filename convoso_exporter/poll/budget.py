"""The ceiling on this exporter's API request rate (`convoso.max_requests_per_minute`).

The vendor publishes no rate limit, so the exporter keeps its own, in two parts:

- **The stretch** (`stretch`): when the targets' intervals imply more calls a minute than
  the ceiling (`plan.calls_per_minute`), intervals are lengthened until they fit, kind by
  kind in `plan.stretch_priority` order: discovered campaigns and queues first, the
  config's own slices next, the account (the backbone) last. A more important tier keeps
  its interval as long as every less important one can keep at least FLOOR_SHARE of the
  ceiling (or what it asks for, if less), and is never stretched more than they are; the
  stretched plan fits the ceiling exactly. A new kind of target is counted and stretched
  by its kind and interval alone.
- **The limiter** (`RateLimiter`): every request waits its turn so that no 60 seconds
  ever hold more than the ceiling, whatever the schedule does: the first round at
  start-up, a reload or a discovery round that adds targets (each polled at once),
  jitter, retries. It is a sliding window over the grants of the last 60 seconds. Less
  important requests leave room in every window for what the more important ones plan
  to make (a first round of 200 discovered targets never holds up the account), and
  requests that queue are served by priority (the account first), then in arrival order.

`Ceiling` is the two as the poller applies them: it logs a warning once when the plan
goes over the ceiling and an info when it is back within; and the same once per episode
of requests waiting on the limiter.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from convoso_exporter.config.schema import Target
from convoso_exporter.poll.plan import calls_per_minute, interval_of, stretch_priority

WINDOW = 60.0  # seconds: the ceiling is per minute, over any 60 seconds
# What each less important tier keeps of the ceiling while a more important one is served
# in full (or what it asks for, if less). With three tiers the floors take at most 30 %.
FLOOR_SHARE = 0.1
SETTING = "convoso.max_requests_per_minute"
ADVICE = f"raise {SETTING}, or lengthen discovery.interval / poll_interval"


@dataclass(frozen=True)
class Stretch:
    """What the ceiling does to a plan: each kind's calls a minute as configured and
    the factor its intervals are multiplied by (1: as configured)."""

    ceiling: float | None = None  # None: no ceiling
    planned: Mapping[str, float] = field(default_factory=dict)  # kind -> calls a minute as configured
    ratios: Mapping[str, float] = field(default_factory=dict)  # kind -> interval factor (absent: 1)

    def ratio(self, kind: str) -> float:
        return self.ratios.get(kind, 1.0)

    @property
    def stretched(self) -> bool:
        return any(ratio > 1.0 for ratio in self.ratios.values())

    @property
    def planned_total(self) -> float:
        return sum(self.planned.values())

    @property
    def effective(self) -> float:
        """Calls a minute after the stretch (the ceiling itself when stretched)."""
        return sum(calls / self.ratio(kind) for kind, calls in self.planned.items())

    def describe(self) -> str:
        """One line: the plan against the ceiling and what was stretched."""
        return f"{self.planned_total:.1f} API calls a minute planned, {self.verdict()}"

    def verdict(self) -> str:
        """The plan against the ceiling, and what was stretched: `over the ceiling of 300
        (...): campaign and queue intervals stretched x20.3; account as configured`."""
        if self.ceiling is None:
            return "no ceiling"
        line = f"{'over' if self.stretched else 'within'} the ceiling of {self.ceiling:g} ({SETTING})"
        if not self.stretched:
            return line
        by_ratio: dict[float, list[str]] = defaultdict(list)
        for kind in sorted(self.planned, key=lambda kind: (stretch_priority(kind), kind)):
            by_ratio[self.ratio(kind)].append(kind)
        parts = [
            f"{' and '.join(kinds)} {'as configured' if ratio == 1.0 else f'intervals stretched x{ratio:.3g}'}"
            for ratio, kinds in sorted(by_ratio.items(), reverse=True)
        ]
        return f"{line}: {'; '.join(parts)}"


def stretch(planned: Mapping[str, float], ceiling: float | None) -> Stretch:
    """The stretch that brings `planned` (kind -> calls a minute) within `ceiling`."""
    if ceiling is None or sum(planned.values()) <= ceiling:
        return Stretch(ceiling, dict(planned))
    tiers: dict[int, float] = defaultdict(float)
    for kind, calls in planned.items():
        tiers[stretch_priority(kind)] += calls
    order = sorted(tiers, reverse=True)  # most important first
    allowed = allot([tiers[priority] for priority in order], ceiling)
    by_priority = {priority: tiers[priority] / share if share else 1.0 for priority, share in zip(order, allowed)}
    return Stretch(ceiling, dict(planned), {kind: by_priority[stretch_priority(kind)] for kind in planned})


def allot(demands: Sequence[float], ceiling: float) -> list[float]:
    """Calls a minute each tier may make, most important first (demands over `ceiling`
    in total). A tier takes what it asks for if every less important tier can still keep
    its floor (FLOOR_SHARE of the ceiling, or what it asks for if less); else it is
    stretched just enough to fit while the less important ones are stretched at least as
    much, down to their floor. The last takes what is left. Every tier gets more than 0."""
    floor = FLOOR_SHARE * ceiling
    given: list[float] = []
    left = ceiling
    for i, asked in enumerate(demands):
        others = demands[i + 1:]

        def need(ratio: float, asked: float = asked, others: Sequence[float] = others) -> float:
            """Calls a minute with this tier stretched by `ratio`, the others as they must be."""
            return asked / ratio + sum(min(floor, other / ratio) for other in others)

        if not others:
            share = min(asked, left)
        elif need(1.0) <= left:
            share = asked
        else:
            share = asked / _solve(need, left)
        given.append(share)
        left -= share
    return given


def _solve(need: Callable[[float], float], left: float) -> float:
    """The smallest ratio (within float precision) at which `need`, decreasing, fits `left`."""
    low, high = 1.0, 2.0
    while need(high) > left:
        low, high = high, high * 2
    for _ in range(100):
        middle = (low + high) / 2
        if need(middle) > left:
            low = middle
        else:
            high = middle
    return high


def reserve(plan: Stretch) -> dict[int, int]:
    """Per priority, the calls a minute the more important kinds plan (stretched), whole:
    what the less important leave them of every window, so the stretched plan fits as
    planned (a jittered poll that comes early may wait for a grant to leave)."""
    calls: dict[int, float] = defaultdict(float)
    for kind, planned in plan.planned.items():
        calls[stretch_priority(kind)] += planned / plan.ratio(kind)
    # A hair over a whole number is that number (sums of 60 / interval are inexact).
    return {p: math.ceil(sum(c for q, c in calls.items() if q > p) - 1e-9) for p in calls}


class RateLimiter:
    """At most `per_minute` grants in any 60 seconds (None: no limit). `acquire` returns
    at once while there is room, else when enough grants have left the window; waiting
    requests go by priority (higher first), then in arrival order. Requests of priority p
    and below take at most `per_minute - reserve[p]` grants of any window: the rest is
    kept for more important ones."""

    def __init__(self, per_minute: int | None, *, clock: Callable[[], float],
                 sleep: Callable[[float], Awaitable[None]]) -> None:
        self._clock = clock
        self._sleep = sleep
        self._window: deque[tuple[float, int]] = deque()  # (time, priority) of the last 60 s's grants
        self._used: dict[int, int] = defaultdict(int)  # priority -> grants in the window
        self._queue: list[tuple[int, int]] = []  # heap of waiting tickets: (-priority, arrival)
        self._waiting: dict[tuple[int, int], asyncio.Future[float]] = {}  # ticket -> its grant time
        self._arrivals = itertools.count()
        self._reserve: Mapping[int, int] = {}
        # One task sleeps until the head of the queue may go, then grants all that may.
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: float | None = None
        self.per_minute: int | None = None
        self.waited = 0.0  # seconds requests spent waiting, in total
        self.set_ceiling(per_minute)

    def set_ceiling(self, per_minute: int | None) -> None:
        """A new ceiling (a reload): the grants of the last minute still count against it."""
        if per_minute is not None and per_minute < 1:
            raise ValueError(f"max requests per minute must be at least 1, got {per_minute!r}")
        self.per_minute = per_minute
        self._dispatch()

    def set_reserve(self, reserve: Mapping[int, int]) -> None:
        """Grants of every window each priority leaves to more important requests."""
        self._reserve = dict(reserve)
        self._dispatch()

    async def acquire(self, priority: int = 0) -> float:
        """Wait for a turn; returns the seconds waited."""
        arrived = self._clock()
        if not self._queue and self._free_at(arrived, priority) <= arrived:
            self._grant(arrived, priority)
            return 0.0
        ticket = (-priority, next(self._arrivals))
        future = self._waiting[ticket] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, ticket)
        self._dispatch()
        try:
            granted = await future
        except BaseException:  # cancelled (the target was removed, the exporter stops)
            if self._waiting.pop(ticket, None) is not None:  # else granted: it counts all the same
                self._queue.remove(ticket)
                heapq.heapify(self._queue)
            self._dispatch()
            raise
        self.waited += granted - arrived
        return granted - arrived

    def _dispatch(self) -> None:
        """Grant every waiting request that may go now, in order; time the next one."""
        if not self._queue and self._timer is None:
            return
        now = self._clock()
        while self._queue:
            ticket = self._queue[0]
            future = self._waiting[ticket]
            if not future.cancelled() and self._free_at(now, -ticket[0]) > now:
                break
            heapq.heappop(self._queue)
            del self._waiting[ticket]
            if not future.cancelled():
                self._grant(now, -ticket[0])
                future.set_result(now)
        wake = self._free_at(now, -self._queue[0][0]) if self._queue else None
        if wake != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_at = None, wake
            if wake is not None:
                self._timer = asyncio.get_running_loop().create_task(self._wake(wake - now))

    async def _wake(self, delay: float) -> None:
        await self._sleep(delay)
        self._timer, self._timer_at = None, None
        self._dispatch()

    def _free_at(self, now: float, priority: int) -> float:
        """When a request of `priority` may go: when the window holds fewer than the
        ceiling, and fewer than its room of grants of its priority and below."""
        if self.per_minute is None:
            return now
        while self._window and self._window[0][0] + WINDOW <= now:
            self._used[self._window.popleft()[1]] -= 1
        room = max(1, self.per_minute - self._reserve.get(priority, 0))
        mine = sum(used for p, used in self._used.items() if p <= priority)
        free = now
        # Grants leave the window oldest first: the k-th oldest leaving frees k.
        if len(self._window) >= self.per_minute:
            free = max(free, self._window[len(self._window) - self.per_minute][0] + WINDOW)
        if mine >= room:
            times = [at for at, p in self._window if p <= priority]
            free = max(free, times[mine - room] + WINDOW)
        return free

    def _grant(self, now: float, priority: int) -> None:
        if self.per_minute is not None:
            self._window.append((now, priority))
            self._used[priority] += 1


class Ceiling:
    """The ceiling as the poller applies it: stretched intervals and the limiter."""

    def __init__(self, per_minute: int | None, *, clock: Callable[[], float],
                 sleep: Callable[[float], Awaitable[None]], logger: logging.Logger) -> None:
        self._clock = clock
        self._log = logger
        self.limiter = RateLimiter(per_minute, clock=clock, sleep=sleep)
        self.stretch = Stretch(per_minute)
        self._last_wait: float | None = None  # when a request last waited, during an episode

    def plan(self, targets: Iterable[Target], poll_interval: float, per_minute: int | None = None) -> None:
        """Stretch for these targets (a start, a reload, a discovery round), under a new
        ceiling if `per_minute` is given."""
        if per_minute is not None:
            self.limiter.set_ceiling(per_minute)
        new = stretch(calls_per_minute(targets, poll_interval), self.limiter.per_minute)
        if new.stretched and not self.stretch.stretched:
            self._log.warning("API request rate: %s; polls are spread over longer intervals: %s",
                              new.describe(), ADVICE)
        elif self.stretch.stretched and not new.stretched:
            self._log.info("API request rate: %s; every interval as configured again", new.describe())
        elif new.stretched and new != self.stretch:
            self._log.debug("API request rate: %s", new.describe())
        self.stretch = new
        self.limiter.set_reserve(reserve(new))

    def interval(self, target: Target, poll_interval: float) -> float:
        """Seconds between polls of `target`, stretched."""
        return interval_of(target, poll_interval) * self.stretch.ratio(target.kind)

    async def acquire(self, target: Target) -> None:
        """Wait for `target`'s turn under the ceiling."""
        waited = await self.limiter.acquire(stretch_priority(target.kind))
        now = self._clock()
        if waited > 0:
            if self._last_wait is None:
                self._log.info("API request rate at the ceiling of %d a minute (%s): polls wait their turn",
                               self.limiter.per_minute, SETTING)
            self._last_wait = now
        elif self._last_wait is not None and now - self._last_wait >= WINDOW:
            self._last_wait = None
            self._log.info("API request rate: no poll has waited for the ceiling for a minute")
