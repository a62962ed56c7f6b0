"""Tests for the scrape loop (convoso_exporter/poll/poller.py).

Time is virtual: `VirtualTime` provides the poller's clock, wall clock and sleep, plus
`wait()` for fake searches that take time. `run_until(t)` lets every task run until it
blocks, then wakes sleepers in time order, so several target tasks interleave
deterministically and a test of minutes of polling runs in milliseconds.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import heapq
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from types import MappingProxyType

import pytest

from convoso_exporter.api.errors import (
    ApiTimeout,
    AuthError,
    ConnectionFailed,
    ProtocolError,
    RateLimited,
    ServerError,
)
from convoso_exporter.api.model import Agent, SearchResult
from convoso_exporter.config.schema import Target
from convoso_exporter.poll.poller import INTERNAL, MAX_RETRY_AFTER, Poller, TargetState

WALL0 = 1_700_000_000.0
RESULT = SearchResult(agents=(Agent(user_id="1001", status="READY"),), agent_total=1)
OTHER_RESULT = SearchResult(agents=(), agent_total=0)


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL0 + self.now

    async def sleep(self, delay: float) -> None:
        await self.wait(delay)

    async def wait(self, delay: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, self._seq, future))
        self._seq += 1
        await future

    async def run_until(self, deadline: float) -> None:
        while True:
            await settle()
            if not self._sleepers or self._sleepers[0][0] > deadline:
                break
            when, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, when)
            if not future.done():  # a cancelled task's sleep
                future.set_result(None)
        self.now = max(self.now, deadline)


async def settle() -> None:
    """Let every runnable task run until it blocks."""
    for _ in range(20):
        await asyncio.sleep(0)


Respond = Callable[[str, int], Awaitable[SearchResult]]


class FakeClient:
    """Records every search (target name = campaign_id, virtual start time, kwargs) and
    answers with `respond(name, n)`, n counting that target's calls from 0."""

    def __init__(self, vt: VirtualTime, respond: Respond) -> None:
        self.vt = vt
        self.respond = respond
        self.calls: list[tuple[str, float]] = []
        self.kwargs: list[dict] = []
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()

    async def search(self, campaign_id=None, queue_id=None, user_id=None, skills=None):
        name = campaign_id
        n = sum(1 for called, _ in self.calls if called == name)
        self.calls.append((name, self.vt.now))
        self.kwargs.append(dict(campaign_id=campaign_id, queue_id=queue_id, user_id=user_id,
                                skills=skills))
        self.in_flight[name] += 1
        self.max_in_flight[name] = max(self.max_in_flight[name], self.in_flight[name])
        try:
            return await self.respond(name, n)
        finally:
            self.in_flight[name] -= 1

    def starts(self, name: str) -> list[float]:
        return [at for called, at in self.calls if called == name]


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:])]


def target(name: str, **fields) -> Target:
    return Target(name=name, campaign_id=name, **fields)


def make_poller(vt: VirtualTime, targets, client, *, interval=10.0, max_backoff=80.0,
                jitter=0.0, **kwargs) -> Poller:
    return Poller(targets, client, interval=interval, max_backoff=max_backoff, clock=vt.clock,
                  wall=vt.wall, sleep=vt.sleep, rng=random.Random(7), jitter=jitter, **kwargs)


def run_for(poller: Poller, vt: VirtualTime, until: float, then=None) -> None:
    """Run the poller from virtual time 0 to `until`, call `then()` (may be async), stop."""

    async def main() -> None:
        task = asyncio.create_task(poller.run())
        await vt.run_until(until)
        if then is not None:
            outcome = then()
            if asyncio.iscoroutine(outcome):
                await outcome
        await poller.stop()
        await task

    asyncio.run(main())


def always(result: SearchResult) -> Respond:
    async def respond(name: str, n: int) -> SearchResult:
        return result

    return respond


def failing(error: Exception) -> Respond:
    async def respond(name: str, n: int) -> SearchResult:
        raise error

    return respond


def script(*outcomes) -> Respond:
    """Answer call n with outcomes[n] (the last one repeats); exceptions are raised."""

    async def respond(name: str, n: int) -> SearchResult:
        outcome = outcomes[min(n, len(outcomes) - 1)]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return respond


