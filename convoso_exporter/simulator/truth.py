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
  are written as zeros.
"""

from __future__ import annotations

from collections.abc import Iterable

from convoso_exporter.simulator.layout import Layout
from convoso_exporter.simulator.model import AgentState, CampaignState, QueueState, Tally

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
