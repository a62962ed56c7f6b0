"""From state to metric families: what each target, and the exporter itself, publishes.

Pure functions of immutable inputs (a `TargetState`, the client's `ApiStats`), so the
renderer can call them from a worker thread and cache their output per state.

Choices where the API is vague:
- Agents repeated with the same user_id in one answer count once (the first wins),
  in the aggregates and in per-agent series.
- An agent without a status is left out of everything keyed by status (counts by
  status, time-in-status distribution and max, its per-agent status time) and is
  never counted under an invented status; its calls still count.
- Per-agent series are kept for the lowest `max_agents_per_target` user_ids (string
  order), so the same agents stay in from one poll to the next.
"""

from __future__ import annotations

import operator
import platform
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from convoso_exporter.api.errors import ERROR_KINDS
from convoso_exporter.api.model import COMMON_STATUSES, Agent, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.expose.catalog import (
    AGENT_INFO_FIELDS,
    CALLS_TODAY_BUCKETS,
    INDEX,
    SPECS,
    STATUS_TIME_BUCKETS,
    new_family,
)
from convoso_exporter.expose.exposition import Family
from convoso_exporter.poll.state import TargetState

# One C-level call for all the info labels: this runs once per agent per poll.
_agent_info_values = operator.attrgetter(*AGENT_INFO_FIELDS)


@dataclass(frozen=True)
class ExporterInfo:
    version: str
    targets: int
    reload_ok: bool
    reload_timestamp: float | None



@dataclass(frozen=True)
class FamilyOptions:
    """The config settings that shape the families."""

    agent_metrics: bool = True
    max_agents_per_target: int = 5000


def target_families(state: TargetState, now: float, options: FamilyOptions) -> list[Family]:
    """One target's families: health always; data while fresh; per-agent if enabled."""
    families = _health_families(state)
    snapshot = state.snapshot
    if snapshot is not None and state.fresh(now):
        name = state.target.name
        agents = _distinct_agents(snapshot.agents)
        families += _data_families(name, snapshot, agents)
        if options.agent_metrics:
            families += _agent_families(name, agents, options.max_agents_per_target)
    return [f for f in families if f.metrics]


def exporter_families(stats: ApiStats, info: ExporterInfo) -> list[Family]:
    """The exporter's own families (not per target)."""
    build = new_family("convoso_exporter_build_info")
    build.add((info.version, platform.python_version()), 1)
    targets = new_family("convoso_exporter_targets")
    targets.add((), info.targets)
    reload_ok = new_family("convoso_exporter_config_last_reload_successful")
    reload_ok.add((), 1 if info.reload_ok else 0)
    reload_time = new_family("convoso_exporter_config_last_reload_success_timestamp_seconds")
    if info.reload_timestamp is not None:
        reload_time.add((), info.reload_timestamp)
    return [build, _requests_family(stats), _latency_family(stats), targets, reload_ok, reload_time]


def merged_families(
    states: Iterable[TargetState], stats: ApiStats, now: float, info: ExporterInfo, options: FamilyOptions
) -> list[Family]:
    """Every family the renderer writes (without process metrics), merged over targets
    and uncached: the reference the renderer's cached output is tested against."""
    merged = [spec.family() for spec in SPECS]
    for state in states:
        for fam in target_families(state, now, options):
            merged[INDEX[fam.name]].metrics.extend(fam.metrics)
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
    info.add((name, target.campaign_id or "", target.queue_id or "", target.user_id or "", ",".join(target.skills)), 1)
    errors = new_family("convoso_exporter_poll_errors_total")
    # Every known kind from 0, so rate() sees the first error; unknown kinds carried too.
    kinds = list(ERROR_KINDS) + sorted(set(state.errors_by_kind) - set(ERROR_KINDS))
    for kind in kinds:
        errors.add((name, kind), state.errors_by_kind.get(kind, 0))
    return [
        _gauge("convoso_up", name, 1 if state.up else 0),
        _gauge("convoso_last_success_timestamp_seconds", name, state.last_success),
        _gauge("convoso_poll_duration_seconds", name, state.last_duration),
        info,
        errors,
    ]


def _data_families(name: str, snapshot: SearchResult, agents: Sequence[Agent]) -> list[Family]:
    call_data = snapshot.call_data
    return [
        _gauge("convoso_agent_count", name, snapshot.agent_total),
        _gauge("convoso_agent_ready", name, snapshot.agent_ready),
        _gauge("convoso_agent_incall", name, snapshot.agent_incall),
        _gauge("convoso_agent_paused", name, snapshot.agent_paused),
        *_agent_aggregates(name, agents),
        _gauge("convoso_queue_dialable_leads", name, snapshot.queue_dialable_leads),
        _gauge("convoso_queue_calls_today", name, snapshot.queue_calls_today),
        _gauge("convoso_queue_answered_today", name, snapshot.queue_answered),
        _gauge("convoso_queue_dropped_today", name, snapshot.queue_dropped),
        _gauge("convoso_calls_today", name, call_data.total_calls if call_data else None),
        _gauge("convoso_calls_answered_today", name, call_data.answered if call_data else None),
        _gauge("convoso_calls_dropped_today", name, call_data.dropped if call_data else None),
    ]


