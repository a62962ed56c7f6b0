"""From state to metric families: what each target publishes.

Pure functions of immutable inputs (a published `TargetState`), so the renderer can
call them from a worker thread and cache their output per state. Every published
target has its health series always and its own figures while its data is fresh; the
account target adds the families only the account-wide answer gives (account.py).

Choices where the API is vague:
- Agents repeated with the same user_id in one answer count once (the first wins),
  in the aggregates and in per-agent series.
- In a target's own status counts and distributions, an agent without a status is
  left out of everything keyed by status (it is never counted under an invented
  status); its calls still count. The account breakdown counts it under status "".
- Per-agent series are kept for the lowest `max_agents_per_target` user_ids (string
  order), so the same agents stay in from one poll to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from convoso_exporter.api.errors import ERROR_KINDS
from convoso_exporter.api.labels import FOLDED_LABELS
from convoso_exporter.api.model import COMMON_STATUSES, Agent, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ACCOUNT, CUSTOM, ENDPOINT_KINDS
from convoso_exporter.derive.agreement import compare, listed
from convoso_exporter.derive.breakdown import NONE, distinct_agents
from convoso_exporter.derive.counters import FIGURES
from convoso_exporter.derive.history import Derived
from convoso_exporter.expose.account import account_families, agent_families
from convoso_exporter.expose.catalog import INDEX, SPECS, new_family
from convoso_exporter.expose.distributions import distributions
from convoso_exporter.expose.endpoints import endpoint_families, glitch_family
from convoso_exporter.expose.exporter import ExporterInfo, exporter_families
from convoso_exporter.expose.exposition import Family
from convoso_exporter.poll.state import TargetState

_DAY_COUNTERS = tuple(counter for counter, _ in FIGURES)  # what the glitches are kept under


@dataclass(frozen=True)
class FamilyOptions:
    """The config settings that shape the families."""

    agent_metrics: bool = True
    agent_names: bool = True
    max_agents_per_target: int = 5000


def target_families(state: TargetState, now: float, options: FamilyOptions) -> list[Family]:
    """One target's families: health always (`convoso_up` once its first poll has
    finished, so a target still pending never reads as down); its data while fresh; for the account
    target, the breakdown and (with agent_metrics) the per-agent series too. A target
    polled only for discovery (another shard publishes it) has none. An optional
    endpoint's target publishes its figures under its scope's name (expose/endpoints.py)."""
    target = state.target
    if target.kind in ENDPOINT_KINDS:
        return endpoint_families(state, now, options.agent_metrics, options.max_agents_per_target)
    if not target.publish:
        return []
    families = _health_families(state)
    snapshot = state.snapshot
    if snapshot is not None and state.fresh(now):
        agents = distinct_agents(snapshot.agents)
        families += _data_families(target.name, snapshot, agents)
        families += _counters(target.name, state.derived)
        if target.kind == CUSTOM:
            families += _agent_aggregates(target.name, agents)
        if target.kind == ACCOUNT:
            families += account_families(snapshot, agents, state.derived)
            if options.agent_metrics:
                families += agent_families(agents, options.max_agents_per_target, options.agent_names)
    return [f for f in families if f.metrics]


def health_families(state: TargetState) -> list[Family]:
    """Only the health families of a target: what it publishes when the rest of its
    families cannot be rendered (see expose/cache.py). An optional endpoint's target has
    none: its figures are its scope's."""
    if not state.target.publish or state.target.kind in ENDPOINT_KINDS:
        return []
    return [f for f in _health_families(state) if f.metrics]


def merged_families(
    states: Iterable[TargetState], stats: ApiStats, now: float, info: ExporterInfo, options: FamilyOptions
) -> list[Family]:
    """Every family the renderer writes (without process metrics), merged over targets
    and uncached: the reference the renderer's cached output is tested against."""
    merged = [spec.family() for spec in SPECS]
    for state in states:
        for fam in target_families(state, now, options):
            merged[INDEX[fam.name]].metrics.extend(fam.metrics)
            merged[INDEX[fam.name]].created.update(fam.created)
    for fam in exporter_families(stats, info):
        merged[INDEX[fam.name]].metrics.extend(fam.metrics)
    return [fam for fam in merged if fam.metrics]


