"""What the exporter derives from a target's successive answers: its day counters and,
for the account, agent time. Advanced once per successful poll, from the previous
state's `Derived` (immutable, like the state that carries it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from convoso_exporter.api.model import SearchResult
from convoso_exporter.config.schema import ACCOUNT, Target
from convoso_exporter.derive.agent_time import AgentTime, account_time
from convoso_exporter.derive.breakdown import distinct_agents
from convoso_exporter.derive.counters import Calendar, DayCounters, count_day

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Derived:
    counters: DayCounters = field(default_factory=DayCounters)
    agent_time: AgentTime | None = None  # the account target only


class Deriver:
    """Advances a target's `Derived` by one answer. Pure but for logging the start of
    each glitch episode (once per episode, not once per poll)."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.calendar = Calendar(timezone)

    def advance(self, target: Target, previous: Derived | None, result: SearchResult, wall: float) -> Derived:
        previous = previous if previous is not None else Derived()
        counters, glitches = count_day(previous.counters, result, wall, self.calendar)
        for counter, kind in glitches:
            log.warning("target %s: %s went down outside the day boundary (%s); not counted", target.name,
                        counter, kind, extra={"target": target.name})
        agent_time = previous.agent_time
        if target.kind == ACCOUNT:
            agent_time = account_time(agent_time or AgentTime(), distinct_agents(result.agents), wall)
        return Derived(counters, agent_time)