def _distinct_agents(agents: Sequence[Agent]) -> list[Agent]:
    """The agents, without repeats of a user_id (the first wins). Agents without a
    user_id cannot be told apart, so they all stay."""
    seen: set[str] = set()
    result = []
    for agent in agents:
        if agent.user_id:
            if agent.user_id in seen:
                continue
            seen.add(agent.user_id)
        result.append(agent)
    return result


def _agent_aggregates(name: str, agents: Sequence[Agent]) -> list[Family]:
    """Counts by status, time-in-status distribution and max, calls-today distribution:
    bounded by the number of statuses, however many agents."""
    counts: dict[str, int] = dict.fromkeys(COMMON_STATUSES, 0)
    times: dict[str, list[int]] = {}
    calls: list[int] = []
    for agent in agents:
        if agent.calls_today is not None:
            calls.append(agent.calls_today)
        if not agent.status:
            continue
        counts[agent.status] = counts.get(agent.status, 0) + 1
        if agent.status_time_sec is not None:
            times.setdefault(agent.status, []).append(agent.status_time_sec)
    statuses = list(COMMON_STATUSES) + sorted(set(counts) - set(COMMON_STATUSES))
    by_status = new_family("convoso_agents")
    distribution = new_family("convoso_agents_status_time_seconds")
    longest = new_family("convoso_agents_status_time_max_seconds")
    for status in statuses:
        by_status.add((name, status), counts[status])
        if status in times:
            distribution.add_histogram((name, status), *_histogram(times[status], STATUS_TIME_BUCKETS))
            longest.add((name, status), max(times[status]))
    calls_today = new_family("convoso_agents_calls_today")
    if calls:
        calls_today.add_histogram((name,), *_histogram(calls, CALLS_TODAY_BUCKETS))
    return [by_status, distribution, longest, calls_today]


def _histogram(values: Sequence[int], bounds: Sequence[float]) -> tuple[list[int], int]:
    """Cumulative counts per `le` bound (a value equal to a bound is in it), and the sum."""
    counts = [0] * len(bounds)
    for value in values:
        counts[bisect_left(bounds, value)] += 1
    return list(accumulate(counts)), sum(values)


def _agent_families(name: str, agents: Sequence[Agent], limit: int) -> list[Family]:
    """Per-agent series for the first `limit` user_ids, and how many were left out."""
    identified = sorted((a for a in agents if a.user_id), key=lambda a: a.user_id or "")
    kept = identified[:limit]
    status_time = new_family("convoso_agent_status_time_seconds")
    calls_today = new_family("convoso_agent_calls_today")
    session_calls = new_family("convoso_agent_session_calls")
    info = new_family("convoso_agent_info")
    for agent in kept:
        user = agent.user_id or ""
        if agent.status and agent.status_time_sec is not None:
            status_time.metrics.append(((name, user, agent.status), agent.status_time_sec))
        if agent.calls_today is not None:
            calls_today.metrics.append(((name, user), agent.calls_today))
        if agent.total_calls is not None:
            session_calls.metrics.append(((name, user), agent.total_calls))
        labels = (name, user) + tuple(value or "" for value in _agent_info_values(agent))
        info.metrics.append((labels, 1))
    truncated = _gauge("convoso_exporter_agents_truncated", name, len(identified) - len(kept))
    return [status_time, calls_today, session_calls, info, truncated]


def _requests_family(stats: ApiStats) -> Family:
    # Every search outcome from 0, so rate() and alerts see the first failure.
    counts = dict.fromkeys((("search", outcome) for outcome in ("success",) + ERROR_KINDS), 0)
    counts.update(stats.requests)
    family = new_family("convoso_exporter_api_requests_total")
    for key in sorted(counts):
        family.add(key, counts[key])
    return family


def _latency_family(stats: ApiStats) -> Family:
    family = new_family("convoso_exporter_api_request_duration_seconds")
    if "search" not in stats.latency:
        family.add_histogram(("search",), [0] * len(family.buckets), 0.0)
    for endpoint in sorted(stats.latency):
        histogram = stats.latency[endpoint]
        family.add_histogram((endpoint,), list(histogram.counts) + [histogram.count], histogram.sum)
    return family
