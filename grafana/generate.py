#!/usr/bin/env python3
"""Generate the Grafana dashboards in `grafana/dashboards/` from plain Python.

    python3 grafana/generate.py            # rewrites grafana/dashboards/*.json

Plain dicts rather than a builder library, so generating needs nothing beyond the
standard library; `tests/test_dashboards.py` checks every convention (datasource
variable, job/instance/target filters, units, descriptions, `$__rate_interval`, stable
uids) and that the committed JSON is exactly what this script writes.

The drop-rate lines (2% / 3%), the burst window and the stale-data age come from
`prometheus/generate_rules.py`, so a dashboard always draws the lines the alerts use.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "dashboards"
SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TAGS = ["convoso", "contact-center"]

# One colour per agent status, the same on every panel. Red is kept for trouble.
STATUS_COLOURS = {
    "READY": "green",
    "INCALL": "blue",
    "PAUSED": "orange",
    "WRAP": "purple",
    "RINGING": "yellow",
    "TRANSFER": "super-light-blue",
    "LOGGED_OUT": "#8e8e8e",
}
# Seconds in a status after which an agent needs a look: (orange, red).
STATUS_LIMITS = {"READY": (300, 600), "PAUSED": (900, 1800), "WRAP": (120, 300)}

Panel = dict[str, Any]


def load_rule_settings() -> Any:
    """The alert rules' Settings (thresholds live there, once)."""
    path = HERE.parent / "prometheus" / "generate_rules.py"
    spec = importlib.util.spec_from_file_location("generate_rules", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


RULES = load_rule_settings()
SETTINGS = RULES.Settings()


# ------------------------------------------------------------------ query helpers


def sel(metric: str, extra: str = "", target: bool = True) -> str:
    """`metric{...}` filtered on the dashboard variables (and `extra` matchers)."""
    matchers = ['job=~"$job"', 'instance=~"$instance"']
    if target:
        matchers.append('target=~"$target"')
    if extra:
        matchers.append(extra)
    return f"{metric}{{{','.join(matchers)}}}"


def window_increase(selector: str, window: str) -> str:
    """Growth of a `*_today` gauge over `window`, 0 across the day boundary.

    The same idiom as the rules' `increase15m` recording rules: plain arithmetic, because
    these are gauges that reset daily (see prometheus/generate_rules.py).
    """
    return f"clamp_min({selector} - ({selector} offset {window} or min_over_time({selector}[{window}])), 0)"


def query(
    expr: str, legend: str = "", ref: str = "A", instant: bool = False, fmt: str = "time_series"
) -> dict:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "format": fmt,
        "instant": instant,
        "legendFormat": legend,
        "range": not instant,
        "refId": ref,
    }


def queries(*specs: tuple[str, str], instant: bool = False, fmt: str = "time_series") -> list[dict]:
    """(expr, legend) pairs with refIds A, B, C..."""
    return [query(expr, legend, chr(ord("A") + i), instant, fmt) for i, (expr, legend) in enumerate(specs)]


# ------------------------------------------------------------------ field config helpers


def thresholds(base: str, *steps: tuple[float, str]) -> dict:
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": colour, "value": value} for value, colour in steps],
    }


def fixed_colour(name: str, colour: str) -> dict:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "color", "value": {"fixedColor": colour, "mode": "fixed"}}],
    }


def status_colours() -> list[dict]:
    return [fixed_colour(status, colour) for status, colour in STATUS_COLOURS.items()]


def status_thresholds() -> list[dict]:
    """Per-status thresholds for panels whose series are named by status."""
    return [
        {
            "matcher": {"id": "byName", "options": status},
            "properties": [
                {"id": "thresholds", "value": thresholds("green", (orange, "orange"), (red, "red"))}
            ],
        }
        for status, (orange, red) in STATUS_LIMITS.items()
    ]


def value_mappings(mapping: dict[str, tuple[str, str]]) -> list[dict]:
    """{"1": ("UP", "green")} -> a Grafana value mapping."""
    return [
        {
            "type": "value",
            "options": {
                value: {"color": colour, "index": index, "text": text}
                for index, (value, (text, colour)) in enumerate(mapping.items())
            },
        }
    ]


