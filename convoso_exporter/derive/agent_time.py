"""Where agents' time goes: agent-seconds and entries per campaign, queue and status.

Reconstructed from the account answer at each poll: an agent's status and how long it
has been in it (`status_time_sec`) say when that status began, so a change between two
polls is placed at its real time, not at the poll:

    previous poll t0: READY since e0        this poll t1: INCALL since e1 (t0 < e1 <= t1)
    READY gets e1 - t0, INCALL gets t1 - e1 and one entry.

What a poll cannot see is lost to the status before it: a status that began and ended
between two polls (a short RINGING) is counted as the status seen before it, and its
entry is not counted. The error is bounded by the time spent in such short stints, so it
shrinks with the poll interval (docs/metrics.md states measured bounds). Without
`status_time_sec` a change is placed at the poll. Agents that leave the answer stop
counting; agents that join count from when their status began, or from the last poll.
The first poll after a start only sets the baseline.

A cell is present at a poll when an agent is in it or was at the poll before (its last
increase comes then), and so is every common status of such a cell's (campaign, queue).
A cell absent for three discovery intervals is forgotten (`expiry.py`): campaigns,
queues and statuses come and go, and a cell kept forever was a series kept forever. A
cell that comes back counts from 0 again (Prometheus sees a counter reset).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from types import MappingProxyType

from convoso_exporter.api.model import COMMON_STATUSES, Agent
from convoso_exporter.derive.breakdown import NONE, Cell
from convoso_exporter.expiry import refresh

# Two estimates of when a status began (poll time minus status_time_sec) within this many
# seconds are the same stint: the API rounds to whole seconds and polls take time.
SAME_STINT = 3.0

_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Seen:
    """An agent as the last poll saw it."""

    cell: Cell  # (campaign_id, queue_id, status)
    since: float  # wall time its status began (estimated)


@dataclass(frozen=True, slots=True)
class AgentTime:
    """Agent-seconds and entries per cell, and where every agent was at the last poll."""

    polled_at: float | None = None
    created: float | None = None
    agents: Mapping[str, Seen] = field(default_factory=lambda: _EMPTY)
    seconds: Mapping[Cell, float] = field(default_factory=lambda: _EMPTY)
    entries: Mapping[Cell, int] = field(default_factory=lambda: _EMPTY)
    last_seen: Mapping[Cell, float] = field(default_factory=lambda: _EMPTY)  # every cell of `seconds`


def account_time(previous: AgentTime, agents: Iterable[Agent], wall: float, keep_for: float) -> AgentTime:
    """The agent time after a poll at wall-clock `wall` that listed `agents` (distinct);
    cells absent for longer than `keep_for` seconds are forgotten."""
    t0 = previous.polled_at
    seconds = dict(previous.seconds)
    entries = dict(previous.entries)
    seen: dict[str, Seen] = {}
    known = previous.agents
    first = t0 is None or t0 >= wall
    lasted = 0.0 if first else wall - t0
    for user, campaign, queue, status, in_status in map(_FIELDS, agents):
        if not user or not status:
            continue  # cannot be followed from one poll to the next, or in no status
        before = known.get(user)
        began = None if in_status is None else wall - in_status
        if before is not None and not first:
            cell = before.cell
            if (cell[2] == status and cell[0] == (campaign or NONE) and cell[1] == (queue or NONE)
                    and (began is None or began <= before.since + SAME_STINT)):
                # The same stint goes on in the same cell (nearly every agent at every
                # poll): the same Seen, no new object.
                seconds[cell] = seconds.get(cell, 0.0) + lasted
                seen[user] = before
                continue
        cell = (campaign or NONE, queue or NONE, status)
        if first:
            seen[user] = Seen(cell, wall if began is None else began)
        elif before is None:
            seen[user] = _joined(cell, began, t0, wall, seconds, entries)
        else:
            seen[user] = _followed(before, cell, began, t0, wall, seconds, entries)
    # Where agents are, and were at the last poll (a cell an agent left had its last
    # increase now): these cells, and every common status of their pairs, are present.
    live = _initialise({*map(_CELL, seen.values()), *map(_CELL, known.values())}, seconds, entries)
    last_seen, gone = refresh(previous.last_seen, live, wall, keep_for)
    for cell in gone:
        seconds.pop(cell, None)
        entries.pop(cell, None)
    created = previous.created if previous.created is not None else wall
    return AgentTime(wall, created, MappingProxyType(seen), MappingProxyType(seconds), MappingProxyType(entries),
                     MappingProxyType(last_seen))


_FIELDS = attrgetter("user_id", "campaign_id", "queue_id", "status", "status_time_sec")
_CELL = attrgetter("cell")


def _joined(cell: Cell, began: float | None, t0: float, t1: float,
            seconds: dict[Cell, float], entries: dict[Cell, int]) -> Seen:
    """An agent not in the last answer: it counts from when its status began (if after
    the last poll, that is an entry), or from the last poll."""
    start = t0 if began is None else min(max(began, t0), t1)
    _add(seconds, cell, t1 - start)
    if began is not None and began > t0:
        entries[cell] = entries.get(cell, 0) + 1
    return Seen(cell, t1 if began is None else began)


def _followed(before: Seen, cell: Cell, began: float | None, t0: float, t1: float,
              seconds: dict[Cell, float], entries: dict[Cell, int]) -> Seen:
    """An agent in both answers: the same stint goes on, or it changed status between."""
    same_status = before.cell[2] == cell[2]
    if same_status and (began is None or began <= before.since + SAME_STINT):
        _add(seconds, cell, t1 - t0)
        return Seen(cell, before.since)
    change = t1 if began is None else min(max(began, t0), t1)
    _add(seconds, before.cell, change - t0)  # the old status lasted until the change
    _add(seconds, cell, t1 - change)
    entries[cell] = entries.get(cell, 0) + 1
    return Seen(cell, change if began is None else began)


def _initialise(present: set[Cell], seconds: dict[Cell, float], entries: dict[Cell, int]) -> set[Cell]:
    """Every common status of every (campaign, queue) with an agent starts at 0, so a
    counter exists before its first increase (rate() cannot see a series' first value).
    Returns `present` with these cells added."""
    for campaign, queue in {cell[:2] for cell in present}:
        for status in COMMON_STATUSES:
            cell = (campaign, queue, status)
            present.add(cell)
            seconds.setdefault(cell, 0.0)
            entries.setdefault(cell, 0)
    return present


def _add(seconds: dict[Cell, float], cell: Cell, amount: float) -> None:
    if amount > 0:
        seconds[cell] = seconds.get(cell, 0.0) + amount
