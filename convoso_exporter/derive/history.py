"""What the exporter derives from a target's successive answers: its day counters and,
for the account, agent time; for a campaign's agent-performance target, its counters of
Convoso's own figures (derive/performance.py). Advanced once per successful poll, from
the previous state's `Derived` (immutable, like the state that carries it).

Day counters are kept per target: a discovered campaign's or queue's go with its target
when discovery drops it (three discovery intervals after its scope left the account's
answer). Agent time is kept per campaign, queue and status, and follows the same rule
(`expiry.py`): `discovery_interval` is the config's `discovery.interval`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from convoso_exporter.api.model import SearchResult
from convoso_exporter.config.schema import ACCOUNT, ACCOUNT_TARGET, PERFORMANCE, USER_ACTIVITY, DiscoverySettings, Target
from convoso_exporter.derive.agent_time import AgentTime, account_time
from convoso_exporter.derive.breakdown import distinct_agents
from convoso_exporter.derive.counters import Calendar, DayCounters, count_day
from convoso_exporter.derive.performance import count_performance, new_counters
from convoso_exporter.expiry import linger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Derived:
    counters: DayCounters = field(default_factory=DayCounters)
    agent_time: AgentTime | None = None  # the account target only


class Deriver:
    """Advances a target's `Derived` by one answer. Pure but for logging the start of
    each glitch episode (once per episode, not once per poll)."""

    def __init__(self, timezone: str = "UTC", discovery_interval: float = DiscoverySettings.interval) -> None:
        self.calendar = Calendar(timezone)
        self.keep_for = linger(discovery_interval)  # agent-time cells absent this long are forgotten

    def advance(self, target: Target, previous: Derived | None, result: SearchResult, wall: float) -> Derived | None:
        """`previous` advanced by one answer; None (nothing derived) for user-activity and
        the account's agent-performance answers, which publish only what they say."""
        if target.kind == USER_ACTIVITY or (target.kind == PERFORMANCE and target.scope == ACCOUNT_TARGET):
            return None
        if target.kind == PERFORMANCE:
            counters = previous.counters if previous is not None else new_counters()
            counters, glitches = count_performance(counters, result, wall, self.calendar)
            self._log_glitches(target, glitches)
            return Derived(counters)
        previous = previous if previous is not None else Derived()
        counters, glitches = count_day(previous.counters, result, wall, self.calendar)
        self._log_glitches(target, glitches)
        agent_time = previous.agent_time
        if target.kind == ACCOUNT:
            agent_time = account_time(agent_time or AgentTime(), distinct_agents(result.agents), wall,
                                      self.keep_for)
        return Derived(counters, agent_time)

    def _log_glitches(self, target: Target, glitches: list[tuple[str, str]]) -> None:
        for counter, kind in glitches:
            log.warning("target %s: %s went down outside the day boundary (%s); not counted", target.name,
                        counter, kind, extra={"target": target.name})