def drop_rate_thresholds() -> dict:
    return thresholds(
        "green",
        (SETTINGS.drop_rate_warning, "orange"),
        (SETTINGS.drop_rate_critical, "red"),
    )


LEGEND = {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True}
TOOLTIP = {"mode": "multi", "sort": "desc"}
REDUCE_LAST = {"calcs": ["lastNotNull"], "fields": "", "values": False}


# ------------------------------------------------------------------ panels


def panel(kind: str, title: str, description: str, unit: str, targets: list[dict], **extra: Any) -> Panel:
    result: Panel = {
        "datasource": DATASOURCE,
        "description": description,
        "fieldConfig": {
            "defaults": {
                "color": extra.pop("color", {"mode": "palette-classic"}),
                "mappings": extra.pop("mappings", []),
                "thresholds": extra.pop("thresholds", thresholds("green")),
                "unit": unit,
            },
            "overrides": extra.pop("overrides", []),
        },
        "options": extra.pop("options"),
        "targets": targets,
        "title": title,
        "type": kind,
    }
    result["fieldConfig"]["defaults"].update(extra.pop("defaults", {}))
    result.update(extra)
    return result


def timeseries(
    title: str,
    description: str,
    unit: str,
    targets: list[dict],
    *,
    stack: bool = False,
    threshold_lines: bool = False,
    soft_max: float | None = None,
    **extra: Any,
) -> Panel:
    custom = {
        "axisSoftMin": 0,
        "drawStyle": "line",
        "fillOpacity": 70 if stack else 10,
        "gradientMode": "none",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": "line+area" if threshold_lines else "off"},
    }
    if soft_max is not None:
        custom["axisSoftMax"] = soft_max
    defaults = {"custom": custom, **extra.pop("defaults", {})}
    return panel(
        "timeseries",
        title,
        description,
        unit,
        targets,
        defaults=defaults,
        options={"legend": LEGEND, "tooltip": TOOLTIP},
        **extra,
    )


def stat(
    title: str,
    description: str,
    unit: str,
    targets: list[dict],
    *,
    colour_mode: str = "value",
    text_mode: str = "value_and_name",
    **extra: Any,
) -> Panel:
    options = {
        "colorMode": colour_mode,
        "graphMode": "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": REDUCE_LAST,
        "showPercentChange": False,
        "textMode": text_mode,
        "wideLayout": True,
    }
    return panel("stat", title, description, unit, targets, options=options, **extra)


def bargauge(title: str, description: str, unit: str, targets: list[dict], **extra: Any) -> Panel:
    options = {
        "displayMode": "basic",
        "maxVizHeight": 300,
        "minVizHeight": 16,
        "minVizWidth": 8,
        "namePlacement": "auto",
        "orientation": "horizontal",
        "reduceOptions": REDUCE_LAST,
        "showUnfilled": True,
        "sizing": "auto",
        "valueMode": "color",
    }
    return panel("bargauge", title, description, unit, targets, options=options, **extra)


def state_timeline(title: str, description: str, unit: str, targets: list[dict], **extra: Any) -> Panel:
    options = {
        "alignValue": "left",
        "legend": LEGEND,
        "mergeValues": True,
        "rowHeight": 0.9,
        "showValue": "auto",
        "tooltip": TOOLTIP,
    }
    defaults = {
        "custom": {
            "fillOpacity": 70,
            "hideFrom": {"legend": False, "tooltip": False, "viz": False},
            "lineWidth": 0,
        }
    }
    return panel(
        "state-timeline", title, description, unit, targets, options=options, defaults=defaults, **extra
    )


def table(title: str, description: str, unit: str, targets: list[dict], **extra: Any) -> Panel:
    options = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
        "showHeader": True,
        "sortBy": extra.pop("sort_by", []),
    }
    defaults = {"custom": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False}}
    return panel("table", title, description, unit, targets, options=options, defaults=defaults, **extra)


