"""The PromQL behind the shipped Grafana dashboards, ready to run against a real Prometheus.

`tests/unit/mixin/test_dashboards.py` checks the queries' structure; the end-to-end test runs every
one of them against a Prometheus that scraped the exporter:

    for name, dashboard in load_dashboards().items():
        for title, expr in panel_queries(dashboard):
            run(substitute_variables(expr))          # $job -> .+, $__rate_interval -> 1m, ...

`substitute_variables` does what Grafana does with "All" selected in every variable.
Variables are `label_values(selector, label)` (job, instance, target) or
`query_result(expr)` with a regex whose named groups pick the value and the text
(campaign, queue: ids shown by name); `query_result_options` does what Grafana does with
the latter's answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"

# "All" in each multi-value variable: the dashboards' allValue. Campaign and queue match
# the empty value too (agents without a campaign or queue count under it).
DASHBOARD_VARIABLES = {"job": ".+", "instance": ".+", "target": ".+", "campaign": ".*", "queue": ".*"}
# $var, ${var} and ${var:format}.
VARIABLE_RE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
LABEL_VALUES_RE = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")
QUERY_RESULT_RE = re.compile(r"^query_result\((?P<expr>.+)\)$", re.DOTALL)
JS_REGEX_RE = re.compile(r"^/(?P<pattern>.*)/(?P<flags>[gimsuy]*)$", re.DOTALL)
DURATION_PART_RE = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def load_dashboards(folder: Path = DASHBOARD_DIR) -> dict[str, dict[str, Any]]:
    """File name -> parsed dashboard, for every JSON file in `folder`."""
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}


def panels(dashboard: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows included, with the panels folded inside collapsed rows."""
    found: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def panel_named(dashboard: Mapping[str, Any], title: str) -> dict[str, Any]:
    """The one visible panel (not a row) with this title."""
    (found,) = [p for p in panels(dashboard) if p["title"] == title and p["type"] != "row"]
    return found


def panel_queries(dashboard: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every enabled query of every panel, in panel order."""
    return [
        (panel.get("title", ""), target["expr"])
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
        if target.get("expr") and not target.get("hide")
    ]


def query_variables(dashboard: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every `query` template variable, as the dashboard defines it."""
    return [v for v in dashboard.get("templating", {}).get("list", []) if v.get("type") == "query"]


def parse_query_result(query: str) -> str:
    """`query_result(expr)` -> expr; ValueError otherwise."""
    match = QUERY_RESULT_RE.match(query.strip())
    if not match:
        raise ValueError(f"not a query_result(expr) query: {query!r}")
    return match["expr"]


def query_result_lines(result: list[dict[str, Any]], at: float) -> list[str]:
    """An instant vector as Grafana's `query_result` lists it: `name{k="v",...} value ms`."""
    lines = []
    for series in result:
        labels = dict(series["metric"])
        name = labels.pop("__name__", "")
        body = ",".join(f'{key}="{value}"' for key, value in labels.items())
        lines.append(f"{name}{{{body}}} {series['value'][1]} {int(at * 1000)}")
    return lines


def query_result_options(regex: str, lines: list[str]) -> list[tuple[str, str]]:
    """(value, text) per line the variable's regex matches, as Grafana reads named groups:
    a missing `text` group shows the value, a missing `value` group uses the text."""
    match = JS_REGEX_RE.match(regex)
    if not match:
        raise ValueError(f"not a /regex/: {regex!r}")
    pattern = re.compile(match["pattern"].replace("(?<", "(?P<"))
    options = []
    for line in lines:
        found = pattern.search(line)
        if found:
            groups = found.groupdict()
            value, text = groups.get("value"), groups.get("text")
            options.append((value if value is not None else text, text if text is not None else value))
    return options


def parse_label_values(query: str) -> tuple[str | None, str]:
    """`label_values(selector, label)` -> (selector or None, label); ValueError otherwise."""
    match = LABEL_VALUES_RE.match(query.strip())
    if not match:
        raise ValueError(f"not a label_values(selector, label) query: {query!r}")
    return match["selector"], match["label"]


def duration_seconds(value: str) -> float:
    """Seconds in a Prometheus duration such as `1m` or `1h30m`; ValueError otherwise."""
    parts = DURATION_PART_RE.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not a duration: {value!r}")
    return sum(int(number) * UNIT_SECONDS[unit] for number, unit in parts)


def substitute_variables(
    expr: str,
    values: Mapping[str, str] | None = None,
    *,
    rate_interval: str = "1m",
    interval: str = "15s",
    range_: str = "1h",
) -> str:
    """`expr` as Grafana would send it to Prometheus.

    Dashboard variables default to "All" (their allValue); `values` overrides them (regex text,
    as Grafana writes a multi-value selection). Raises ValueError naming any variable
    that neither Grafana nor the dashboards define.
    """
    duration_seconds(rate_interval)  # raises on a value Prometheus would reject
    interval_s, range_s = duration_seconds(interval), duration_seconds(range_)
    known = {
        **DASHBOARD_VARIABLES,
        **(values or {}),
        "__rate_interval": rate_interval,
        "__interval": interval,
        "__interval_ms": f"{interval_s * 1000:g}",
        "__range": range_,
        "__range_s": f"{range_s:g}",
        "__range_ms": f"{range_s * 1000:g}",
    }

    def replace(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name not in known:
            raise ValueError(f"unknown variable ${name} in {expr!r}")
        return known[name]

    return VARIABLE_RE.sub(replace, expr)