# --- one poll -------------------------------------------------------------------------


def test_success_updates_state_and_generation():
    vt = VirtualTime()

    async def respond(name: str, n: int) -> SearchResult:
        vt.now += 0.25  # the request takes a quarter second
        return RESULT

    client = FakeClient(vt, respond)
    seen: list[TargetState] = []
    t = target("sales", queue_id="q1", user_id="u1", skills=("es", "en"))
    poller = make_poller(vt, [t], client, on_change=seen.append)
    vt.now = 5.0
    asyncio.run(poller.poll_once("sales"))

    state = poller.states["sales"]
    assert client.kwargs == [dict(campaign_id="sales", queue_id="q1", user_id="u1",
                                  skills=("es", "en"))]
    assert state.up and state.attempted
    assert state.snapshot is RESULT
    assert state.last_success == WALL0 + 5.25
    assert state.last_duration == pytest.approx(0.25)
    assert state.last_error is None and state.last_error_kind is None
    assert state.consecutive_failures == 0
    assert state.generation == 1
    assert seen == [state]


def test_failure_sets_down_at_once_and_keeps_last_snapshot():
    vt = VirtualTime()
    client = FakeClient(vt, script(
        RESULT,
        ServerError("HTTP 503 from search", status=503),
        ProtocolError("not JSON:\n<html>\n  oops"),
        OTHER_RESULT,
    ))
    seen: list[int] = []
    poller = make_poller(vt, [target("sales")], client,
                         on_change=lambda s: seen.append(s.generation))

    async def main() -> None:
        await poller.poll_once("sales")
        vt.now = 10.0
        await poller.poll_once("sales")
        state = poller.states["sales"]
        assert not state.up
        assert state.snapshot is RESULT
        assert state.last_success == WALL0  # unchanged by the failure
        assert state.last_error == "HTTP 503 from search"
        assert state.last_error_kind == "server"
        assert state.errors_by_kind == {"server": 1}
        assert state.consecutive_failures == 1
        assert state.generation == 2

        await poller.poll_once("sales")
        state = poller.states["sales"]
        assert state.last_error == "not JSON: <html> oops"  # one line
        assert state.last_error_kind == "protocol"
        assert state.errors_by_kind == {"server": 1, "protocol": 1}
        assert state.consecutive_failures == 2

        await poller.poll_once("sales")
        state = poller.states["sales"]
        assert state.up and state.snapshot is OTHER_RESULT
        assert state.last_error is None and state.last_error_kind is None
        assert state.consecutive_failures == 0
        assert state.errors_by_kind == {"server": 1, "protocol": 1}  # cumulative

    asyncio.run(main())
    assert seen == [1, 2, 3, 4]


# --- schedule -------------------------------------------------------------------------


def test_first_round_is_immediate_then_fixed_rate_from_poll_start():
    vt = VirtualTime()

    async def respond(name: str, n: int) -> SearchResult:
        await vt.wait(3.0)  # shorter than the interval
        return RESULT

    client = FakeClient(vt, respond)
    poller = make_poller(vt, [target("a"), target("b")], client)
    run_for(poller, vt, 45)
    assert client.starts("a") == [0, 10, 20, 30, 40]
    assert client.starts("b") == [0, 10, 20, 30, 40]


def test_success_interval_is_jittered_within_bounds():
    vt = VirtualTime()
    client = FakeClient(vt, always(RESULT))
    poller = make_poller(vt, [target("a")], client, jitter=0.1)
    run_for(poller, vt, 500)
    intervals = gaps(client.starts("a"))
    assert len(intervals) > 40
    assert all(9.0 - 1e-9 <= gap <= 11.0 + 1e-9 for gap in intervals)
    assert len({round(gap, 6) for gap in intervals}) > 10  # really jittered


def test_backoff_doubles_up_to_max_backoff():
    vt = VirtualTime()
    client = FakeClient(vt, failing(ServerError("HTTP 502")))
    poller = make_poller(vt, [target("a")], client, interval=10, max_backoff=80)
    run_for(poller, vt, 400)
    assert gaps(client.starts("a")) == [10, 20, 40, 80, 80, 80, 80]


