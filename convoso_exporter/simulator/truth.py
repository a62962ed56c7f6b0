"""Ground truth: what really happened in the simulated account, for tests and backtests
to hold the exporter against.

Two books, both always on:
- agent time: each queue keeps, per status, the agent-seconds spent and the entries
  made there (`QueueState.seconds` / `.entries`, moved by the center's state machine
  as it happens: a few additions per status change). An entry is a stay of at least
  one second in a place and status, what a client watching every second would count:
  the status every agent is in at the start counts; an agent moved to another queue
  (its queue was removed) enters its new place in the status it has; a stay cut short
  in the second it began (by a logout or a move) is none. Time skipped after a long clock
  jump (`MAX_CATCHUP`) is nobody's agent time: the center is frozen through it.
- days: at the end of each local day the ledger writes down what every campaign's and
  queue's "today" counters showed (calls, answered, dropped); a scope removed during
  the day is written down as it stood when it went. Days wholly inside a skipped jump
  are written as zeros. The last `DAYS_KEPT` local days are kept (today included).
And a third, the agents' day book (`daybook.py`): per local day, the calls delivered to
agents by outcome and the agents' seconds by activity.

`ContactCenter.truth()`, with an example:

    {"tick": 7200,                    # simulated seconds since the start
     "wall": 1767276000.0,            # Unix time of that tick
     "timezone": "UTC", "today": "2026-01-01",   # the local day in progress
     "agents": 30,
     "skipped_seconds": 0,            # clock jumps beyond MAX_CATCHUP, frozen through
     "agent_seconds": {("1001", "2001", "READY"): 4521, ...},
     "entries": {("1001", "2001", "READY"): 37, ...},
     "days": {"2026-01-01": {"account": {"calls": 812, "answered": 390, "dropped": 8},
                             "campaigns": {"1001": {...}, ...},
                             "queues": {"2001": {...}, ...}}, ...},
     "performance": {"2026-01-01": {
         "account": {"calls": 812, "answered": 390, "dropped": 8, "machine": 117,
                     "live_handled": 265, "talk": 50211, "wait": 9120, "pause": 4410,
                     "wrap": 6013, "ringing": 2290, "logged_in": 72044},
         "campaigns": {"1001": {...the same keys...}, ...},
         "agents": {"100001": {"machine": 4, "live_handled": 9, "talk": 1804, ...}, ...}}, ...}}

`agent_seconds` / `entries`: per (campaign_id, queue_id, status) where agents were,
cumulative since the start, removed scopes included; over all keys the seconds add up
to agents × (tick - skipped_seconds). An entry is a stay of at least a second in one
place and status: the status each agent starts in counts, so does arriving in a queue
by a move, but not a status left (by a logout or a move) in the second it began.
`days`: per local date, the today counters at the end of that day (the day in
progress: so far), for every campaign and queue that existed that day (a removed one
as it stood when it went). Days start counting from the start's counters (the center
starts mid-day).
`performance`: per local date kept, `calls` (dials), `answered` and `dropped` as in
`days`; `machine` (answered by a machine, the agent marked AM) and `live_handled` (a
live person an agent spoke to): answered = machine + live_handled + dropped; and the
agents' seconds by activity (talk: INCALL + TRANSFER, wait: READY, pause: PAUSED,
wrap: WRAP, ringing: RINGING; logged_in: all of those, i.e. every status but
LOGGED_OUT), per campaign (where the agents were) and per agent. The day in progress
counts up to the tick. Agent-performance search answers from the same rows.
JSON form: `truth_json`.
"""

from __future__ import annotations

from collections.abc import Iterable

from convoso_exporter.simulator.layout import Layout
from convoso_exporter.simulator.model import DAYS_KEPT, AgentState, CampaignState, QueueState, Tally

COUNTS = ("calls", "answered", "dropped")


class Ledger:
    """Closed days, scopes removed today, queues removed for good, skipped seconds."""

    def __init__(self) -> None:
        self.days: dict[str, dict] = {}
        self.skipped = 0
        self._removed_queues: list[QueueState] = []
        self._gone_campaigns: dict[str, dict[str, int]] = {}
        self._gone_queues: dict[str, dict[str, int]] = {}

    def queue_removed(self, queue: QueueState) -> None:
        self._gone_queues[queue.queue_id] = counts(queue)
        self._removed_queues.append(queue)

    def campaign_removed(self, campaign: CampaignState) -> None:
        """After its queues went: its `retired` tally holds all of today's counts."""
        self._gone_campaigns[campaign.campaign_id] = counts(campaign.retired)

    def close_day(self, day: str, layout: Layout) -> None:
        self.days[day] = self.day(layout)
        while len(self.days) >= DAYS_KEPT:  # the closed ones and today
            del self.days[min(self.days)]
        self._gone_campaigns = {}
        self._gone_queues = {}

    def day(self, layout: Layout) -> dict:
        """What the today counters show now, for every scope the day has seen."""
        campaigns = {c.campaign_id: _sum(counts(t) for t in (*c.queues, c.retired)) for c in layout.campaigns}
        campaigns.update(self._gone_campaigns)
        queues = {q.queue_id: counts(q) for q in layout.queues}
        queues.update(self._gone_queues)
        return {"account": _sum(campaigns.values()), "campaigns": campaigns, "queues": queues}

    def agent_time(self, layout: Layout, agents: Iterable[AgentState], tick: int) -> tuple[dict, dict]:
        """(agent-seconds, entries) per (campaign_id, queue_id, status), up to `tick`."""
        seconds: dict[tuple[str, str, str], int] = {}
        entries: dict[tuple[str, str, str], int] = {}
        for queue in (*layout.queues, *self._removed_queues):
            for status, entered in queue.entries.items():
                if entered or queue.seconds[status]:
                    key = (queue.campaign.campaign_id, queue.queue_id, status)
                    seconds[key] = queue.seconds[status]
                    entries[key] = entered
        for agent in agents:  # the time in the current status not yet booked
            queue = agent.queue
            key = (queue.campaign.campaign_id, queue.queue_id, agent.status)
            seconds[key] += tick - agent.accrued_from
        return seconds, entries


def counts(tally: QueueState | Tally) -> dict[str, int]:
    return {"calls": tally.calls_today, "answered": tally.answered, "dropped": tally.dropped}


def _sum(items: Iterable[dict[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(COUNTS, 0)
    for item in items:
        for name in COUNTS:
            total[name] += item[name]
    return total


def truth_json(truth: dict) -> dict:
    """`ContactCenter.truth()` with string keys: ("1001", "2001", "READY") → "1001/2001/READY"."""
    return {
        name: {"/".join(key): value for key, value in item.items()} if name in ("agent_seconds", "entries") else item
        for name, item in truth.items()
    }
