"""What the optional endpoints' targets publish (poll/endpoints.py), labelled with the
scope they go beside (`target="campaign:<id>"`, `"account"`), never with their own name:
they have no `convoso_up` of their own (their requests are counted in
`convoso_exporter_api_requests_total{endpoint}`, and whether the endpoint is polled in
`convoso_exporter_endpoint_enabled`).

- user-activity: `convoso_user_activity_agents{target, state}` of the account and of
  each campaign, while fresh;
- a campaign's agent-performance: today's figures (sums over its agents) as gauges and
  the exporter's counters of them (derive/performance.py), while fresh; its glitches
  always, from 0;
- the account's agent-performance (only with `agent_metrics`): each agent's figures of
  the day, once per agent (the API sums them over campaigns), for the lowest
  `max_agents_per_target` user ids, as the other per-agent series.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from convoso_exporter.api.endpoints.activity import UserActivity
from convoso_exporter.api.endpoints.performance import PerformanceAnswer
from convoso_exporter.config.schema import ACCOUNT_TARGET, PERFORMANCE, USER_ACTIVITY
from convoso_exporter.derive.counters import GLITCH_KINDS
from convoso_exporter.derive.history import Derived
from convoso_exporter.derive.performance import ACTIVITIES, FIGURES
from convoso_exporter.expose.account import by_user_id
from convoso_exporter.expose.catalog import new_family
from convoso_exporter.expose.exposition import Family
from convoso_exporter.poll.state import TargetState

# The families of a campaign's figures, in `performance.READ` order: (today's gauge,
# the counter), `activity` label value or None.
CAMPAIGN_FIGURES: tuple[tuple[str, str, str | None], ...] = (
    ("convoso_campaign_live_answered_today", "convoso_campaign_live_answered_total", None),
    ("convoso_campaign_machine_answered_today", "convoso_campaign_machine_answered_total", None),
    ("convoso_campaign_agent_calls_today", "convoso_campaign_agent_calls_total", None),
    *(("convoso_campaign_agent_seconds_today", "convoso_campaign_agent_seconds_total", a) for a in ACTIVITIES),
)
# The per-agent families, in `performance.READ` order (None: not published per agent).
AGENT_FIGURES: tuple[tuple[str, str | None] | None, ...] = (
    ("convoso_agent_live_answered_today", None),
    ("convoso_agent_machine_answered_today", None),
    None,  # calls: the agent's calls_today (agent-monitor) says it already
    *(("convoso_agent_activity_seconds_today", a) for a in ACTIVITIES),
)
STATES = (("logged_in", "logged_in"), ("available", "available"))  # (label value, UserActivity field)
GLITCHES = "convoso_exporter_performance_glitches_total"  # a campaign's, by kind, from 0


def endpoint_families(state: TargetState, now: float, agent_metrics: bool, max_agents: int) -> list[Family]:
    """One optional endpoint's target's families (see the module docstring)."""
    target = state.target
    if not target.publish or target.scope is None:
        return []
    scope, snapshot = target.scope, state.snapshot
    campaign = target.kind == PERFORMANCE and scope != ACCOUNT_TARGET
    families = [glitch_family(GLITCHES, scope, state.derived, FIGURES)] if campaign else []
    if snapshot is not None and state.fresh(now):
        if target.kind == USER_ACTIVITY:
            families.append(_activity(scope, snapshot))
        elif campaign:
            families += _campaign(scope, snapshot, state.derived)
        elif agent_metrics:
            families += _agents(snapshot, max_agents)
    return [family for family in families if family.metrics]


def _activity(scope: str, answer: UserActivity) -> Family:
    family = new_family("convoso_user_activity_agents")
    for label, field in STATES:
        value = getattr(answer, field)
        if value is not None:
            family.add((scope, label), value)
    return family


def _new_families(names: Iterable[str]) -> dict[str, Family]:
    """One empty family per distinct name, in first-seen order (the output's order).
    Made once before the loops: `setdefault(name, new_family(name))` built, and threw
    away, a family per agent and figure (~30,000 at 5,000 agents, each render)."""
    return {name: new_family(name) for name in dict.fromkeys(names)}


def _campaign(scope: str, answer: PerformanceAnswer, derived: Derived | None) -> list[Family]:
    families = _new_families(name for gauge, counter, _ in CAMPAIGN_FIGURES for name in (gauge, counter))
    tallies = derived.counters.tallies if derived is not None else (None,) * len(FIGURES)
    for (gauge, counter, activity), value, tally in zip(CAMPAIGN_FIGURES, answer.sums(), tallies):
        labels = (scope,) if activity is None else (scope, activity)
        if value is not None:
            families[gauge].add(labels, value)
        if tally is not None and tally.baseline is not None:
            families[counter].add(labels, tally.total, tally.created)
    return list(families.values())


def _agents(answer: PerformanceAnswer, limit: int) -> list[Family]:
    families = _new_families(figure[0] for figure in AGENT_FIGURES if figure is not None)
    for agent in by_user_id(answer.agents or ())[:limit]:
        for figure, value in zip(AGENT_FIGURES, agent.figures):
            if figure is not None and value is not None:
                name, activity = figure
                labels = (agent.user_id,) if activity is None else (agent.user_id, activity)
                families[name].metrics.append((labels, value))
    return list(families.values())


def glitch_family(name: str, scope: str, derived: Derived | None, counters: Sequence[str]) -> Family:
    """`name`'s glitches of `scope`, by kind from 0, summed over `counters` (the names its
    day counters are kept under). Here, not in families.py, which imports this module:
    the day figures' glitches (families.py) and a campaign's performance glitches share it."""
    family = new_family(name)
    day = derived.counters if derived is not None else None
    for kind in GLITCH_KINDS:
        total = sum(day.glitch_count(counter, kind) for counter in counters) if day is not None else 0
        family.add((scope, kind), total)
    return family