def test_backoff_jitter_stays_within_bounds():
    vt = VirtualTime()
    client = FakeClient(vt, failing(ServerError("HTTP 502")))
    poller = make_poller(vt, [target("a")], client, interval=10, max_backoff=80, jitter=0.1)
    run_for(poller, vt, 2000)
    delays = gaps(client.starts("a"))
    bases = [10, 20, 40] + [80] * (len(delays) - 3)
    assert len(delays) > 10
    for delay, base in zip(delays, bases):
        assert base * 0.9 - 1e-9 <= delay <= base * 1.1 + 1e-9, (delay, base)
    assert any(abs(delay - base) > 1e-6 for delay, base in zip(delays, bases))


def test_backoff_is_never_faster_than_the_interval():
    vt = VirtualTime()
    client = FakeClient(vt, failing(ServerError("HTTP 502")))
    poller = make_poller(vt, [target("a")], client, interval=10, max_backoff=5)
    run_for(poller, vt, 50)
    assert gaps(client.starts("a")) == [10, 10, 10, 10, 10]


def test_backoff_survives_very_many_failures():
    vt = VirtualTime()
    client = FakeClient(vt, failing(ServerError("HTTP 502")))
    poller = make_poller(vt, [target("a")], client, interval=10.0, max_backoff=80.0)
    # ~ a week of a dead API; states are immutable, so publish one that says so.
    poller._states = MappingProxyType({"a": dataclasses.replace(poller.states["a"], consecutive_failures=5000)})
    run_for(poller, vt, 100)
    assert gaps(client.starts("a")) == [80]


def test_a_slow_failure_is_followed_by_its_whole_backoff_as_the_log_says(caplog):
    """A poll that fails after 15 s (a timeout) with a 10 s interval: the next one came at
    once (the delay was counted from the start), though the log said "next in 10.0s";
    the backoff never slowed a timing-out API down."""
    vt = VirtualTime()

    async def respond(name: str, n: int) -> SearchResult:
        await vt.wait(15.0)
        raise ApiTimeout("no complete answer within 15s")

    client = FakeClient(vt, respond)
    poller = make_poller(vt, [target("a")], client, interval=10, max_backoff=80)
    with caplog.at_level(logging.DEBUG, logger="convoso_exporter.poll.poller"):
        run_for(poller, vt, 200)
    assert client.starts("a") == [0, 25, 60, 115]  # 15 s each, then 10, 20, 40 s of backoff
    announced = [float(r.getMessage().rsplit("next in ", 1)[1].rstrip("s")) for r in caplog.records
                 if "poll failed in" in r.getMessage()]
    assert announced[:3] == [10.0, 20.0, 40.0]
    assert [b - a - 15 for a, b in zip(client.starts("a"), client.starts("a")[1:])] == announced[:3]


def test_retry_after_is_honoured_and_capped():
    vt = VirtualTime()
    client = FakeClient(vt, script(
        RateLimited("HTTP 429", retry_after=300),   # longer than the backoff: wait 300
        RateLimited("HTTP 429", retry_after=3),     # shorter than the backoff (20): wait 20
        RateLimited("HTTP 429", retry_after=1e9),   # hostile: capped
        RESULT,
    ))
    poller = make_poller(vt, [target("a")], client, interval=10, max_backoff=60)
    run_for(poller, vt, 300 + 20 + MAX_RETRY_AFTER + 15)
    assert gaps(client.starts("a")) == [300, 20, MAX_RETRY_AFTER, 10]
    assert MAX_RETRY_AFTER == 3600


def test_recovers_on_the_first_poll_after_the_fault_clears():
    vt = VirtualTime()
    boom = ConnectionFailed("connection refused")
    client = FakeClient(vt, script(boom, boom, boom, RESULT))
    ups: list[bool] = []
    poller = make_poller(vt, [target("a")], client, interval=10, max_backoff=80,
                         on_change=lambda s: ups.append(s.up))
    run_for(poller, vt, 100)
    state = poller.states["a"]
    assert ups[:5] == [False, False, False, True, True]
    assert gaps(client.starts("a"))[:5] == [10, 20, 40, 10, 10]
    assert state.up and state.consecutive_failures == 0
    assert state.errors_by_kind == {"connection": 3}


