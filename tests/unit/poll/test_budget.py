"""convoso_exporter.poll.budget: the request-rate ceiling's stretch and its limiter.

The limiter runs on the poller tests' virtual time: minutes of waiting take milliseconds.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.config.schema import Target
from convoso_exporter.poll.budget import FLOOR_SHARE, Ceiling, RateLimiter, Stretch, reserve, stretch
from convoso_exporter.poll.plan import calls_per_minute, stretch_priority
from tests.unit.poll.test_poller import VirtualTime, most_in_a_minute, settle

# A 2,000-agent account at the default intervals: the account every 15 s, 20 campaigns
# and 40 queues every 60 s.
DEFAULT_2000 = {"account": 4.0, "campaign": 20.0, "queue": 40.0}


# --- the stretch ------------------------------------------------------------------------


def test_below_the_ceiling_nothing_is_stretched():
    plan = stretch(DEFAULT_2000, 300)
    assert not plan.stretched and plan.planned_total == 64 and plan.effective == 64
    assert [plan.ratio(kind) for kind in ("account", "campaign", "queue", "custom")] == [1, 1, 1, 1]
    assert plan.describe() == ("64.0 API calls a minute planned, within the ceiling of 300 "
                               "(convoso.max_requests_per_minute)")


def test_at_the_ceiling_nothing_is_stretched():
    plan = stretch(DEFAULT_2000, 64)
    assert not plan.stretched and plan.effective == 64


def test_above_the_ceiling_the_discovered_scopes_stretch_and_the_account_keeps_its_interval():
    # 200 discovered targets every 2 s (6,000 a minute) and the account every 15 s.
    plan = stretch({"account": 4.0, "campaign": 3000.0, "queue": 3000.0}, 300)
    assert plan.stretched
    assert plan.ratio("account") == 1
    assert plan.ratio("campaign") == plan.ratio("queue") == pytest.approx(6000 / 296)
    assert plan.effective == pytest.approx(300)
    assert plan.verdict() == ("over the ceiling of 300 (convoso.max_requests_per_minute): campaign and queue "
                              "intervals stretched x20.3; account as configured")


def test_just_over_the_ceiling_only_the_discovered_scopes_stretch():
    plan = stretch(DEFAULT_2000, 63)
    assert plan.ratio("account") == 1 and plan.ratio("campaign") == pytest.approx(60 / 59)


def test_explicit_targets_stretch_after_the_discovered_and_before_the_account():
    planned = {"account": 4.0, "custom": 8.0, "campaign": 60.0}
    # Room for the account and the explicit targets: only the discovered ones stretch.
    assert [stretch(planned, 20).ratio(k) for k in ("account", "custom", "campaign")] == [1, 1, 60 / 8]
    # The discovered ones at their floor (a tenth of the ceiling): the explicit ones stretch too.
    plan = stretch(planned, 8)
    assert plan.ratio("account") == 1
    assert plan.ratio("custom") == pytest.approx(8 / (8 - 4 - FLOOR_SHARE * 8))
    assert plan.ratio("campaign") == pytest.approx(60 / (FLOOR_SHARE * 8))
    # Only when the others are both at their floor does the account stretch.
    plan = stretch(planned, 4)
    assert plan.ratio("account") == pytest.approx(4 / 3.2)
    assert plan.effective == pytest.approx(4)


def test_a_new_kind_of_target_is_counted_and_stretched_by_its_kind_and_interval():
    targets = [Target("account", kind="account"),
               *(Target(f"perf:{i}", kind="agent_performance", interval=5.0) for i in range(10))]
    planned = calls_per_minute(targets, 15.0)
    assert planned == {"account": 4.0, "agent_performance": 120.0}
    plan = stretch(planned, 64)
    assert plan.ratio("account") == 1 and plan.ratio("agent_performance") == pytest.approx(2)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["account", "custom", "campaign", "queue", "user_activity"]),
                    st.floats(0.01, 10_000), min_size=1),
    st.integers(1, 2_000),
)
def test_every_plan_fits_and_more_important_kinds_stretch_no_more(planned, ceiling):
    plan = stretch(planned, ceiling)
    assert plan.stretched == (sum(planned.values()) > ceiling)
    assert plan.effective <= ceiling * (1 + 1e-9) or not plan.stretched
    for kind in planned:
        assert plan.ratio(kind) >= 1
        for other in planned:
            if stretch_priority(kind) > stretch_priority(other):
                assert plan.ratio(kind) <= plan.ratio(other) * (1 + 1e-9)


def test_a_kind_that_plans_no_calls_is_left_as_configured():
    plan = stretch({"account": 0.0, "campaign": 400.0}, 100)
    assert plan.ratio("account") == 1 and plan.ratio("campaign") == pytest.approx(4)


def test_the_reserve_is_what_more_important_kinds_plan():
    plan = stretch({"account": 4.0, "custom": 8.0, "campaign": 600.0}, 300)
    assert reserve(plan) == {2: 0, 1: 4, 0: 12}


# --- the limiter ------------------------------------------------------------------------


def run_limiter(limiter: RateLimiter, vt: VirtualTime, requests: list[tuple[float, int]], until: float):
    """Each request (arrival time, priority) acquires once; returns the grant times in request order."""
    granted: list[float | None] = [None] * len(requests)

    async def one(i: int, at: float, priority: int) -> None:
        await vt.sleep(at)
        await limiter.acquire(priority)
        granted[i] = vt.now

    async def main() -> None:
        tasks = [asyncio.create_task(one(i, at, p)) for i, (at, p) in enumerate(requests)]
        await vt.run_until(until)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    return granted


def test_a_burst_at_start_never_puts_more_than_the_ceiling_in_any_minute():
    vt = VirtualTime()
    limiter = RateLimiter(50, clock=vt.clock, sleep=vt.sleep)
    granted = run_limiter(limiter, vt, [(0.0, 0)] * 120 + [(t * 0.5, 0) for t in range(240)], until=600)
    assert None not in granted
    assert most_in_a_minute(granted) == 50
    assert sorted(granted)[:50] == [0.0] * 50  # no needless wait: the first 50 go at once
    assert limiter.waited > 0


def test_waiting_requests_go_by_priority_then_in_arrival_order():
    vt = VirtualTime()
    limiter = RateLimiter(3, clock=vt.clock, sleep=vt.sleep)
    # Three fill the minute; then two discovered ones queue, then the account arrives.
    granted = run_limiter(limiter, vt, [(0, 0)] * 3 + [(1, 0), (2, 0), (3, 2)], until=200)
    assert granted == [0, 0, 0, 60, 60, 60]
    vt = VirtualTime()
    limiter = RateLimiter(1, clock=vt.clock, sleep=vt.sleep)
    granted = run_limiter(limiter, vt, [(0, 0), (1, 0), (2, 0), (3, 2)], until=300)
    assert granted == [0, 120, 180, 60]  # the account first, then the discovered in arrival order


def test_less_important_requests_leave_the_reserve_to_the_account():
    vt = VirtualTime()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep)
    limiter.set_reserve({0: 2, 2: 0})
    granted = run_limiter(limiter, vt, [(0, 0)] * 12 + [(15, 2), (30, 2), (45, 2)], until=100)
    assert sorted(granted[:12]) == [0] * 8 + [60] * 4
    assert granted[12:] == [15, 30, 60]  # the reserve held two; the third waits its turn


def test_a_cancelled_wait_leaves_the_queue():
    vt = VirtualTime()
    limiter = RateLimiter(1, clock=vt.clock, sleep=vt.sleep)

    async def main() -> float:
        await limiter.acquire()
        first = asyncio.create_task(limiter.acquire(2))
        second = asyncio.create_task(limiter.acquire(0))
        await settle()
        first.cancel()
        await vt.run_until(61)
        assert first.cancelled()
        return await second

    assert asyncio.run(main()) == 60  # it waited for the minute, not for the cancelled one
    assert limiter._queue == [] and limiter._waiting == {}


def test_a_new_ceiling_counts_the_grants_of_the_last_minute():
    vt = VirtualTime()
    limiter = RateLimiter(300, clock=vt.clock, sleep=vt.sleep)
    granted = run_limiter(limiter, vt, [(0, 0)] * 100, until=1)
    limiter.set_ceiling(50)
    later = run_limiter(limiter, vt, [(0, 0)], until=120)  # vt.now is 1: arrives at 1
    assert granted == [0] * 100 and later == [60]
    with pytest.raises(ValueError, match="at least 1"):
        limiter.set_ceiling(0)


def test_without_a_ceiling_nothing_waits():
    vt = VirtualTime()
    limiter = RateLimiter(None, clock=vt.clock, sleep=vt.sleep)
    assert run_limiter(limiter, vt, [(0, 0)] * 1000, until=1) == [0] * 1000


# --- the ceiling as the poller applies it -------------------------------------------------


def discovered(n: int, interval: float) -> list[Target]:
    return [Target(f"campaign:{i}", campaign_id=str(i), kind="campaign", interval=interval) for i in range(n)]


def test_the_stretch_is_logged_once_per_episode(caplog):
    caplog.set_level(logging.DEBUG, logger="budget-test")
    vt = VirtualTime()
    ceiling = Ceiling(300, clock=vt.clock, sleep=vt.sleep, logger=logging.getLogger("budget-test"))
    account = Target("account", kind="account")
    ceiling.plan([account, *discovered(200, 10.0)], 15.0)
    ceiling.plan([account, *discovered(250, 10.0)], 15.0)  # a discovery round, still over
    ceiling.plan([account, *discovered(20, 60.0)], 15.0)  # back within
    ceiling.plan([account, *discovered(20, 60.0)], 15.0, per_minute=10)  # a reload lowers it
    levels = [(r.levelname, r.getMessage().split(";")[0]) for r in caplog.records]
    assert levels == [
        ("WARNING", "API request rate: 1204.0 API calls a minute planned, over the ceiling of 300 "
                    "(convoso.max_requests_per_minute): campaign intervals stretched x4.05"),
        ("DEBUG", "API request rate: 1504.0 API calls a minute planned, over the ceiling of 300 "
                  "(convoso.max_requests_per_minute): campaign intervals stretched x5.07"),
        ("INFO", "API request rate: 24.0 API calls a minute planned, within the ceiling of 300 "
                 "(convoso.max_requests_per_minute)"),
        ("WARNING", "API request rate: 24.0 API calls a minute planned, over the ceiling of 10 "
                    "(convoso.max_requests_per_minute): campaign intervals stretched x3.33"),
    ]
    assert "raise convoso.max_requests_per_minute" in caplog.records[0].getMessage()
    assert ceiling.interval(account, 15.0) == 15.0
    assert ceiling.interval(discovered(1, 60.0)[0], 15.0) == pytest.approx(200)
    assert ceiling.limiter.per_minute == 10 and reserve(ceiling.stretch) == {2: 0, 0: 4}


def test_waits_are_logged_once_per_episode(caplog):
    caplog.set_level(logging.INFO, logger="budget-test")
    vt = VirtualTime()
    ceiling = Ceiling(2, clock=vt.clock, sleep=vt.sleep, logger=logging.getLogger("budget-test"))
    target = discovered(1, 60.0)[0]

    async def main() -> None:
        burst = [asyncio.create_task(ceiling.acquire(target)) for _ in range(3)]  # the third waits
        await vt.run_until(120)
        await asyncio.gather(*burst)
        await vt.run_until(200)
        await ceiling.acquire(target)  # 140 s since the last wait: the episode is over
        await ceiling.acquire(target)

    asyncio.run(main())
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "API request rate at the ceiling of 2 a minute (convoso.max_requests_per_minute): polls wait their turn",
        "API request rate: no poll has waited for the ceiling for a minute",
    ]


def test_a_stretch_without_a_ceiling_is_as_configured():
    plan = Stretch(None, {"account": 4.0})
    assert not plan.stretched and plan.describe() == "4.0 API calls a minute planned, no ceiling"
