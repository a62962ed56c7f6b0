"""Convoso / Agents: who is doing what, per agent and in aggregate.

The top two rows work from the aggregate series alone; the per-agent row needs
`agent_metrics: true` and says so in every panel's description. Nothing here depends
on the alert thresholds: the status limits are `panels.STATUS_LIMITS`.
"""

from __future__ import annotations

from convoso_exporter.mixin.layout import Line, dashboard
from convoso_exporter.mixin.panels import (
    STATUS_COLOURS,
    STATUS_LIMITS,
    Panel,
    bargauge,
    queries,
    sel,
    stat,
    status_colours,
    status_thresholds,
    table,
    thresholds,
    timeseries,
    value_mappings,
)
from convoso_exporter.mixin.settings import Settings


def agent_join(selector: str) -> str:
    """Per-agent series with the agent's name added from convoso_agent_info."""
    info = f"max by (job, instance, target, user_id, user_full_name) ({sel('convoso_agent_info')})"
    return f"({selector}) * on (job, instance, target, user_id) group_left (user_full_name) {info}"


def status_limit_ratio() -> str:
    """Each agent's time in status as a fraction of the orange limit for that status."""
    parts = [
        sel("convoso_agent_status_time_seconds", f'status="{status}"') + f" / {orange}"
        for status, (orange, _red) in STATUS_LIMITS.items()
    ]
    limited = "|".join(STATUS_LIMITS)
    parts.append(sel("convoso_agent_status_time_seconds", f'status!~"{limited}"') + " * 0")
    return "\nor\n".join(parts)


def limits_text() -> str:
    return ", ".join(
        f"{status} {orange // 60}m/{red // 60}m" for status, (orange, red) in STATUS_LIMITS.items()
    )


NEEDS_AGENT_METRICS = " Needs per-agent metrics (agent_metrics: true in the exporter config)."


def agents_table() -> Panel:
    status_time = sel("convoso_agent_status_time_seconds")
    targets = queries(
        (f"max by (job, instance, target, user_id, status) ({status_time})", ""),
        (status_limit_ratio(), ""),
        (f"max by (job, instance, target, user_id) ({sel('convoso_agent_calls_today')})", ""),
        (
            "max by (job, instance, target, user_id, user_full_name, campaign_name, queue_name) "
            f"({sel('convoso_agent_info')})",
            "",
        ),
        instant=True,
        fmt="table",
    )
    hidden = ["Time", "job", "instance", "Value #D"]
    order = [
        "user_full_name",
        "user_id",
        "target",
        "status",
        "Value #A",
        "Value #B",
        "Value #C",
        "campaign_name",
        "queue_name",
    ]
    names = {
        "user_full_name": "Agent",
        "user_id": "User ID",
        "target": "Target",
        "status": "Status",
        "Value #A": "Time in status",
        "Value #B": "Of status limit",
        "Value #C": "Calls today",
        "campaign_name": "Campaign",
        "queue_name": "Queue",
    }
    limit_cell = {"applyToRow": True, "mode": "basic", "type": "color-background"}
    overrides = [
        {
            "matcher": {"id": "byName", "options": "Time in status"},
            "properties": [{"id": "unit", "value": "dtdurations"}],
        },
        {
            "matcher": {"id": "byName", "options": "Of status limit"},
            "properties": [
                {"id": "unit", "value": "percentunit"},
                {"id": "custom.cellOptions", "value": limit_cell},
                {"id": "thresholds", "value": thresholds("transparent", (1, "orange"), (2, "red"))},
            ],
        },
        {
            "matcher": {"id": "byName", "options": "Status"},
            "properties": [
                {"id": "custom.cellOptions", "value": {"type": "color-text"}},
                {
                    "id": "mappings",
                    "value": value_mappings({s: (s, c) for s, c in STATUS_COLOURS.items()}),
                },
            ],
        },
        {
            "matcher": {"id": "byName", "options": "Calls today"},
            "properties": [{"id": "unit", "value": "short"}],
        },
    ]
    return table(
        "Agents now",
        "Every agent with their status, time in it and calls today. A row turns orange when "
        f"the agent has been in READY, PAUSED or WRAP past its limit ({limits_text()}: "
        'orange/red) and red at twice it; "Of status limit" is that time as a share of the '
        "orange limit (0% for statuses without one)." + NEEDS_AGENT_METRICS,
        "none",
        targets,
        transformations=[
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {
                    "excludeByName": {name: True for name in hidden},
                    "indexByName": {name: index for index, name in enumerate(order)},
                    "renameByName": names,
                },
            },
        ],
        overrides=overrides,
        sort_by=[{"desc": True, "displayName": "Of status limit"}],
    )