def _gauge(name: str, target: str, value: float | None) -> Family:
    family = new_family(name)
    if value is not None:
        family.add((target,), value)
    return family


def _health_families(state: TargetState) -> list[Family]:
    target = state.target
    name = target.name
    info = new_family("convoso_target_info")
    filters = {key: ",".join(value) if key == "skills" else value for key, value in target.filters().items()}
    info.add((name, target.kind, filters.get("campaign_id", NONE), target.campaign_name or NONE,
              filters.get("queue_id", NONE), target.queue_name or NONE, filters.get("user_id", NONE),
              filters.get("skills", NONE)), 1)
    errors = new_family("convoso_exporter_poll_errors_total")
    # Every known kind from 0, so rate() sees the first error; unknown kinds carried too.
    kinds = list(ERROR_KINDS) + sorted(set(state.errors_by_kind) - set(ERROR_KINDS))
    for kind in kinds:
        errors.add((name, kind), state.errors_by_kind.get(kind, 0))
    return [
        # Nothing until the first poll has finished: a pending target is not down.
        _gauge("convoso_up", name, (1 if state.up else 0) if state.attempted else None),
        _gauge("convoso_last_success_timestamp_seconds", name, state.last_success),
        _gauge("convoso_poll_duration_seconds", name, state.last_duration),
        info,
        errors,
        glitch_family("convoso_exporter_day_figure_glitches_total", name, state.derived, _DAY_COUNTERS),
    ]


def _counters(name: str, derived: Derived | None) -> list[Family]:
    """The day figures' counters, once the first figure has been seen."""
    if derived is None:
        return []
    families = []
    for (counter, _), tally in zip(FIGURES, derived.counters.tallies):
        family = new_family(counter)
        if tally.baseline is not None:
            family.add((name,), tally.total, tally.created)
        families.append(family)
    return families


def _data_families(name: str, snapshot: SearchResult, agents: Sequence[Agent]) -> list[Family]:
    call_data = snapshot.call_data
    return [
        _gauge("convoso_agent_count", name, snapshot.agent_total),
        _gauge("convoso_agent_ready", name, snapshot.agent_ready),
        _gauge("convoso_agent_incall", name, snapshot.agent_incall),
        _gauge("convoso_agent_paused", name, snapshot.agent_paused),
        _gauge("convoso_queue_dialable_leads", name, snapshot.queue_dialable_leads),
        _gauge("convoso_queue_calls_today", name, snapshot.queue_calls_today),
        _gauge("convoso_queue_answered_today", name, snapshot.queue_answered),
        _gauge("convoso_queue_dropped_today", name, snapshot.queue_dropped),
        _gauge("convoso_calls_today", name, call_data.total_calls if call_data else None),
        _gauge("convoso_calls_answered_today", name, call_data.answered if call_data else None),
        _gauge("convoso_calls_dropped_today", name, call_data.dropped if call_data else None),
        _folded(name, snapshot),
        _disagreement(name, snapshot, agents),
    ]


def _folded(name: str, snapshot: SearchResult) -> Family:
    family = new_family("convoso_exporter_folded_values")
    folded = dict(snapshot.folded)
    for label in FOLDED_LABELS:
        family.add((name, label), folded.get(label, 0))
    return family


def _disagreement(name: str, snapshot: SearchResult, agents: Sequence[Agent]) -> Family:
    """The answer's own agent figures minus ours (derive/agreement.py), per figure it sends."""
    family = new_family("convoso_exporter_count_disagreement")
    for gap in compare(snapshot, listed(snapshot, agents)):
        family.add((name, gap.figure), gap.difference)
    return family


def _agent_aggregates(name: str, agents: Sequence[Agent]) -> list[Family]:
    """A custom target's counts by status, time-in-status distribution and max, and
    calls-today distribution: bounded by the number of statuses, however many agents."""
    counts: dict[str, int] = dict.fromkeys(COMMON_STATUSES, 0)
    for agent in agents:
        if agent.status:
            counts[agent.status] = counts.get(agent.status, 0) + 1
    statuses = list(COMMON_STATUSES) + sorted(set(counts) - set(COMMON_STATUSES))
    by_status = new_family("convoso_target_agents")
    for status in statuses:
        by_status.add((name, status), counts[status])
    return [by_status, *distributions("convoso_target_agents", {(name,): agents})]