def test_polls_of_one_target_never_overlap():
    vt = VirtualTime()

    async def respond(name: str, n: int) -> SearchResult:
        await vt.wait(25.0)  # longer than the interval
        return RESULT

    client = FakeClient(vt, respond)
    poller = make_poller(vt, [target("a")], client, interval=10)
    run_for(poller, vt, 100)
    assert client.max_in_flight["a"] == 1
    assert client.starts("a") == [0, 25, 50, 75, 100]  # the next starts as soon as one ends


def test_slow_target_does_not_delay_the_others_and_ready_waits_for_it():
    vt = VirtualTime()
    release = asyncio.Event()

    async def respond(name: str, n: int) -> SearchResult:
        if name == "slow" and n == 0:
            await release.wait()
        return RESULT

    client = FakeClient(vt, respond)
    poller = make_poller(vt, [target("slow"), target("fast")], client, interval=10)
    readiness: list[bool] = []

    async def main() -> None:
        task = asyncio.create_task(poller.run())
        await vt.run_until(55)
        readiness.append(poller.ready())
        release.set()
        await settle()
        readiness.append(poller.ready())
        await poller.stop()
        await task

    asyncio.run(main())
    assert client.starts("fast") == [0, 10, 20, 30, 40, 50]
    assert client.starts("slow") == [0]
    assert readiness == [False, True]


def test_ready_after_the_first_round_even_if_a_target_fails():
    vt = VirtualTime()

    async def respond(name: str, n: int) -> SearchResult:
        if name == "bad":
            raise AuthError("invalid token", status=401)
        return RESULT

    client = FakeClient(vt, respond)
    poller = make_poller(vt, [target("good"), target("bad")], client)
    before = poller.ready()
    during: list[bool] = []
    run_for(poller, vt, 0, then=lambda: during.append(poller.ready()))
    assert before is False
    assert during == [True]
    assert poller.states["good"].up and not poller.states["bad"].up


# --- reload ---------------------------------------------------------------------------


def test_replace_keeps_unchanged_targets_drops_removed_and_adds_new():
    vt = VirtualTime()
    old_client = FakeClient(vt, always(RESULT))
    new_client = FakeClient(vt, always(OTHER_RESULT))
    poller = make_poller(vt, [target("a"), target("b"), target("c")], old_client, interval=10)
    kept: dict[str, TargetState] = {}
    states_dict = poller.states

    async def reload() -> None:
        kept.update(poller.states)
        poller.replace([target("d"), target("a"), target("b", queue_id="q2")], new_client)
        assert not poller.ready()  # d and the new b have not been polled yet
        await settle()
        assert poller.ready()

    async def main() -> None:
        task = asyncio.create_task(poller.run())
        await vt.run_until(5)
        await reload()
        await vt.run_until(35)
        await poller.stop()
        await task

    asyncio.run(main())
    assert poller.states is not states_dict  # replaced whole, never edited
    assert list(states_dict) == ["a", "b", "c"]  # what a reader took before the reload
    assert list(poller.states) == ["d", "a", "b"]  # the new config's order
    a = poller.states["a"]
    assert a.target is kept["a"].target
    assert a.snapshot is OTHER_RESULT and a.generation == 4  # 1 before the reload, 3 after: kept
    assert poller.states["b"] is not kept["b"]
    assert poller.states["b"].target.queue_id == "q2"
    assert old_client.calls == [("a", 0), ("b", 0), ("c", 0)]
    assert new_client.starts("a") == [10, 20, 30]  # its schedule carried on
    assert new_client.starts("b") == [5, 15, 25, 35]  # started afresh
    assert new_client.starts("d") == [5, 15, 25, 35]
    assert new_client.starts("c") == []


def test_a_poll_that_finishes_after_its_target_was_redefined_publishes_nothing():
    vt = VirtualTime()
    release = asyncio.Event()

    async def slow(name: str, n: int) -> SearchResult:
        await release.wait()
        return RESULT

    client = FakeClient(vt, slow)
    poller = make_poller(vt, [target("a")], client)
    seen: list[TargetState] = []
    poller._on_change = seen.append

    async def main() -> None:
        poll = asyncio.create_task(poller.poll_once("a"))
        await settle()
        poller.replace([target("a", queue_id="q9"), target("b")], client)
        replaced = poller.states
        release.set()
        await poll
        # The answer was for the old definition of "a": the new state stays as it was.
        assert poller.states is replaced
        assert poller.states["a"].target.queue_id == "q9" and not poller.states["a"].attempted

    asyncio.run(main())
    assert seen == []


