"""What one poll of a target asks the API, by the target's kind: agent-monitor search;
user-activity search (poll/endpoints.py); or agent-performance search of the account's
day, in the config's time zone, and at the first poll of a new day, of the day before
once more first (the close: `closing_day`), so that no day's last minutes are lost.
Every request after a poll's first waits its turn under the ceiling (`turn`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from convoso_exporter.api.endpoints.performance import PerformanceAnswer
from convoso_exporter.config.schema import ACCOUNT_TARGET, PERFORMANCE, USER_ACTIVITY
from convoso_exporter.derive.counters import Calendar
from convoso_exporter.poll.state import TargetState

Turn = Callable[[], Awaitable[None]]
# (client, the target's state, the poll's wall-clock time, turn) -> the poll's result.
Call = Callable[[Any, TargetState, float, Turn], Awaitable[Any]]


def closing_day(state: TargetState, today: str) -> str | None:
    """The day a campaign's agent-performance poll closes before asking for `today`: the
    day of its last answer, when that was an earlier day. (The account's, gauges only,
    closes nothing.)"""
    last: PerformanceAnswer | None = state.snapshot
    if last is None or state.target.scope == ACCOUNT_TARGET:
        return None
    return last.day if last.day < today else None


class Calls:
    """The request(s) of one poll; the account's days are `timezone`'s."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.calendar = Calendar(timezone)

    async def __call__(self, client: Any, state: TargetState, wall: float, turn: Turn) -> Any:
        target = state.target
        if target.kind == USER_ACTIVITY:
            return await client.user_activity(**target.filters())
        if target.kind == PERFORMANCE:
            return await self.performance(client, state, wall, turn)
        # A discovered campaign or queue publishes its own figures only: its agents (all
        # in the account answer) are not kept.
        options = {} if target.keeps_agents else {"agents": False}
        return await client.search(**target.filters(), **options)

    async def performance(self, client: Any, state: TargetState, wall: float, turn: Turn) -> PerformanceAnswer:
        today = self.calendar.day(wall)
        campaign = state.target.campaign_id
        closing = closing_day(state, today)
        if closing is None:
            return await client.performance(today, campaign, turn=turn)
        closed = await client.performance(closing, campaign, turn=turn)
        await turn()
        return replace(await client.performance(today, campaign, turn=turn), closing=closed)
