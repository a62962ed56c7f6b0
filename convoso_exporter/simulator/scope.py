"""What one search covers: the agents and queues its filters select, and the root
counters it answers (`agent_*` from the agents, call counters from the queues); and
what user-activity search answers for the same filters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from convoso_exporter.simulator.layout import Layout
from convoso_exporter.simulator.model import (
    AVAILABLE,
    INCALL,
    LOGGED_IN,
    PAUSED,
    READY,
    AgentState,
    NotFound,
    Selection,
)
from convoso_exporter.web.vendor_http import CAMPAIGN_NOT_FOUND, QUEUE_NOT_FOUND, USER_NOT_FOUND


def build_selection(
    key: tuple, layout: Layout, agents: Sequence[AgentState], by_user: Mapping[str, AgentState]
) -> Selection:
    """`key` is (campaign_id, queue_id, user_id, skills); filters combine. Raises NotFound."""
    campaign_id, queue_id, user_id, wanted = key
    queues = layout.queues
    campaign = None
    if campaign_id is not None:
        campaign = layout.by_campaign.get(campaign_id)
        if campaign is None:
            raise NotFound(*CAMPAIGN_NOT_FOUND)
        queues = [queue for queue in queues if queue.campaign is campaign]
    if queue_id is not None:
        only = layout.by_queue.get(queue_id)
        if only is None:
            raise NotFound(*QUEUE_NOT_FOUND)
        queues = [queue for queue in queues if queue is only]
    if user_id is not None:
        agent = by_user.get(user_id)
        if agent is None:
            raise NotFound(*USER_NOT_FOUND)
        queues = [queue for queue in queues if queue is agent.queue]
        agents = [agent]
    in_scope = set(queues)
    agents = [agent for agent in agents if agent.queue in in_scope]
    if wanted:  # agents having ANY of the skills; counters of their queues
        agents = [agent for agent in agents if not set(wanted).isdisjoint(agent.skills)]
        staffed = {agent.queue for agent in agents}
        queues = [queue for queue in queues if queue in staffed]
    counted = tuple(queues)
    if queue_id is None and user_id is None and not wanted:
        # A whole campaign, or the account: today's calls of queues removed today still count.
        counted += (campaign.retired,) if campaign is not None else tuple(layout.retired_tallies())
    return Selection(key, campaign_id, tuple(agents), tuple(queues), counted)


def totals(selection: Selection) -> dict:
    """The documented root fields for a selection."""
    statuses = Counter(agent.status for agent in selection.agents)
    calls = sum(tally.calls_today for tally in selection.counted)
    answered = sum(tally.answered for tally in selection.counted)
    dropped = sum(tally.dropped for tally in selection.counted)
    return {
        "call_data": {"total_calls": calls, "answered": answered, "dropped": dropped},
        "queue_dialable_leads": sum(queue.dialable_leads for queue in selection.queues),
        "queue_calls_today": calls,
        "queue_dropped": dropped,
        "queue_answered": answered,
        "agent_total": len(selection.agents),
        "agent_incall": statuses[INCALL],
        "agent_ready": statuses[READY],
        "agent_paused": statuses[PAUSED],
    }


def activity(selection: Selection) -> dict:
    """User-activity search's `data`: agents available (READY) and logged in (every
    status but LOGGED_OUT), as `model.AVAILABLE` / `model.LOGGED_IN` define them."""
    return {
        "available_agents": sum(agent.status in AVAILABLE for agent in selection.agents),
        "logged_in_agents": sum(agent.status in LOGGED_IN for agent in selection.agents),
    }