def test_replace_before_run_applies_at_start():
    vt = VirtualTime()
    client = FakeClient(vt, always(RESULT))
    poller = make_poller(vt, [target("a")], client)
    poller.replace([target("b")], client)
    run_for(poller, vt, 0)
    assert [name for name, _ in client.calls] == ["b"]


def test_a_failure_caused_by_replacing_the_client_is_retried_on_the_new_one():
    vt = VirtualTime()
    in_flight = asyncio.Event()
    closed = asyncio.Event()

    async def old_respond(name: str, n: int) -> SearchResult:
        in_flight.set()
        await closed.wait()
        raise ConnectionFailed("client closed")  # what aclose() does to a request in flight

    old_client = FakeClient(vt, old_respond)
    new_client = FakeClient(vt, always(RESULT))
    poller = make_poller(vt, [target("a")], old_client)

    async def main() -> None:
        task = asyncio.create_task(poller.run())
        await in_flight.wait()
        poller.replace([target("a")], new_client)
        closed.set()
        await settle()
        await poller.stop()
        await task

    asyncio.run(main())
    state = poller.states["a"]
    assert new_client.starts("a") == [0]
    assert state.up and state.errors_by_kind == {} and state.generation == 1


# --- logging --------------------------------------------------------------------------


def test_logs_once_per_state_change(caplog):
    caplog.set_level(logging.DEBUG, logger="convoso_exporter.poll.poller")
    vt = VirtualTime()
    auth = AuthError("invalid token", status=401)
    server = ServerError("HTTP 500", status=500)
    client = FakeClient(vt, script(auth, auth, auth, auth, auth, server, server, RESULT, RESULT))
    poller = make_poller(vt, [target("sales")], client, interval=10, max_backoff=10)
    run_for(poller, vt, 85)

    assert len(client.calls) == 9
    by_level = lambda level: [r for r in caplog.records if r.levelno == level]  # noqa: E731
    assert [r.getMessage() for r in by_level(logging.WARNING)] == [
        "target sales: poll failed: auth: invalid token",
        "target sales: poll failed: server: HTTP 500",
    ]
    assert [r.getMessage() for r in by_level(logging.INFO)] == [
        "target sales: recovered after 7 failed polls",
    ]
    assert len(by_level(logging.DEBUG)) == 9  # one per poll
    assert all(r.target == "sales" for r in caplog.records)


# --- robustness -----------------------------------------------------------------------


def test_unexpected_exception_from_the_client_does_not_kill_the_loop(caplog):
    caplog.set_level(logging.WARNING, logger="convoso_exporter.poll.poller")
    vt = VirtualTime()
    client = FakeClient(vt, script(KeyError("boom"), KeyError("boom"), RESULT))
    kinds: list[str | None] = []
    poller = make_poller(vt, [target("a")], client, interval=10, max_backoff=80,
                         on_change=lambda s: kinds.append(s.last_error_kind))
    run_for(poller, vt, 40)
    state = poller.states["a"]
    assert client.starts("a") == [0, 10, 30, 40]
    assert kinds == [INTERNAL, INTERNAL, None, None]
    assert state.up and state.errors_by_kind == {INTERNAL: 2}
    assert [r.getMessage() for r in caplog.records] == [
        "target a: poll failed: internal: KeyError: 'boom'"
    ]


def test_a_failing_on_change_does_not_kill_the_loop(caplog):
    vt = VirtualTime()
    client = FakeClient(vt, always(RESULT))

    def on_change(state: TargetState) -> None:
        raise RuntimeError("renderer bug")

    poller = make_poller(vt, [target("a")], client, interval=10, on_change=on_change)
    run_for(poller, vt, 20)
    assert client.starts("a") == [0, 10, 20]
    assert poller.states["a"].generation == 3
    assert any("on_change failed" in r.getMessage() for r in caplog.records)


def test_stop_returns_promptly_while_a_poll_is_in_flight():
    in_flight = asyncio.Event()
    cancelled: list[str] = []

    class HangingClient:
        async def search(self, campaign_id=None, **_):
            if campaign_id == "idle":
                return RESULT  # this target's task will be sleeping, not polling
            in_flight.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(campaign_id)
                raise

    # Real clock and sleep: stop() must cut a 60 s sleep and a hanging request short.
    poller = Poller([target("hang"), target("idle")], HangingClient(), interval=60,
                    max_backoff=120)

    async def main() -> None:
        task = asyncio.create_task(poller.run())
        await in_flight.wait()
        await settle()
        async with asyncio.timeout(5):
            await poller.stop()
        # stop() itself cancelled the polls and waited for them, before run() returned.
        assert cancelled == ["hang"]
        assert asyncio.all_tasks() - {asyncio.current_task(), task} == set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(main())
    assert poller.states["idle"].up and not poller.states["hang"].attempted


def test_run_after_stop_returns_at_once():
    vt = VirtualTime()
    client = FakeClient(vt, always(RESULT))
    poller = make_poller(vt, [target("a")], client)

    async def main() -> None:
        await poller.stop()
        await asyncio.wait_for(poller.run(), timeout=5)

    asyncio.run(main())
    assert client.calls == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(interval=0, max_backoff=10), "poll interval must be positive, got 0"),
        (dict(interval=10, max_backoff=-1), "max_backoff must be positive, got -1"),
        (dict(interval=10, max_backoff=10, jitter=1.5), "jitter must be in [0, 1), got 1.5"),
    ],
)
def test_bad_settings_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError) as info:
        Poller([target("a")], object(), **kwargs)
    assert str(info.value) == message


def test_duplicate_target_names_are_refused():
    poller = Poller([target("a")], object(), interval=10, max_backoff=10)
    with pytest.raises(ValueError, match="duplicate target name 'a'"):
        poller.replace([target("a"), target("a", queue_id="q")], object())
    with pytest.raises(ValueError, match="duplicate target name 'b'"):
        Poller([target("b"), target("b")], object(), interval=10, max_backoff=10)


# --- progress (what the watchdog reads) -----------------------------------------------------


def test_progress_names_the_oldest_poll_running_and_the_last_one_finished():
    vt = VirtualTime()

    async def respond(name: str, n: int) -> SearchResult:
        await vt.wait(3.0 if name == "slow" else 1.0)
        return RESULT

    poller = make_poller(vt, [target("fast"), target("slow")], FakeClient(vt, respond), interval=10.0)
    seen = {}

    def look() -> None:
        seen["progress"] = poller.progress()

    run_for(poller, vt, 2.0, look)
    # Both started at 0; "fast" finished at 1; "slow" is still running.
    assert seen["progress"].oldest_in_flight == 0.0 and seen["progress"].last_finished == 1.0
    assert seen["progress"].broken == ()


def test_progress_with_nothing_running_has_no_poll_in_flight():
    vt = VirtualTime()
    poller = make_poller(vt, [target("a")], FakeClient(vt, always(RESULT)), interval=10.0)
    seen = {}
    run_for(poller, vt, 5.0, lambda: seen.setdefault("progress", poller.progress()))
    assert seen["progress"].oldest_in_flight is None and seen["progress"].last_finished == 0.0


def test_a_polling_task_that_ends_on_a_bug_is_named_broken(caplog):
    vt = VirtualTime()
    poller = make_poller(vt, [target("a"), target("b")], FakeClient(vt, always(RESULT)), interval=10.0)

    def publish_fails_for_a(previous, state):
        if state.target.name == "a":
            raise RuntimeError("bug in publishing")
        return original(previous, state)

    original = poller._publish
    poller._publish = publish_fails_for_a  # type: ignore[method-assign]
    seen = {}
    with caplog.at_level(logging.ERROR):
        run_for(poller, vt, 25.0, lambda: seen.setdefault("progress", poller.progress()))
    assert seen["progress"].broken == ("a",)
    assert "target a: polling stopped on an error: RuntimeError: bug in publishing" in caplog.text


# --- the request-rate ceiling (poll/budget.py) ---------------------------------------------


class ScopeClient(FakeClient):
    """Takes the `agents=False` a discovered target asks with."""

    async def search(self, campaign_id=None, queue_id=None, user_id=None, skills=None, agents=True):
        return await super().search(campaign_id, queue_id, user_id, skills)


