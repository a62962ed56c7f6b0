"""Families only the account-wide answer gives: agents by campaign, queue and status,
the names of campaigns and queues, and the per-agent series.

They come from one answer (the `account` target's), so every agent is published once
whatever other targets include it, and the breakdown is additive. Per-agent series
cost what docs/metrics.md says per agent: the status is a label of the time-in-status
series (measured cheaper than a state set or a separate status series), so an agent
adds one series per status it visits.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from convoso_exporter.api.model import Agent, SearchResult
from convoso_exporter.derive.agent_time import AgentTime
from convoso_exporter.derive.breakdown import NONE, breakdown
from convoso_exporter.derive.history import Derived
from convoso_exporter.expose.catalog import AGENT_INFO_FIELDS, new_family
from convoso_exporter.expose.distributions import distributions
from convoso_exporter.expose.exposition import Family

# One C-level call for the info labels but the name: this runs once per agent per poll.
_info_values = operator.attrgetter(*AGENT_INFO_FIELDS[1:])


class _Identified(Protocol):
    """An agent of either answer: api/model.py's `Agent` or a performance answer's `AgentDay`."""

    @property
    def user_id(self) -> str | None: ...


Identified = TypeVar("Identified", bound=_Identified)


def by_user_id(agents: Iterable[Identified]) -> list[Identified]:
    """The agents with a user_id, in user_id (string) order: per-agent series are kept for
    the first `max_agents_per_target`, so the same agents stay in from one poll to the next."""
    return sorted((agent for agent in agents if agent.user_id), key=lambda agent: agent.user_id or "")


def account_families(snapshot: SearchResult, agents: Sequence[Agent], derived: Derived | None) -> list[Family]:
    """The breakdown, agent time, and the campaign and queue names."""
    by_cell = new_family("convoso_agents")
    for cell, count in breakdown(agents).items():
        by_cell.add(cell, count)
    by_campaign: dict[tuple[str, ...], list[Agent]] = {}
    for agent in agents:
        by_campaign.setdefault((agent.campaign_id or NONE,), []).append(agent)
    families = [
        by_cell,
        *distributions("convoso_agents", dict(sorted(by_campaign.items()))),
        *_agent_time(derived.agent_time if derived is not None else None),
    ]
    for kind in ("campaign", "queue"):
        info = new_family(f"convoso_{kind}_info")
        for ident, name in sorted(snapshot.scope_names(kind).items()):
            info.add((ident, name or NONE), 1)
        families.append(info)
    return families


def _agent_time(time: AgentTime | None) -> list[Family]:
    seconds = new_family("convoso_agents_status_seconds_total")
    entries = new_family("convoso_agents_status_entries_total")
    if time is not None:
        for cell in sorted(time.seconds):
            seconds.add(cell, time.seconds[cell], time.created)
        for cell in sorted(time.entries):
            entries.add(cell, time.entries[cell], time.created)
    return [seconds, entries]


def agent_families(agents: Sequence[Agent], limit: int, names: bool) -> list[Family]:
    """Per-agent series for the first `limit` user_ids, and how many were left out;
    agents' names only if `names` (they are personal data)."""
    identified = by_user_id(agents)
    kept = identified[:limit]
    status_time = new_family("convoso_agent_status_time_seconds")
    calls_today = new_family("convoso_agent_calls_today")
    session_calls = new_family("convoso_agent_session_calls")
    info = new_family("convoso_agent_info")
    for agent in kept:
        user = agent.user_id or NONE
        if agent.status and agent.status_time_sec is not None:
            status_time.metrics.append(((user, agent.status), agent.status_time_sec))
        if agent.calls_today is not None:
            calls_today.metrics.append(((user,), agent.calls_today))
        if agent.total_calls is not None:
            session_calls.metrics.append(((user,), agent.total_calls))
        name = (agent.user_full_name or NONE) if names else NONE
        info.metrics.append(((user, name, *(value or NONE for value in _info_values(agent))), 1))
    truncated = new_family("convoso_exporter_agents_truncated")
    truncated.add((), len(identified) - len(kept))
    return [status_time, calls_today, session_calls, info, truncated]
