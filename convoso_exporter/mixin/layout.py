"""The dashboard around the panels: rows on Grafana's grid, template variables, the JSON envelope.

Every dashboard gets the same `datasource`/`job`/`instance` variables, then either
`campaign`/`queue` (shown by name, from the `_info` series) or `target`; it links to its
siblings and is read-only; its description ends with the note saying which module
generates it.
"""

from __future__ import annotations

from convoso_exporter.mixin.files import generated_note
from convoso_exporter.mixin.panels import DATASOURCE, Panel
from convoso_exporter.mixin.promql import sel

SCHEMA_VERSION = 39
TAGS = ["convoso", "contact-center"]


def row(title: str) -> Panel:
    """A section heading across the grid (never collapsed, so every panel shows)."""
    return {"collapsed": False, "panels": [], "title": title, "type": "row"}


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


ALL_TARGETS = ".+"
# Agents without a campaign or queue are counted under the empty value: "All" must keep them.
ALL_SCOPES = ".*"


def query_variable(name: str, label: str, definition: str, *, all_value: str = ALL_TARGETS, regex: str = "") -> dict:
    """A multi-value variable with an All option, so every query can filter on it."""
    return {
        "allValue": all_value,
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
        "regex": regex,
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def info_variable(name: str, label: str, metric: str, id_label: str, name_label: str) -> dict:
    """Ids from an `_info` series, shown by name: `query_result` lists them, the regex's named
    groups take the id as the value and the name as the text (the id when there is no name)."""
    definition = f"query_result(max by ({id_label}, {name_label}) ({sel(metric)}))"
    # A label value may hold an escaped quote (\"): match escapes whole, so a name with a
    # quote in it is not cut at that quote.
    value = r'(?:[^"\\]|\\.)*'
    regex = f'/{id_label}="(?<value>{value})"(?:.*{name_label}="(?<text>{value})")?/'
    return query_variable(name, label, definition, all_value=ALL_SCOPES, regex=regex)


def common_variables() -> list[dict]:
    """datasource, job, instance: every dashboard's, each narrowed by the ones before it."""
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
    ]


def campaign_variable() -> dict:
    """Campaign, shown by name (from the account's campaign list)."""
    return info_variable("campaign", "Campaign", "convoso_campaign_info", "campaign_id", "campaign_name")


def scope_variables() -> list[dict]:
    """Campaign and queue, shown by name: the dashboards about the contact center."""
    return common_variables() + [
        campaign_variable(),
        info_variable("queue", "Queue", "convoso_queue_info", "queue_id", "queue_name"),
    ]


def campaign_variables() -> list[dict]:
    """Campaign alone: the dashboards about what is judged per campaign (the drop-rate law)."""
    return common_variables() + [campaign_variable()]


def target_variables() -> list[dict]:
    """Target: the dashboards about the exporter, whose health is per target."""
    return common_variables() + [
        query_variable("target", "Target", f"label_values({sel('convoso_up')}, target)"),
    ]


def dashboard(
    source: str,
    uid: str,
    title: str,
    description: str,
    sections: list[tuple[str, Line]],
    variables: list[dict],
) -> dict:
    """A whole dashboard; `source` is the generating module's `__name__`, named in the description;
    `variables` is `scope_variables()`, `campaign_variables()` or `target_variables()`."""
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
        "description": f"{description} {generated_note(source)}",
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
        "templating": {"list": variables},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }
