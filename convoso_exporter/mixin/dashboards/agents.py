"""Convoso / Agents: who is doing what, per agent and in aggregate.

Everything is narrowed by the `campaign` and `queue` variables. The status counts come
from the account's breakdown (`convoso_agents`, each agent once). The time-in-status and
calls-today distributions come from the account answer too, by campaign: campaigns do
not overlap, so they add up, but the queue filter cannot narrow them. The per-agent row needs `agent_metrics: true`
(every panel there says so) and is narrowed by joining `convoso_agent_info`. Nothing
here depends on the alert thresholds: the status limits are `panels.STATUS_LIMITS`.
"""

from __future__ import annotations

from convoso_exporter.mixin.layout import Line, dashboard, scope_variables
from convoso_exporter.mixin.panels import (
    STATUS_COLOURS,
    STATUS_LIMITS,
    Panel,
    bargauge,
    column_units,
    merged_columns,
    queries,
    stat,
    status_colours,
    status_thresholds,
    table,
    thresholds,
    timeseries,
    value_mappings,
)
from convoso_exporter.mixin.promql import (
    CAMPAIGN,
    campaign_names,
    in_agent_scope,
    queue_names,
    scoped,
    sel,
)
from convoso_exporter.mixin.settings import Settings

FROM_CAMPAIGNS = " From the account answer, by campaign (each agent once); the queue filter does not narrow it."


def named(selector: str) -> str:
    """Per-agent series with the agent's name added, kept to the selected campaigns and queues."""
    return in_agent_scope(selector, ("user_full_name",))


def status_limit_ratio() -> str:
    """Each agent's time in status as a fraction of the orange limit for that status."""
    parts = [
        sel("convoso_agent_status_time_seconds", f'status="{status}"') + f" / {orange}"
        for status, (orange, _red) in STATUS_LIMITS.items()
    ]
    limited = "|".join(STATUS_LIMITS)
    parts.append(sel("convoso_agent_status_time_seconds", f'status!~"{limited}"') + " * 0")
    return in_agent_scope("\nor\n".join(parts))


def limits_text() -> str:
    return ", ".join(
        f"{status} {orange // 60}m/{red // 60}m" for status, (orange, red) in STATUS_LIMITS.items()
    )


NEEDS_AGENT_METRICS = " Needs per-agent metrics (agent_metrics: true in the exporter config)."


def agents_table() -> Panel:
    info = scoped("convoso_agent_info")
    targets = queries(
        (f"max by (job, instance, user_id, status) ({in_agent_scope(sel('convoso_agent_status_time_seconds'))})", ""),
        (status_limit_ratio(), ""),
        (f"max by (job, instance, user_id) ({in_agent_scope(sel('convoso_agent_calls_today'))})", ""),
        (f"max by (job, instance, user_id, user_full_name) ({info})", ""),
        (f"max by (job, instance, user_id, campaign_name) ({campaign_names(info)})", ""),
        (f"max by (job, instance, user_id, queue_name) ({queue_names(info)})", ""),
        instant=True,
        fmt="table",
    )
    columns = [
        ("user_full_name", "Agent"),
        ("user_id", "User ID"),
        ("status", "Status"),
        ("Value #A", "Time in status"),
        ("Value #B", "Of status limit"),
        ("Value #C", "Calls today"),
        ("campaign_name", "Campaign"),
        ("queue_name", "Queue"),
    ]
    hidden = ["Time", "job", "instance", "Value #D", "Value #E", "Value #F"]
    limit_cell = {"applyToRow": True, "mode": "basic", "type": "color-background"}
    overrides = column_units({"Time in status": "dtdurations", "Calls today": "short"}) + [
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
    ]
    return table(
        "Agents now",
        "Every agent of the selected campaigns and queues with their status, time in it and "
        "calls today; names from convoso_agent_info and the campaign and queue info. A row "
        "turns orange when the agent has been in READY, PAUSED or WRAP past its limit "
        f'({limits_text()}: orange/red) and red at twice it; "Of status limit" is that time as '
        "a share of the orange limit (0% for statuses without one)." + NEEDS_AGENT_METRICS,
        "none",
        targets,
        transformations=merged_columns(columns, hidden),
        overrides=overrides,
        sort_by=[{"desc": True, "displayName": "Of status limit"}],
    )