def account_and_scopes(scopes: int, every: float) -> list[Target]:
    return [Target("account", kind="account"),
            *(Target(f"campaign:{i}", campaign_id=f"campaign:{i}", kind="campaign", interval=every)
              for i in range(scopes))]


def most_in_a_minute(times: list[float], since: float = 0.0) -> int:
    """The most of `times` (from `since` on) in any 60 seconds [t, t + 60): the windows
    that matter start at one of the times."""
    times = sorted(t for t in times if t >= since)
    return max((bisect.bisect_left(times, t + 60) - i for i, t in enumerate(times)), default=0)


@pytest.mark.parametrize("respond", [always(RESULT), failing(ServerError("boom"))], ids=["ok", "failing"])
def test_200_discovered_targets_every_10s_stay_within_the_ceiling_and_the_account_keeps_its_interval(respond):
    vt = VirtualTime()
    client = ScopeClient(vt, respond)
    poller = make_poller(vt, account_and_scopes(200, 10.0), client, interval=15.0, jitter=0.1,
                         max_requests_per_minute=300)
    run_for(poller, vt, 300)
    assert most_in_a_minute([at for _, at in client.calls]) <= 300  # retries and backoff included
    assert poller.stretch.ratio("campaign") == pytest.approx(1200 / 296) and poller.stretch.ratio("account") == 1
    assert poller._ceiling.limiter._timer is None  # nothing left waiting after stop
    if poller.states["account"].consecutive_failures:
        return
    assert len(client.calls) >= 300 * 4  # the ceiling is used, not left idle
    account = client.starts(None)
    # The scopes never hold the account up: it keeps its jittered 15 s (a poll that comes
    # early into a full minute may wait a moment for a grant to leave it).
    assert len(account) >= 300 // 16.5 and max(gaps(account)) <= 15 * 1.1 + 1
    assert poller.states["campaign:0"].stale_after == pytest.approx(3 * 10 * 1200 / 296)


def test_without_a_ceiling_the_same_targets_make_1200_calls_a_minute():
    # What the ceiling prevents: the rate the intervals imply, unbounded.
    vt = VirtualTime()
    client = ScopeClient(vt, always(RESULT))
    run_for(make_poller(vt, account_and_scopes(200, 10.0), client, interval=15.0), vt, 59)
    assert most_in_a_minute([at for _, at in client.calls]) == 1204


def test_a_reload_that_lowers_the_ceiling_applies_at_once_and_counts_the_last_minute():
    vt = VirtualTime()
    client = ScopeClient(vt, always(RESULT))
    targets = account_and_scopes(20, 60.0)
    poller = make_poller(vt, targets, client, interval=15.0, max_requests_per_minute=300)
    assert not poller.stretch.stretched

    async def reload() -> None:
        await vt.run_until(310)
        poller.replace(targets, max_requests_per_minute=10)
        assert poller.stretch.stretched and poller.stretch.ratio("account") == 1
        assert poller.states["campaign:0"].stale_after == pytest.approx(3 * 60 * 20 / 6)
        await vt.run_until(900)

    run_for(poller, vt, 0, then=reload)
    before = [at for _, at in client.calls if at <= 310]
    assert most_in_a_minute(before) == 24  # 4 of the account's, 20 scopes'
    assert most_in_a_minute([at for _, at in client.calls], since=310) <= 10
    assert len(client.calls) - len(before) >= 10 * 9


def test_a_call_of_several_requests_takes_a_turn_under_the_ceiling_for_each():
    """`call` (poll/calls.py) makes the poll's requests: each one after the first waits its
    turn, so the ceiling counts an agent-performance poll that closes the day before too."""
    vt = VirtualTime()
    asked: list[float] = []

    async def two_requests(client, state, wall, turn):
        asked.append(vt.now)
        await turn()
        asked.append(vt.now)
        return RESULT

    poller = make_poller(vt, [target("a", interval=1.0)], FakeClient(vt, always(RESULT)), interval=1.0,
                         max_requests_per_minute=10, call=two_requests)
    run_for(poller, vt, 120)
    assert most_in_a_minute(asked) <= 10 and len(asked) >= 18
    assert poller.states["a"].up
