"""When the exporter forgets a scope that has gone: one rule for everything it keeps per
campaign, queue, agent or status across polls.

Campaigns and queues come and go and their ids are never reused; statuses come and go
too. A structure keyed by them that only ever grows is a leak, in series and in memory.
So every such key carries the wall-clock time (the poll's, as the poller passes it) it
was last seen, and is dropped once it has been absent for ABSENT_INTERVALS discovery
intervals: a discovered target lingers that long after its scope leaves the account's
answer (so one partial answer does not make it flap), and a counter that long after its
last increase, so Prometheus scrapes that increase before the series goes.

Users: `poll/discovery.py` (the scopes found, and their names) and
`derive/agent_time.py` (agent time per campaign, queue and status). Day counters and
everything else kept per target go with their target when discovery drops it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

Key = TypeVar("Key")

# A scope is forgotten once absent for this many discovery intervals.
ABSENT_INTERVALS = 3


def linger(interval: float) -> float:
    """How long (seconds) a scope is kept after it was last seen, with discovery every `interval`."""
    return ABSENT_INTERVALS * interval


def refresh(last_seen: Mapping[Key, float], present: Iterable[Key], wall: float,
            keep_for: float) -> tuple[dict[Key, float], list[Key]]:
    """(when each key was last seen, the keys forgotten) after a poll at wall-clock `wall`
    that saw `present`: a key absent for longer than `keep_for` is forgotten; a key seen
    now never is, however long ago it was seen before (polls that failed for a while).
    A new dict: `last_seen` is left as it was (it may belong to a published state)."""
    seen_now = dict.fromkeys(present, wall)
    kept: dict[Key, float] = {}
    gone: list[Key] = []
    for key, seen in last_seen.items():
        if wall - seen <= keep_for:
            kept[key] = seen
        elif key not in seen_now:
            gone.append(key)
    kept.update(seen_now)
    return kept, gone
