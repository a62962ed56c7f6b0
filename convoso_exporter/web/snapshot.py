"""`/api/v1/snapshot`: the exporter's current state as JSON, schema 1 (see docs/api.md).

Built per request from the states the exporter already holds (no API call). The schema
is versioned: fields may be added within schema 1; a field is never renamed, removed or
given another meaning without a new `schema` number. Per-agent rows are left out with
`agent_metrics: false`, agents' names with `agent_names: false`. Nothing here reads the
config's token or base URL, so neither can reach the document.
"""

from __future__ import annotations

import json
import math
from typing import Any

from convoso_exporter.api.drift import KINDS, DriftReport
from convoso_exporter.api.model import Agent, SearchResult
from convoso_exporter.config.schema import CAMPAIGN, QUEUE
from convoso_exporter.derive.agreement import compare, listed
from convoso_exporter.derive.breakdown import breakdown
from convoso_exporter.poll.state import TargetState
from convoso_exporter.statuses import time_level
from convoso_exporter.web.board import (
    View,
    by_status,
    figures,
    floor_order,
    logged_in,
    scope_names,
    scoped_agents,
    service_counts,
)

SCHEMA = 1
CONTENT_TYPE = "application/json; charset=utf-8"


class UnknownTarget(LookupError):
    """`?target=` names no polled target."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def document(view: View, *, now: float, version: str, target: str | None = None) -> dict[str, Any]:
    """The whole document, or with `target` one target and the agents in its scope."""
    if target is not None and target not in view.states:
        raise UnknownTarget(target)
    selected = [view.states[target]] if target is not None else list(view.states.values())
    filters = view.states[target].target.filters() if target is not None else {}
    account = view.account()
    answer = account.snapshot if account is not None else None
    agents = floor_order(scoped_agents(answer, filters))
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "generated_at": now,
        "generation": view.generation,
        "exporter": {
            "version": version,
            "poll_interval_seconds": view.poll_interval,
            "api_calls_per_minute": round(view.api_calls_per_minute, 3),
            "banner": view.banner,
            "agent_metrics": view.agent_metrics,
            "agent_names": view.agent_names,
        },
        "api_drift": drift_entry(view.drift),
        "endpoints": [
            {"endpoint": e.endpoint, "enabled": e.enabled, "reason": e.reason, "permission": e.permission,
             "since": e.since}
            for e in view.endpoints
        ],
        "targets": [target_entry(state, now) for state in selected],
        "account": None if account is None else account_entry(account, answer, agents, filters, view, now,
                                                              target or account.target.name),
    }
    if view.agent_metrics:
        doc["agents"] = [agent_row(agent, view.agent_names) for agent in agents]
    return doc


def encode(doc: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; a non-finite number is a bug, never sent."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def drift_entry(report: DriftReport | None) -> dict[str, Any] | None:
    """What the API sent that the model did not expect, since start (None: not tracked)."""
    if report is None:
        return None
    return {
        "answers": dict(report.answers),
        "fallbacks": dict(report.fallbacks),
        "entries": [
            {"endpoint": e.endpoint, "field": e.field, "kind": e.kind, "action": KINDS.get(e.kind),
             "answers": e.answers, "example": e.example, "first_seen": e.first_seen, "last_seen": e.last_seen}
            for e in report.entries
        ],
    }


def health(state: TargetState, now: float) -> dict[str, Any]:
    """Whether a target's data can be trusted now."""
    return {
        "up": state.up,
        "fresh": state.fresh(now),
        "last_success": state.last_success,
        "stale_after_seconds": state.stale_after if math.isfinite(state.stale_after) else None,
        "last_error": state.last_error,
    }


def target_entry(state: TargetState, now: float) -> dict[str, Any]:
    target = state.target
    return {
        "name": target.name,
        "kind": target.kind,
        "scope": target.scope,
        "publish": target.publish,
        "filters": _json_filters(target.filters()),
        "campaign_name": target.campaign_name,
        "queue_name": target.queue_name,
        **health(state, now),
        "attempted": state.attempted,
        "last_attempt": state.last_attempt,
        "last_duration_seconds": state.last_duration,
        "last_error_kind": state.last_error_kind,
        "consecutive_failures": state.consecutive_failures,
        "generation": state.generation,
        "figures": figures_entry(state.snapshot) if isinstance(state.snapshot, SearchResult) else None,
    }


def figures_entry(answer: SearchResult) -> dict[str, Any]:
    today = figures(answer)
    counts = listed(answer)
    call_data = answer.call_data
    return {
        "dialable_leads": today.dialable_leads,
        "calls_today": today.calls_today,
        "answered_today": today.answered_today,
        "dropped_today": today.dropped_today,
        "drop_rate": today.drop_rate,
        "drop_red": today.drop_red,
        "call_data": None
        if call_data is None
        else {"total_calls": call_data.total_calls, "answered": call_data.answered, "dropped": call_data.dropped},
        "agent_total": answer.agent_total,
        "agent_ready": answer.agent_ready,
        "agent_incall": answer.agent_incall,
        "agent_paused": answer.agent_paused,
        "agents_listed": sum(counts.values()),
        "count_gaps": [
            {"figure": gap.figure, "api": gap.api, "counted": gap.counted, "difference": gap.difference,
             "hint": gap.hint}
            for gap in compare(answer, counts)
        ],
    }


def account_entry(
    account: TargetState,
    answer: SearchResult | None,
    agents: list[Agent],
    filters: dict[str, Any],
    view: View,
    now: float,
    scope: str,
) -> dict[str, Any]:
    """The agents of the account answer within `filters`, counted (each user_id once), and
    Convoso's own count of the `scope` target's agents beside them (user-activity)."""
    counts = by_status(agents)
    service = service_counts(view, scope, now)
    return {
        "target": account.target.name,
        **health(account, now),
        "scope": _json_filters(filters),
        "agents": len(agents),
        "logged_in": logged_in(counts),
        "by_status": counts,
        "convoso_counts": None if service is None else {
            "logged_in": service.logged_in, "available": service.available, "last_success": service.last_success,
            "fresh": service.fresh,
        },
        "breakdown": [
            {"campaign_id": campaign, "queue_id": queue, "status": status, "agents": n}
            for (campaign, queue, status), n in breakdown(agents).items()
        ],
        "campaigns": _names(scope_names(answer, view, CAMPAIGN)),
        "queues": _names(scope_names(answer, view, QUEUE)),
    }


def agent_row(agent: Agent, names: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"user_id": agent.user_id}
    if names:
        row["name"] = agent.user_full_name
    row.update(
        status=agent.status,
        status_label=agent.status_label,
        status_seconds=agent.status_time_sec,
        time_level=time_level(agent.status, agent.status_time_sec),
        calls_today=agent.calls_today,
        session_calls=agent.total_calls,
        campaign_id=agent.campaign_id,
        campaign_name=agent.campaign_name,
        queue_id=agent.queue_id,
        queue_name=agent.queue_name,
        extension=agent.extension,
        call_type=agent.call_type,
    )
    return row


def _names(names: dict[str, str | None]) -> list[dict[str, str | None]]:
    return [{"id": ident, "name": name} for ident, name in names.items()]


def _json_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """`Target.filters()` as JSON: skills as a list."""
    return {key: list(value) if key == "skills" else value for key, value in filters.items()}
