"""Shared Grafana building blocks: queries, colours and the panel kinds.

Plain dicts rather than a builder library, so generating needs nothing beyond the
exporter's own dependencies. Every helper fills in the mixin conventions once (the
`datasource` variable, a unit, a description), so a dashboard module only says what
differs. The PromQL itself (selectors, scope filters, joins) is `promql`.
"""

from __future__ import annotations

from typing import Any

# The status colours and time limits are the wallboard's too: defined once, in statuses.py.
from convoso_exporter.statuses import STATUS_COLOURS, STATUS_LIMITS

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


Panel = dict[str, Any]


# ------------------------------------------------------------------ queries


def query(
    expr: str, legend: str = "", ref: str = "A", instant: bool = False, fmt: str = "time_series"
) -> dict:
    """One PromQL target on the `datasource` variable, shown as code (the queries are hand-written)."""
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
    """`base` colour below the first step, then (value, colour) steps: how alert lines are drawn."""
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": colour, "value": value} for value, colour in steps],
    }


def fixed_colour(name: str, colour: str) -> dict:
    """Pin the series called `name` to one colour, so it means the same on every panel."""
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "color", "value": {"fixedColor": colour, "mode": "fixed"}}],
    }


def dashed(ref: str) -> list[dict]:
    """Draw the series of query `ref` dashed (a second source or basis beside the first)."""
    return [
        {
            "matcher": {"id": "byFrameRefID", "options": ref},
            "properties": [{"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}}],
        }
    ]


def status_colours() -> list[dict]:
    """The STATUS_COLOURS overrides for panels whose series are named by status."""
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


LEGEND = {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True}
TOOLTIP = {"mode": "multi", "sort": "desc"}
REDUCE_LAST = {"calcs": ["lastNotNull"], "fields": "", "values": False}


# ------------------------------------------------------------------ panels


def panel(kind: str, title: str, description: str, unit: str, targets: list[dict], **extra: Any) -> Panel:
    """What every panel carries (datasource, description, unit); `extra` fills in or overrides the rest."""
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
    bars: bool = False,
    **extra: Any,
) -> Panel:
    """A graph from 0: `stack` for parts of a whole, `threshold_lines` to draw the alert lines,
    `bars` for one value per interval (a day's figures)."""
    custom = {
        "axisSoftMin": 0,
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 70 if stack or bars else 10,
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
    """Big numbers, last value of each series: what is true right now."""
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
    """Horizontal bars, last value of each series: for comparing and ranking."""
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
    """Coloured bands over time: for values that are states (up/down)."""
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
    """One row per series, columns from labels: for looking things up by name."""
    options = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
        "showHeader": True,
        "sortBy": extra.pop("sort_by", []),
    }
    defaults = {"custom": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False}}
    return panel("table", title, description, unit, targets, options=options, defaults=defaults, **extra)


def merged_columns(columns: list[tuple[str, str]], hidden: list[str]) -> list[dict]:
    """Table transformations: merge the instant queries into rows (by their shared labels),
    then show `columns` (field, heading) in that order and hide the `hidden` fields."""
    return [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {
                "excludeByName": {name: True for name in hidden},
                "indexByName": {name: index for index, (name, _) in enumerate(columns)},
                "renameByName": dict(columns),
            },
        },
    ]


def column_units(units: dict[str, str]) -> list[dict]:
    """{heading: unit} as per-column overrides."""
    return [
        {"matcher": {"id": "byName", "options": heading}, "properties": [{"id": "unit", "value": unit}]}
        for heading, unit in units.items()
    ]