def floor_row() -> Line:
    """Status counts and times from the aggregate series alone."""
    status_max = sel("convoso_agents_status_time_max_seconds", CAMPAIGN)
    status_buckets = sel("convoso_agents_status_time_seconds_bucket", CAMPAIGN)
    return [
        (
            bargauge(
                "Agents by status now",
                "How many agents of the selected campaigns and queues are in each status, each "
                "agent once (the account's breakdown, convoso_agents).",
                "short",
                queries((f"sum by (status) ({scoped('convoso_agents')})", "{{status}}"), instant=True),
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
                f"Thresholds per status: {limits_text()} (orange/red)." + FROM_CAMPAIGNS,
                "s",
                queries((f"max by (status) ({status_max})", "{{status}}"), instant=True),
                color={"mode": "thresholds"},
                overrides=status_thresholds(),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Time in status, 90th percentile",
                "Nine in ten agents in each status have been in it for less than this (the "
                "convoso_agents_status_time_seconds distribution)." + FROM_CAMPAIGNS,
                "s",
                queries((f"histogram_quantile(0.9, sum by (status, le) ({status_buckets}))", "{{status}}")),
                overrides=status_colours(),
            ),
            8,
            8,
        ),
    ]


def distribution_row() -> Line:
    """Calls today across agents, from the gauge histogram that works without per-agent series."""
    buckets = campaign_names(sel("convoso_agents_calls_today_bucket", CAMPAIGN))
    per_campaign = [
        (f"histogram_quantile({q}, sum by (campaign_name, le) ({buckets}))", f"p{round(q * 100)} {{{{campaign_name}}}}")
        for q in (0.1, 0.5, 0.9)
    ]
    total = campaign_names(sel("convoso_agents_calls_today_gsum", CAMPAIGN))
    counted = campaign_names(sel("convoso_agents_calls_today_gcount", CAMPAIGN))
    return [
        (
            bargauge(
                "Calls today: how many agents per bucket",
                "Agents grouped by how many calls they have handled today (the "
                "convoso_agents_calls_today distribution). Works with per-agent metrics "
                "switched off." + FROM_CAMPAIGNS,
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
                "Spread of calls today across agents, per selected campaign: a wide gap between "
                "the 10th and 90th percentile means some people are under- or over-loaded.",
                "short",
                queries(*per_campaign),
            ),
            10,
            9,
        ),
        (
            stat(
                "Average calls per agent today",
                "Calls handled today divided by the agents in the list, per selected campaign "
                "(the account answer, by campaign).",
                "short",
                queries(
                    (
                        f"sum by (campaign_name) ({total}) / (sum by (campaign_name) ({counted}) > 0)",
                        "{{campaign_name}}",
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
    calls_today = f"{sel('convoso_agent_calls_today')} unless on (job, instance, user_id) {logged_out}"
    legend = "{{user_full_name}} ({{user_id}})"
    return [
        (agents_table(), 24, 12),
        (
            bargauge(
                "Longest-paused agents",
                f"The ten agents of the selected campaigns and queues paused the longest (orange "
                f"from {paused_orange // 60}m, red from {paused_red // 60}m)." + NEEDS_AGENT_METRICS,
                "s",
                queries((f"topk(10, {named(paused)})", legend), instant=True),
                color={"mode": "thresholds"},
                thresholds=thresholds("green", (paused_orange, "orange"), (paused_red, "red")),
            ),
            8,
            10,
        ),
        (
            bargauge(
                "Fewest calls today",
                "The ten logged-in agents of the selected campaigns and queues with the fewest "
                "calls today: possibly under-loaded." + NEEDS_AGENT_METRICS,
                "short",
                queries((f"bottomk(10, {named(calls_today)})", legend), instant=True),
                color={"mode": "fixed", "fixedColor": "blue"},
            ),
            8,
            10,
        ),
        (
            bargauge(
                "Most calls today",
                "The ten logged-in agents of the selected campaigns and queues with the most "
                "calls today: possibly over-loaded." + NEEDS_AGENT_METRICS,
                "short",
                queries((f"topk(10, {named(calls_today)})", legend), instant=True),
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
        "Who is doing what in the selected campaigns and queues: status, time in status and "
        "calls today, per agent and in aggregate.",
        [
            ("Floor now (works without per-agent metrics)", floor_row()),
            ("Calls today across agents (works without per-agent metrics)", distribution_row()),
            ("Per agent (needs agent_metrics: true)", per_agent_row()),
        ],
        scope_variables(),
    )
