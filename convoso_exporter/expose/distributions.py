"""Distributions over agents, bounded by buckets however many agents: time in the
current status (per status) and calls today, for any grouping of the agents (a custom
target's agents; the account's agents by campaign)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from itertools import accumulate

from convoso_exporter.api.model import COMMON_STATUSES, Agent
from convoso_exporter.expose.catalog import CALLS_TODAY_BUCKETS, STATUS_TIME_BUCKETS, new_family
from convoso_exporter.expose.exposition import Family


def distributions(prefix: str, groups: Mapping[tuple[str, ...], Sequence[Agent]]) -> list[Family]:
    """`<prefix>_status_time_seconds` (per group and status), `<prefix>_status_time_max_seconds`
    and `<prefix>_calls_today` (per group) over each group's agents. An agent without a
    status is in no status's distribution; its calls still count."""
    distribution = new_family(f"{prefix}_status_time_seconds")
    longest = new_family(f"{prefix}_status_time_max_seconds")
    calls_today = new_family(f"{prefix}_calls_today")
    for group, agents in groups.items():
        times: dict[str, list[int]] = {}
        calls = [agent.calls_today for agent in agents if agent.calls_today is not None]
        for agent in agents:
            if agent.status and agent.status_time_sec is not None:
                times.setdefault(agent.status, []).append(agent.status_time_sec)
        for status in sorted(times, key=_status_order):
            distribution.add_histogram((*group, status), *_histogram(times[status], STATUS_TIME_BUCKETS))
            longest.add((*group, status), max(times[status]))
        if calls:
            calls_today.add_histogram(group, *_histogram(calls, CALLS_TODAY_BUCKETS))
    return [distribution, longest, calls_today]


def _status_order(status: str) -> tuple[int, str]:
    """Common statuses first, in their usual order, then the others by name."""
    return (COMMON_STATUSES.index(status), "") if status in COMMON_STATUSES else (len(COMMON_STATUSES), status)


def _histogram(values: Sequence[int], bounds: Sequence[float]) -> tuple[list[int], int]:
    """Cumulative counts per `le` bound (a value equal to a bound is in it), and the sum."""
    counts = [0] * len(bounds)
    for value in values:
        counts[bisect_left(bounds, value)] += 1
    return list(accumulate(counts)), sum(values)