def row(title: str) -> Panel:
    return {"collapsed": False, "panels": [], "title": title, "type": "row"}


# ------------------------------------------------------------------ layout and dashboard

Line = list[tuple[Panel, int, int]]  # (panel, width, height) left to right


def layout(sections: list[tuple[str, Line]]) -> list[Panel]:
    """Rows of panels on Grafana's 24-column grid, ids in reading order."""
    placed: list[Panel] = []
    y = 0
    for title, line in sections:
        placed.append({**row(title), "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        y += 1
        x, tallest = 0, 0
        for item, width, height in line:
            if x + width > 24:
                y, x, tallest = y + tallest, 0, 0
            placed.append({**item, "gridPos": {"h": height, "w": width, "x": x, "y": y}})
            x, tallest = x + width, max(tallest, height)
        y += tallest
    return [{**item, "id": index} for index, item in enumerate(placed, start=1)]


def query_variable(name: str, label: str, definition: str) -> dict:
    return {
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": DATASOURCE,
        "definition": definition,
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": definition,
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def variables() -> list[dict]:
    return [
        {
            "current": {},
            "hide": 0,
            "includeAll": False,
            "label": "Data source",
            "multi": False,
            "name": "datasource",
            "options": [],
            "query": "prometheus",
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
            "type": "datasource",
        },
        query_variable("job", "Job", "label_values(convoso_exporter_build_info, job)"),
        query_variable(
            "instance", "Instance", 'label_values(convoso_exporter_build_info{job=~"$job"}, instance)'
        ),
        query_variable(
            "target", "Target", 'label_values(convoso_up{job=~"$job",instance=~"$instance"}, target)'
        ),
    ]


def dashboard(uid: str, title: str, description: str, sections: list[tuple[str, Line]]) -> dict:
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": description,
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "asDropdown": True,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": ["convoso"],
                "targetBlank": False,
                "title": "Convoso dashboards",
                "tooltip": "",
                "type": "dashboards",
                "url": "",
            }
        ],
        "panels": layout(sections),
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": TAGS,
        "templating": {"list": variables()},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


# ------------------------------------------------------------------ the dashboards


def status_count_stat(status: str, title: str) -> Panel:
    in_status = sel("convoso_agents", f'status="{status}"')
    return stat(
        title,
        f"Agents in status {status} now, per target (counted from the agents list).",
        "short",
        queries((f"sum by (target) ({in_status})", "{{target}}"), instant=True),
        color={"fixedColor": STATUS_COLOURS[status], "mode": "fixed"},
    )


def overview() -> dict:
    dropped, answered, calls = (
        sel("convoso_queue_dropped_today"),
        sel("convoso_queue_answered_today"),
        sel("convoso_queue_calls_today"),
    )
    drop_rate = f"{dropped} / ({answered} > 0)"
    critical, warning = RULES.percent(SETTINGS.drop_rate_critical), RULES.percent(SETTINGS.drop_rate_warning)
    window = SETTINGS.burst_window
    logged_in = sel("convoso_agents", 'status!="LOGGED_OUT"')
    now: Line = [
        (status_count_stat("READY", "Agents ready"), 4, 5),
        (status_count_stat("INCALL", "Agents in call"), 4, 5),
        (status_count_stat("PAUSED", "Agents paused"), 4, 5),
        (status_count_stat("WRAP", "Agents in wrap-up"), 4, 5),
        (
            stat(
                "Targets up",
                "Whether the exporter's last poll of each target succeeded. DOWN means the "
                "numbers on this dashboard are old or missing: see the Exporter health dashboard.",
                "none",
                queries((sel("convoso_up"), "{{target}}"), instant=True),
                colour_mode="background",
                mappings=value_mappings({"0": ("DOWN", "red"), "1": ("UP", "green")}),
            ),
            8,
            5,
        ),
    ]
    agents: Line = [
        (
            timeseries(
                "Logged-in agents by status",
                "Agents in each status over time, stacked, summed over the selected targets "
                "(an agent in two overlapping targets counts twice). LOGGED_OUT is left out.",
                "short",
                queries((f"sum by (status) ({logged_in})", "{{status}}")),
                stack=True,
                overrides=status_colours(),
            ),
            16,
            9,
        ),
        (
            timeseries(
                "Dialable leads in queue",
                "Leads left to dial, per target. "
                "Leads waiting while no agent is ready raises ConvosoNoAgentReady.",
                "short",
                queries((sel("convoso_queue_dialable_leads"), "{{target}}")),
            ),
            8,
            9,
        ),
    ]
    drops: Line = [
        (
            stat(
                "Drop rate today",
                f"Dropped ÷ answered queue calls since the account's day began, per target. "
                f"Orange from {warning}, red from the {critical} legal line (the alert thresholds). "
                "No value until a call is answered.",
                "percentunit",
                queries((drop_rate, "{{target}}"), instant=True),
                colour_mode="background",
                thresholds=drop_rate_thresholds(),
                defaults={"decimals": 2},
            ),
            6,
            8,
        ),
        (
            timeseries(
                f"Drop rate today against the {critical} line",
                f"Dropped ÷ answered queue calls today, per target, over time. The red area is "
                f"the {critical} legal limit (ConvosoDropRateCritical), the orange band the "
                f"{warning} warning (ConvosoDropRateWarning). Resets with the account's day.",
                "percentunit",
                queries((drop_rate, "{{target}}")),
                threshold_lines=True,
                soft_max=SETTINGS.drop_rate_critical * 4 / 3,  # keep the legal line in view
                thresholds=drop_rate_thresholds(),
                defaults={"decimals": 2, "min": 0},
            ),
            18,
            8,
        ),
    ]
    today: Line = [
        (
            stat(
                "Queue calls today",
                "Queue calls, answered and dropped since the account's day began, per target "
                "(queue_calls_today, queue_answered, queue_dropped).",
                "short",
                queries(
                    (calls, "{{target}} calls"),
                    (answered, "{{target}} answered"),
                    (dropped, "{{target}} dropped"),
                    instant=True,
                ),
            ),
            8,
            6,
        ),
        (
            stat(
                "Calls in scope today",
                "Calls, answered and dropped today for everything the target selects "
                "(the API's call_data), per target.",
                "short",
                queries(
                    (sel("convoso_calls_today"), "{{target}} calls"),
                    (sel("convoso_calls_answered_today"), "{{target}} answered"),
                    (sel("convoso_calls_dropped_today"), "{{target}} dropped"),
                    instant=True,
                ),
            ),
            8,
            6,
        ),
        (
            stat(
                f"Drops in the last {window}",
                f"Queue calls dropped in the last {window}, per target: what ConvosoDropBurst "
                f"watches (it fires from {SETTINGS.burst_min_drops} drops that are over "
                f"{RULES.percent(SETTINGS.burst_drop_rate)} of the calls answered in the window).",
                "short",
                queries((window_increase(dropped, window), "{{target}}"), instant=True),
            ),
            8,
            6,
        ),
        (
            timeseries(
                "Queue calls per interval",
                "Queue calls, answered and dropped in each graph interval (at least 1m), per "
                "target. Worked out from the daily totals, so the interval that spans the "
                "day boundary shows 0.",
                "short",
                queries(
                    (window_increase(calls, "$__interval"), "{{target}} calls"),
                    (window_increase(answered, "$__interval"), "{{target}} answered"),
                    (window_increase(dropped, "$__interval"), "{{target}} dropped"),
                ),
                interval="1m",
            ),
            24,
            8,
        ),
    ]
    return dashboard(
        "convoso-overview",
        "Convoso / Contact center overview",
        "Agents, queue and today's drop rate per Convoso target, from convoso-exporter.",
        [("Right now", now), ("Agents and leads", agents), ("Drop rate", drops), ("Calls", today)],
    )


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


def agents() -> dict:
    paused_orange, paused_red = STATUS_LIMITS["PAUSED"]
    buckets = sel("convoso_agents_calls_today_bucket")
    paused = sel("convoso_agent_status_time_seconds", 'status="PAUSED"')
    logged_out = sel("convoso_agent_status_time_seconds", 'status="LOGGED_OUT"')
    calls_today = (
        f"{sel('convoso_agent_calls_today')} unless on (job, instance, target, user_id) {logged_out}"
    )
    floor: Line = [
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
                        f"histogram_quantile(0.9, sum by (status, le) ({sel('convoso_agents_status_time_seconds_bucket')}))",
                        "{{status}}",
                    )
                ),
                overrides=status_colours(),
            ),
            8,
            8,
        ),
    ]
    distribution: Line = [
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
    per_agent: Line = [
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
    return dashboard(
        "convoso-agents",
        "Convoso / Agents",
        "Who is doing what: status, time in status and calls today, per agent and in aggregate.",
        [
            ("Floor now (works without per-agent metrics)", floor),
            ("Calls today across agents (works without per-agent metrics)", distribution),
            ("Per agent (needs agent_metrics: true)", per_agent),
        ],
    )


def exporter() -> dict:
    requests = sel("convoso_exporter_api_requests_total", target=False)
    errors = sel("convoso_exporter_api_requests_total", 'outcome!="success"', target=False)
    latency = sel("convoso_exporter_api_request_duration_seconds_bucket", target=False)
    stale = RULES.duration_seconds(SETTINGS.stale_after)
    polls: Line = [
        (
            state_timeline(
                "Poll outcome per target",
                "OK when the exporter's last poll of the target succeeded, FAILED when it did not (convoso_up).",
                "none",
                queries((sel("convoso_up"), "{{target}}")),
                mappings=value_mappings({"0": ("FAILED", "red"), "1": ("OK", "green")}),
                color={"mode": "thresholds"},
            ),
            12,
            7,
        ),
        (
            timeseries(
                "Poll success ratio",
                "Share of the time each target's last poll had succeeded, over the rate interval.",
                "percentunit",
                queries((f"avg_over_time({sel('convoso_up')}[$__rate_interval])", "{{target}}")),
                defaults={"min": 0, "max": 1},
            ),
            12,
            7,
        ),
        (
            timeseries(
                "Data age",
                "Seconds since the last successful poll of each target. "
                f"ConvosoDataStale fires past {SETTINGS.stale_after} (the red line).",
                "s",
                queries((f"time() - {sel('convoso_last_success_timestamp_seconds')}", "{{target}}")),
                threshold_lines=True,
                thresholds=thresholds("green", (stale / 2, "orange"), (stale, "red")),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Poll duration",
                "How long the last poll of each target took.",
                "s",
                queries((sel("convoso_poll_duration_seconds"), "{{target}}")),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Poll errors by target and kind",
                "Failed polls per rate interval by error kind (auth, api, rate_limited, server, "
                'protocol, too_large, timeout, connection). A flat "none" line means no poll failed.',
                "short",
                queries(
                    (
                        f"sum by (target, kind) (increase({sel('convoso_exporter_poll_errors_total')}[$__rate_interval]))\n"
                        "or on (target)\n"
                        f'label_replace(sum by (target) ({sel("convoso_up")}) * 0, "kind", "none", "", "")',
                        "{{target}} {{kind}}",
                    )
                ),
            ),
            8,
            8,
        ),
    ]
    api: Line = [
        (
            timeseries(
                "API requests by outcome",
                "Requests to the Convoso API per second, by endpoint and outcome (success or the error kind).",
                "reqps",
                queries(
                    (
                        f"sum by (endpoint, outcome) (rate({requests}[$__rate_interval]))",
                        "{{endpoint}} {{outcome}}",
                    )
                ),
                stack=True,
            ),
            8,
            8,
        ),
        (
            timeseries(
                "API error ratio",
                "Share of Convoso API requests that failed, per endpoint.",
                "percentunit",
                queries(
                    (
                        f"sum by (endpoint) (rate({errors}[$__rate_interval]))\n"
                        f"  / sum by (endpoint) (rate({requests}[$__rate_interval]))\n"
                        "or\n"
                        f"sum by (endpoint) (rate({requests}[$__rate_interval])) * 0",
                        "{{endpoint}}",
                    )
                ),
                defaults={"min": 0},
            ),
            8,
            8,
        ),
        (
            timeseries(
                "API latency",
                "Convoso API request latency quantiles per endpoint, from the exporter's histogram.",
                "s",
                queries(
                    *(
                        (
                            f"histogram_quantile({q}, sum by (endpoint, le) (rate({latency}[$__rate_interval])))",
                            f"p{round(q * 100)} {{{{endpoint}}}}",
                        )
                        for q in (0.5, 0.9, 0.99)
                    )
                ),
            ),
            8,
            8,
        ),
    ]
    process: Line = [
        (
            stat(
                "Exporter version",
                "Version and Python of each exporter instance (convoso_exporter_build_info).",
                "none",
                queries(
                    (
                        sel("convoso_exporter_build_info", target=False),
                        "{{instance}}: {{version}} (Python {{python_version}})",
                    ),
                    instant=True,
                ),
                text_mode="name",
            ),
            8,
            4,
        ),
        (
            stat(
                "Targets configured",
                "Targets in each exporter's configuration.",
                "short",
                queries((sel("convoso_exporter_targets", target=False), "{{instance}}"), instant=True),
            ),
            4,
            4,
        ),
        (
            stat(
                "Last config reload",
                "Whether the exporter's last configuration (re)load succeeded.",
                "none",
                queries(
                    (sel("convoso_exporter_config_last_reload_successful", target=False), "{{instance}}"),
                    instant=True,
                ),
                colour_mode="background",
                mappings=value_mappings({"0": ("FAILED", "red"), "1": ("OK", "green")}),
            ),
            4,
            4,
        ),
        (
            stat(
                "Agents left out of per-agent series",
                "Agents not exported one by one because of max_agents_per_target, per target; "
                "aggregates still count them.",
                "short",
                queries((sel("convoso_exporter_agents_truncated"), "{{target}}"), instant=True),
                thresholds=thresholds("green", (1, "orange")),
            ),
            8,
            4,
        ),
        (
            timeseries(
                "Scrape duration and size",
                "How long Prometheus takes to scrape the exporter (left) and how many samples it gets (right).",
                "s",
                queries(
                    (sel("scrape_duration_seconds", target=False), "{{instance}} duration"),
                    (sel("scrape_samples_scraped", target=False), "{{instance}} samples"),
                ),
                overrides=[
                    {
                        "matcher": {"id": "byFrameRefID", "options": "B"},
                        "properties": [
                            {"id": "unit", "value": "short"},
                            {"id": "custom.axisPlacement", "value": "right"},
                        ],
                    }
                ],
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Exporter CPU",
                "CPU used by the exporter process, in cores.",
                "percentunit",
                queries(
                    (
                        f"rate({sel('process_cpu_seconds_total', target=False)}[$__rate_interval])",
                        "{{instance}}",
                    )
                ),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Exporter memory",
                "Resident memory of the exporter process.",
                "bytes",
                queries((sel("process_resident_memory_bytes", target=False), "{{instance}}")),
            ),
            8,
            8,
        ),
    ]
    return dashboard(
        "convoso-exporter",
        "Convoso / Exporter health",
        "Is convoso-exporter polling Convoso, how fast, with which errors, and how fresh is the data.",
        [("Polls per target", polls), ("Convoso API", api), ("Exporter process", process)],
    )


DASHBOARDS = {
    "convoso-overview.json": overview,
    "convoso-agents.json": agents,
    "convoso-exporter.json": exporter,
}


def render(build: Any) -> str:
    """The committed text of one dashboard: sorted keys, 2-space indent, final newline."""
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output-dir", default=str(OUT_DIR), help="folder to write the JSON files to")
    out = Path(parser.parse_args(argv).output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, build in DASHBOARDS.items():
        (out / name).write_text(render(build), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
