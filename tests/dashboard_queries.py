"""The PromQL behind the shipped Grafana dashboards, ready to run against a real Prometheus.

`tests/unit/mixin/test_dashboards.py` checks the queries' structure; the end-to-end test runs every
one of them against a Prometheus that scraped the exporter:

    for name, dashboard in load_dashboards().items():
        for title, expr in panel_queries(dashboard):
            run(substitute_variables(expr))          # $job -> .+, $__rate_interval -> 1m, ...

`substitute_variables` does what Grafana does with "All" selected in every variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"

# "All" in a multi-value variable: the dashboards' allValue.
ALL = ".+"
DASHBOARD_VARIABLES = ("job", "instance", "target")
# $var, ${var} and ${var:format}.
VARIABLE_RE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
LABEL_VALUES_RE = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")
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


def variable_queries(dashboard: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(variable name, query) for every `query` template variable."""
    found = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            found.append((variable["name"], query["query"] if isinstance(query, dict) else query))
    return found


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

    Dashboard variables default to "All" (`.+`); `values` overrides them (regex text,
    as Grafana writes a multi-value selection). Raises ValueError naming any variable
    that neither Grafana nor the dashboards define.
    """
    duration_seconds(rate_interval)  # raises on a value Prometheus would reject
    interval_s, range_s = duration_seconds(interval), duration_seconds(range_)
    known = {
        **{name: ALL for name in DASHBOARD_VARIABLES},
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
