"""Shared by the expose tests: states with hostile values, API stats, and readers of an exposition."""

from __future__ import annotations

import dataclasses

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from convoso_exporter.api.model import Agent, CallData, Scope, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ACCOUNT, Target
from convoso_exporter.expose.cache import MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.expose.exposition import to_prometheus_client
from convoso_exporter.expose.families import merged_families
from convoso_exporter.poll.state import TargetState

NOW = 1_700_000_000.0
STALE_AFTER = 45.0
INFO = ExporterInfo(
    version="1.2.3",
    targets={"account": 1, "custom": 2},
    reload_ok=True,
    reload_timestamp=NOW - 600,
    budget_per_minute=12.5,
    discovered={("campaign", "polled"): 2, ("queue", "over_limit"): 1},
)

DATA_FAMILIES = {
    "convoso_agent_count",
    "convoso_target_agents",
    "convoso_target_agents_status_time_seconds_bucket",
    "convoso_target_agents_calls_today_bucket",
    "convoso_queue_calls_today",
    "convoso_calls_today",
}
ACCOUNT_FAMILIES = {"convoso_agents", "convoso_campaign_info", "convoso_queue_info"}
PER_AGENT = {
    "convoso_agent_status_time_seconds",
    "convoso_agent_calls_today",
    "convoso_agent_session_calls",
    "convoso_agent_info",
    "convoso_exporter_agents_truncated",
}


def agent(user_id: str | None, status: str | None = "READY", **fields) -> Agent:
    defaults = dict(status_time_sec=30, calls_today=4, total_calls=2, user_full_name=f"Agent {user_id}")
    return Agent(user_id=user_id, status=status, **{**defaults, **fields})


def full_snapshot(agents: tuple[Agent, ...]) -> SearchResult:
    return SearchResult(
        agents=agents,
        call_data=CallData(total_calls=500, answered=450, dropped=20),
        queue_dialable_leads=1200,
        queue_calls_today=500,
        queue_dropped=20,
        queue_answered=450,
        agent_total=len(agents),
        agent_incall=1,
        agent_ready=2,
        agent_paused=0,
    )


def state(name: str, agents: tuple[Agent, ...] = (), *, age: float = 5.0, up: bool = True, generation: int = 1,
          snapshot: SearchResult | None = None, target: Target | None = None, **fields) -> TargetState:
    return TargetState(
        target=target or Target(name=name, campaign_id="111", skills=("english", "sales")),
        snapshot=snapshot if snapshot is not None else full_snapshot(agents),
        stale_after=STALE_AFTER,
        last_success=NOW - age,
        up=up,
        attempted=True,
        last_duration=0.25,
        generation=generation,
        **fields,
    )


def account(agents: tuple[Agent, ...] = (), **fields) -> TargetState:
    """The account target's state: the one the breakdown and per-agent series come from."""
    return state("account", agents, target=Target("account", kind=ACCOUNT), **fields)


def renderer(**overrides) -> MetricsRenderer:
    options = dict(agent_metrics=True, max_agents_per_target=1000, process_metrics=False)
    return MetricsRenderer(**{**options, **overrides})


def samples(body: bytes) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, parsed by prometheus_client: (name, labels) -> value.
    Fails on a duplicate series."""
    result: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in result, f"duplicate series {key}"
            result[key] = sample.value
    return result


def value(body: bytes, name: str, **labels: str) -> float | None:
    return samples(body).get((name, frozenset(labels.items())))


def names(body: bytes) -> set[str]:
    return {name for name, _ in samples(body)}


def hostile_states() -> list[TargetState]:
    rtl = "שלום \"עולם\""
    east = state(
        'east "main" \\ 😀',
        (
            agent("1001", "READY", status_time_sec=5, user_full_name=rtl, campaign_id="111", queue_id="222",
                  campaign_name="Sales\nWest"),
            agent("1002", "INCALL", status_time_sec=700, calls_today=0, extension="1\\2"),
            agent("1003", "LUNCH", status_time_sec=4000, calls_today=200, campaign_id="111", queue_name="Q \"1\""),
            agent("1004", None, calls_today=7),
            agent(None, "PAUSED", status_time_sec=60),
        ),
        errors_by_kind={"timeout": 3, "weird_kind": 1},
    )
    west = state("west\nline", tuple(agent(str(2000 + i), ["READY", "WRAP", "RINGING"][i % 3], status_time_sec=i * 37) for i in range(40)))
    failing = TargetState(target=Target("failing"), attempted=True, last_duration=10.0, last_error="timed out",
                          last_error_kind="timeout", consecutive_failures=9, errors_by_kind={"timeout": 9}, generation=9)
    everyone = dataclasses.replace(
        full_snapshot(east.snapshot.agents + west.snapshot.agents),
        campaigns=(Scope("111", 'Sales "West"\n\\'), Scope("112")),
        queues=(Scope("222", "Main"),),
    )
    return [account(snapshot=everyone), east, west, failing]


def api_stats() -> ApiStats:
    stats = ApiStats()
    for seconds in (0.01, 0.2, 0.2, 3.0, 45.0):
        stats.record("search", "success", seconds)
    stats.record("search", "timeout", 10.0)
    stats.record("logout", "api", 0.3)
    return stats


def reference(families) -> bytes:
    metrics = to_prometheus_client(families)

    class Fixed:
        def collect(self):
            return metrics

    return generate_latest(Fixed())


def families(r: MetricsRenderer, states, stats, now=NOW, info=INFO):
    """The uncached reference families for what `r` renders."""
    return merged_families(states, stats, now, info, r.options)