def floor_row() -> Line:
    """Status counts and times from the aggregate series alone."""
    return [
        (
            bargauge(
                "Agents by status now",
                "How many agents are in each status, summed over the selected targets.",
                "short",
                queries((f"sum by (status) ({sel('convoso_agents')})", "{{status}}"), instant=True),
                overrides=status_colours(),
                color={"mode": "fixed", "fixedColor": "text"},
            ),
            8,
            8,
        ),
        (
            bargauge(
                "Longest time in status",
                "The longest any agent has been in each status. "
                f"Thresholds per status: {limits_text()} (orange/red).",
                "s",
                queries(
                    (f"max by (status) ({sel('convoso_agents_status_time_max_seconds')})", "{{status}}"),
                    instant=True,
                ),
                color={"mode": "thresholds"},
                overrides=status_thresholds(),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Time in status, 90th percentile",
                "Nine in ten agents in each status have been in it for less than this "
                "(from the convoso_agents_status_time_seconds distribution).",
                "s",
                queries(
                    (
                        "histogram_quantile(0.9, sum by (status, le) "
                        f"({sel('convoso_agents_status_time_seconds_bucket')}))",
                        "{{status}}",
                    )
                ),
                overrides=status_colours(),
            ),
            8,
            8,
        ),
    ]


def distribution_row() -> Line:
    """Calls today across agents, from the gauge histogram that works without per-agent series."""
    buckets = sel("convoso_agents_calls_today_bucket")
    return [
        (
            bargauge(
                "Calls today: how many agents per bucket",
                "Agents grouped by how many calls they have handled today (the "
                "convoso_agents_calls_today distribution), over the selected targets. "
                "Works with per-agent metrics switched off.",
                "short",
                queries((f"sum by (le) ({buckets})", "{{le}}"), instant=True, fmt="heatmap"),
                color={"mode": "fixed", "fixedColor": "blue"},
            ),
            8,
            9,
        ),
        (
            timeseries(
                "Calls today per agent: 10th, 50th and 90th percentile",
                "Spread of calls today across agents, per target: a wide gap between the 10th "
                "and 90th percentile means some people are under- or over-loaded.",
                "short",
                queries(
                    (f"histogram_quantile(0.1, sum by (target, le) ({buckets}))", "p10 {{target}}"),
                    (f"histogram_quantile(0.5, sum by (target, le) ({buckets}))", "p50 {{target}}"),
                    (f"histogram_quantile(0.9, sum by (target, le) ({buckets}))", "p90 {{target}}"),
                ),
            ),
            10,
            9,
        ),
        (
            stat(
                "Average calls per agent today",
                "Calls handled today divided by the agents in the list, per target.",
                "short",
                queries(
                    (
                        f"sum by (target) ({sel('convoso_agents_calls_today_gsum')}) "
                        f"/ (sum by (target) ({sel('convoso_agents_calls_today_gcount')}) > 0)",
                        "{{target}}",
                    ),
                    instant=True,
                ),
                defaults={"decimals": 1},
            ),
            6,
            9,
        ),
    ]


def per_agent_row() -> Line:
    """The agents to look at by name; needs the per-agent series."""
    paused_orange, paused_red = STATUS_LIMITS["PAUSED"]
    paused = sel("convoso_agent_status_time_seconds", 'status="PAUSED"')
    logged_out = sel("convoso_agent_status_time_seconds", 'status="LOGGED_OUT"')
    calls_today = (
        f"{sel('convoso_agent_calls_today')} unless on (job, instance, target, user_id) {logged_out}"
    )
    return [
        (agents_table(), 24, 12),
        (
            bargauge(
                "Longest-paused agents",
                f"The ten agents paused the longest (orange from {paused_orange // 60}m, red "
                f"from {paused_red // 60}m)." + NEEDS_AGENT_METRICS,
                "s",
                queries(
                    (
                        f"topk(10, {agent_join(paused)})",
                        "{{user_full_name}} ({{target}})",
                    ),
                    instant=True,
                ),
                color={"mode": "thresholds"},
                thresholds=thresholds("green", (paused_orange, "orange"), (paused_red, "red")),
            ),
            8,
            10,
        ),
        (
            bargauge(
                "Fewest calls today",
                "The ten logged-in agents with the fewest calls today: possibly under-loaded."
                + NEEDS_AGENT_METRICS,
                "short",
                queries(
                    (f"bottomk(10, {agent_join(calls_today)})", "{{user_full_name}} ({{target}})"),
                    instant=True,
                ),
                color={"mode": "fixed", "fixedColor": "blue"},
            ),
            8,
            10,
        ),
        (
            bargauge(
                "Most calls today",
                "The ten logged-in agents with the most calls today: possibly over-loaded."
                + NEEDS_AGENT_METRICS,
                "short",
                queries(
                    (f"topk(10, {agent_join(calls_today)})", "{{user_full_name}} ({{target}})"), instant=True
                ),
                color={"mode": "fixed", "fixedColor": "blue"},
            ),
            8,
            10,
        ),
    ]


def build(settings: Settings) -> dict:
    """The dashboard; `settings` is taken like every dashboard's though none of it is used here."""
    return dashboard(
        __name__,
        "convoso-agents",
        "Convoso / Agents",
        "Who is doing what: status, time in status and calls today, per agent and in aggregate.",
        [
            ("Floor now (works without per-agent metrics)", floor_row()),
            ("Calls today across agents (works without per-agent metrics)", distribution_row()),
            ("Per agent (needs agent_metrics: true)", per_agent_row()),
        ],
    )
