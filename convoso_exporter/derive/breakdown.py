"""Agents counted by campaign, queue and status: an additive partition of the account.

Every agent of the account-wide answer is counted exactly once, under the campaign,
queue and status it carries, so summing `convoso_agents` over any label gives the right
total and no dashboard can count an agent twice. A missing campaign, queue or status
is the empty label value (which Prometheus treats as no label): the agent is still
counted, so the sum always equals the agents in the answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from convoso_exporter.api.model import COMMON_STATUSES, Agent, distinct_agents

__all__ = ["NONE", "Cell", "breakdown", "distinct_agents"]  # distinct_agents: defined with the model

# The label value for a campaign, queue or status the API did not send.
NONE = ""

Cell = tuple[str, str, str]  # (campaign_id, queue_id, status)


def breakdown(agents: Iterable[Agent]) -> dict[Cell, int]:
    """Agents per (campaign_id, queue_id, status). Every (campaign, queue) pair that has
    an agent also has every common status, at 0 when nobody is in it, so a panel shows
    0 rather than no data."""
    counts = Counter((a.campaign_id or NONE, a.queue_id or NONE, a.status or NONE) for a in agents)
    pairs = {(campaign, queue) for campaign, queue, _ in counts}
    cells = dict.fromkeys(((c, q, s) for c, q in pairs for s in COMMON_STATUSES), 0)
    cells.update(counts)
    return dict(sorted(cells.items()))
