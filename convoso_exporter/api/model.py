"""The typed snapshot the client produces and the metrics module consumes.

Every field the API may omit is Optional: None means "the API did not send it",
which is different from 0. The exporter never invents zeros (issue #2).
"""

from __future__ import annotations

from dataclasses import dataclass

# Status codes most accounts use. Others are carried through verbatim.
COMMON_STATUSES: tuple[str, ...] = (
    "READY",
    "INCALL",
    "PAUSED",
    "WRAP",
    "RINGING",
    "TRANSFER",
    "LOGGED_OUT",
)

# The value a status, campaign_id or queue_id takes when its answer had more distinct
# ones than the exporter keeps (api/limits.py): its agents are still counted, under it.
FOLDED = "(other)"


@dataclass(frozen=True, slots=True)
class Agent:
    """One entry of the `agents` collection."""

    user_id: str | None = None
    user_full_name: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    queue_id: str | None = None
    queue_name: str | None = None
    queue_assignment: str | None = None
    list_id: str | None = None
    extension: str | None = None
    channel_type: str | None = None
    call_type: str | None = None
    lead_id: str | None = None
    call_log_id: str | None = None
    calls_today: int | None = None
    total_calls: int | None = None
    status: str | None = None
    status_label: str | None = None
    status_time_sec: int | None = None
    status_time_mmss: str | None = None
    connection_type: str | None = None
    skill_options: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CallData:
    """The `call_data` object: aggregated call statistics for the selected scope."""

    total_calls: int | None = None
    answered: int | None = None
    dropped: int | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """A campaign or queue the account answer lists (`campaigns` / `queues`)."""

    id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One answer of POST /agent-monitor/search, parsed."""

    agents: tuple[Agent, ...] = ()
    call_data: CallData | None = None
    queue_dialable_leads: int | None = None
    queue_calls_today: int | None = None
    queue_dropped: int | None = None
    queue_answered: int | None = None
    agent_total: int | None = None
    agent_incall: int | None = None
    agent_ready: int | None = None
    agent_paused: int | None = None
    # The account's scopes, as the live service lists them beside the agents;
    # None when the answer has no such list (the documented shape).
    campaigns: tuple[Scope, ...] | None = None
    queues: tuple[Scope, ...] | None = None
    # Distinct values of a label beyond the per-answer caps, folded into FOLDED:
    # ((label, how many), ...) for those of status, campaign_id and queue_id that had some.
    folded: tuple[tuple[str, int], ...] = ()

    def scope_names(self, kind: str) -> dict[str, str | None]:
        """id -> name of every campaign (`kind` "campaign") or queue ("queue") this answer
        mentions: its list if it has one, and the ids its agents carry. A name from the
        list wins over one from an agent; the first agent naming a scope wins. The fold
        value of ids beyond the cap (FOLDED) is not a scope."""
        listed = (self.campaigns if kind == "campaign" else self.queues) or ()
        id_field, name_field = f"{kind}_id", f"{kind}_name"
        found: dict[str, str | None] = {}
        for agent in self.agents:
            ident = getattr(agent, id_field)
            if ident is not None and ident != FOLDED and found.get(ident) is None:
                found[ident] = getattr(agent, name_field)
        for scope in listed:
            if scope.name is not None or scope.id not in found:
                found[scope.id] = scope.name
        return found
