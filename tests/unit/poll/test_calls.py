"""poll/calls.py: what one poll asks, by the target's kind; agent-performance of the
account's day in its time zone, and the day before once more (in turn) at the first poll
of a new day, for a campaign only."""

from __future__ import annotations

import asyncio
import datetime
import zoneinfo

from convoso_exporter.api.endpoints.activity import UserActivity
from convoso_exporter.api.endpoints.performance import PerformanceAnswer
from convoso_exporter.config.schema import Target
from convoso_exporter.poll.calls import Calls, closing_day
from convoso_exporter.poll.state import TargetState

ZONE = "America/New_York"
# 2026-11-25 00:03 in New York (05:03 UTC): just past the account's midnight.
PAST_MIDNIGHT = datetime.datetime(2026, 11, 25, 0, 3, tzinfo=zoneinfo.ZoneInfo(ZONE)).timestamp()
SALES = Target("performance:campaign:1", campaign_id="1", kind="performance", interval=300.0, scope="campaign:1")
AGENTS = Target("performance:account", kind="performance", interval=300.0, scope="account")


class Client:
    """Records what is asked, in order, with the turns taken between."""

    def __init__(self) -> None:
        self.asked: list[tuple] = []

    async def search(self, **filters):
        self.asked.append(("search", filters))
        return "searched"

    async def user_activity(self, **filters):
        self.asked.append(("user_activity", filters))
        return UserActivity(3, 1)

    async def performance(self, day, campaign_id=None, *, turn=None):
        self.asked.append(("performance", day, campaign_id))
        return PerformanceAnswer(day, ())


def poll(target: Target, snapshot=None, wall: float = PAST_MIDNIGHT) -> tuple[object, list]:
    client, calls = Client(), Calls(ZONE)
    state = TargetState(target)
    if snapshot is not None:
        state = state.succeeded(snapshot, wall=wall - 300, duration=0.1)

    async def turn() -> None:
        client.asked.append("turn")

    return asyncio.run(calls(client, state, wall, turn)), client.asked


def test_each_kind_asks_its_own_endpoint_with_the_scopes_filter():
    assert poll(Target("account", kind="account"))[1] == [("search", {})]
    assert poll(Target("queue:2", queue_id="2", kind="queue"))[1] == [("search", {"queue_id": "2", "agents": False})]
    ua = Target("user_activity:campaign:1", campaign_id="1", kind="user_activity", scope="campaign:1")
    assert poll(ua)[1] == [("user_activity", {"campaign_id": "1"})]
    assert poll(SALES)[1] == [("performance", "2026-11-25", "1")]  # the account's day, not UTC's


def test_the_first_poll_of_a_new_day_closes_the_day_before_first_in_turn():
    yesterday = PerformanceAnswer("2026-11-24", ())
    answer, asked = poll(SALES, yesterday)
    assert asked == [("performance", "2026-11-24", "1"), "turn", ("performance", "2026-11-25", "1")]
    assert answer.day == "2026-11-25" and answer.closing.day == "2026-11-24"
    # Once closed, the next poll asks for today alone; the account's (gauges only) never closes.
    assert poll(SALES, answer)[1] == [("performance", "2026-11-25", "1")]
    assert poll(AGENTS, yesterday)[1] == [("performance", "2026-11-25", None)]


def test_closing_day():
    state = TargetState(SALES)
    assert closing_day(state, "2026-11-25") is None  # never answered: nothing to close
    answered = state.succeeded(PerformanceAnswer("2026-11-22", ()), wall=0.0, duration=0.0)
    assert closing_day(answered, "2026-11-25") == "2026-11-22"  # down for days: its last day closes
    assert closing_day(answered, "2026-11-22") is None
