"""The agents' day book: per local day, where each agent was and what it did there —
the calls delivered to it by outcome and its seconds by activity. Agent-performance
search (`performance.py`) answers from it and `ContactCenter.truth()["performance"]`
reports it, so the two can only agree.

A row is keyed (campaign_id, queue_id, list_id, user_id): the agent's queue (and its
campaign) and the list of its current or last call (the `list_id` agent-monitor search
shows). Its slots are whole numbers:
- `AM`, `LIVE`: calls delivered to the agent, answered by a machine / by a live person,
  counted when the call connects (the moment the queue's `answered` moves, so per
  campaign and day answered = Σ AM + Σ LIVE + dropped, exactly; the agent's
  `calls_today` moves when it picks up, seconds later);
- seconds per activity, each second of each agent in exactly one slot of one row of
  one day (so a day's rows add up to agents × the day's seconds): `WAIT` (READY),
  `PAUSE` (PAUSED), `OUT` (LOGGED_OUT), and per outcome of the call they belong to
  `RING_*` (RINGING), `TALK_*` (INCALL and TRANSFER), `WRAP_*` (WRAP).
`figures` names the vendor's activities: talk, wait, pause, wrap, and ringing, which is
logged-in time in none of them (the vendor's `total_time` exceeds their sum too).

Time is booked when an agent changes status, moves, logs out, connects a call (the wait
so far goes under the list of its last call) and at local midnight (each day gets its
own seconds). The start day's calls include the warm start's (`Machine.warm_up`); its
seconds count from the start. Time skipped after a long clock jump is nobody's.
"""

from __future__ import annotations

from collections.abc import Iterable

from convoso_exporter.simulator.model import (
    DAYS_KEPT,
    INCALL,
    LOGGED_OUT,
    PAUSED,
    READY,
    RINGING,
    TRANSFER,
    WRAP,
    AgentState,
)

AM, LIVE, TALK_AM, TALK_LIVE, WRAP_AM, WRAP_LIVE, RING_AM, RING_LIVE, WAIT, PAUSE, OUT = range(11)
WIDTH = 11
# Slot of each status, by the outcome of the agent's call: SLOTS[agent.machine][status].
SLOTS = (
    {READY: WAIT, RINGING: RING_LIVE, INCALL: TALK_LIVE, TRANSFER: TALK_LIVE, WRAP: WRAP_LIVE, PAUSED: PAUSE,
     LOGGED_OUT: OUT},
    {READY: WAIT, RINGING: RING_AM, INCALL: TALK_AM, TRANSFER: TALK_AM, WRAP: WRAP_AM, PAUSED: PAUSE, LOGGED_OUT: OUT},
)
# The slots of the calls of each outcome (for a filter by call status).
OUTCOME_SLOTS = {"AM": (AM, TALK_AM, WRAP_AM, RING_AM), "HUMAN": (LIVE, TALK_LIVE, WRAP_LIVE, RING_LIVE)}

Key = tuple[str, str, str, str]
Rows = dict[Key, list[int]]


class DayBook:
    """The rows of the last `DAYS_KEPT` local days (today's still growing), and a summary
    of each closed day (closed rows never change)."""

    def __init__(self) -> None:
        self.days: dict[str, Rows] = {}
        self.summaries: dict[str, dict] = {}
        self.day = ""
        self._today: Rows = {}

    def open_day(self, day: str, agents: Iterable[AgentState] = ()) -> None:
        """`day` (ISO date) starts: every agent gets its row of it."""
        self.day = day
        self._today = self.days.setdefault(day, {})
        for agent in agents:
            self.place(agent)
        while len(self.days) > DAYS_KEPT:
            oldest = min(self.days)
            del self.days[oldest]
            self.summaries.pop(oldest, None)

    def close_day(self, upto: int, agents: Iterable[AgentState], counts: dict) -> None:
        """Today ends at tick `upto`: every agent's time so far is booked into it, and it
        is summed up once, with the day's counters (`Ledger.day`)."""
        for agent in agents:
            if upto > agent.row_from:  # (after a skipped clock jump it may be later)
                book(agent, upto)
        self.summaries[self.day] = summarize(self._today, counts)

    def place(self, agent: AgentState) -> list[int]:
        """The agent's row for where it is now (made if new): book its time before it moves."""
        key = row_key(agent)
        row = self._today.get(key)
        if row is None:
            row = self._today[key] = [0] * WIDTH
        agent.row = row
        return row

    def rows(self, day: str, agents: Iterable[AgentState], tick: int) -> Rows:
        """A day's rows; today's as copies with each agent's unbooked time up to `tick` added."""
        rows = self.days.get(day, {})
        if day != self.day:
            return rows
        rows = {key: list(row) for key, row in rows.items()}
        for agent in agents:
            if tick > agent.row_from:
                rows[row_key(agent)][SLOTS[agent.machine][agent.status]] += tick - agent.row_from
        return rows


def book(agent: AgentState, upto: int) -> None:
    """The agent's time in its status up to `upto`, into its row (not its queue's books)."""
    agent.row[SLOTS[agent.machine][agent.status]] += upto - agent.row_from
    agent.row_from = upto


def row_key(agent: AgentState) -> Key:
    queue = agent.queue
    return queue.campaign.campaign_id, queue.queue_id, agent.list_id, agent.user_id


def figures(row: list[int]) -> dict[str, int]:
    """Calls by outcome and seconds by activity of a row (or a sum of rows)."""
    talk, wrap, ringing = row[TALK_AM] + row[TALK_LIVE], row[WRAP_AM] + row[WRAP_LIVE], row[RING_AM] + row[RING_LIVE]
    return {
        "machine": row[AM],
        "live_handled": row[LIVE],
        "talk": talk,
        "wait": row[WAIT],
        "pause": row[PAUSE],
        "wrap": wrap,
        "ringing": ringing,
        "logged_in": talk + wrap + ringing + row[WAIT] + row[PAUSE],
    }


def summarize(rows: Rows, counts: dict) -> dict:
    """A day's rows summed per campaign, per agent and for the account; the account's and
    each campaign's figures joined to its today counters (`counts`: `Ledger.day`)."""
    campaigns: dict[str, list[list[int]]] = {name: [] for name in counts["campaigns"]}
    agents: dict[str, list[list[int]]] = {}
    for (campaign_id, _, _, user_id), row in rows.items():
        campaigns.setdefault(campaign_id, []).append(row)
        agents.setdefault(user_id, []).append(row)
    return {
        "account": {**counts["account"], **figures(column_sums(rows.values()))},
        "campaigns": {
            name: {**counts["campaigns"].get(name, {}), **figures(column_sums(group))}
            for name, group in campaigns.items()
        },
        "agents": {name: figures(column_sums(group)) for name, group in agents.items()},
    }


def column_sums(rows: list[list[int]] | Iterable[list[int]]) -> list[int]:
    """Rows added up slot by slot (zeros for none; one row is itself, not a copy)."""
    if isinstance(rows, list) and len(rows) == 1:  # most agents, most days: truth() runs per poll
        return rows[0]
    return [sum(column) for column in zip(*rows)] or [0] * WIDTH
