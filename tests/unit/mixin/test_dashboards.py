"""The shipped Grafana dashboards follow the monitoring-mixin conventions.

Checked on the committed JSON: a `datasource` variable used by every panel and variable
query, `job`/`instance` filters on every selector (the scope rule: test_promql.py), a title,
description and unit on every panel, `$__rate_interval` in every rate/increase, stable
uids, read-only, a clean grid. Every metric a query names must exist in docs/metrics.md,
and every query must parse (promtool). The committed JSON must be exactly what the
dashboard modules (convoso_exporter/mixin/dashboards/) write, and the provisioning files
must point Grafana at it. Checks of one dashboard's panels live beside it in
tests/unit/mixin/dashboards/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from convoso_exporter.mixin import dashboards, rules
from convoso_exporter.mixin.settings import Settings
from tests.dashboard_queries import (
    load_dashboards,
    panel_queries,
    panels,
    parse_label_values,
    parse_query_result,
    query_result_options,
    query_variables,
    substitute_variables,
)
from tests.support import ROOT

GRAFANA = ROOT / "grafana"
EXPECTED_UIDS = {"convoso-overview", "convoso-agents", "convoso-compliance", "convoso-exporter"}
# Which dashboards are narrowed by campaign (and queue); the others by target.
DASHBOARD_SCOPES = {
    "convoso-overview.json": ["campaign", "queue"],
    "convoso-agents.json": ["campaign", "queue"],
    "convoso-compliance.json": ["campaign"],
}
SCOPE_DASHBOARDS = set(DASHBOARD_SCOPES)
SCOPE_LABELS = {"campaign": "campaign_id", "queue": "queue_id"}
# What a variable query filters on: the variables before it whose labels it carries.
VARIABLE_NEEDS = {
    "job": [],
    "instance": ["job"],
    "target": ["job", "instance"],
    "campaign": ["job", "instance"],
    "queue": ["job", "instance"],
}
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
# Series Prometheus itself attaches to every scrape.
SCRAPE_METRICS = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"}
SUFFIXES = {"histogram": ("_bucket", "_count", "_sum"), "gaugehistogram": ("_bucket", "_gcount", "_gsum")}
METRIC_WORD_RE = re.compile(r"(?<![\w:])(convoso_\w+|process_\w+|scrape_\w+|up)(?![\w:])")
SELECTOR_RE = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)\{([^}]*)\}")
MATCHER_RE = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
STRING_RE = re.compile(r'"[^"]*"')
RATE_CALL_RE = re.compile(r"(?<![\w:])(rate|irate|increase)\s*\(")

DASHBOARDS = load_dashboards()
PANELS = [(name, panel) for name, dashboard in DASHBOARDS.items() for panel in panels(dashboard)]
VISIBLE = [(name, panel) for name, panel in PANELS if panel["type"] != "row"]
QUERIES = [
    (name, title, expr) for name, dashboard in DASHBOARDS.items() for title, expr in panel_queries(dashboard)
]
# The PromQL inside the query_result variables (campaign, queue).
VARIABLE_EXPRS = [
    parse_query_result(v["query"])
    for dashboard in DASHBOARDS.values()
    for v in query_variables(dashboard)
    if v["query"].startswith("query_result(")
]


def ids(items: list[tuple[Any, ...]]) -> list[str]:
    return [f"{item[0]}:{item[1]['title'] if isinstance(item[1], dict) else item[1]}" for item in items]


def table_rows(path: Path) -> list[list[str]]:
    """The cells of every Markdown table row in a file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines if line.startswith("|")]


def metric_catalog() -> dict[str, set[str]]:
    """Series name -> its labels, from the tables in docs/metrics.md (the contract; job and
    instance are Prometheus's, left out)."""
    catalog: dict[str, set[str]] = {}
    for cells in table_rows(ROOT / "docs" / "metrics.md"):
        if len(cells) < 4 or not re.fullmatch(r"`\w+`", cells[0]):
            continue
        name, kind = cells[0].strip("`"), cells[1]
        labels = {label.strip() for label in cells[2].split(",") if label.strip() not in ("", "—")}
        for suffix in SUFFIXES.get(kind, ("",)):
            catalog[name + suffix] = labels - {"le"} | ({"le"} if suffix == "_bucket" else set())
    return catalog


def recording_catalog() -> dict[str, set[str]]:
    """Recording rule -> every label it carries (job and instance included when kept), from
    the recording-rule table in docs/alerts.md."""
    return {
        cells[0].strip("`"): {label.strip() for label in cells[1].split(",")}
        for cells in table_rows(ROOT / "docs" / "alerts.md")
        if len(cells) >= 3 and re.fullmatch(r"`convoso:[a-z0-9_]+:[a-z0-9_]+`", cells[0])
    }


CATALOG = metric_catalog()
RECORDING = recording_catalog()


def labels_of(metric: str) -> set[str]:
    if metric in CATALOG:
        return CATALOG[metric]
    if metric in RECORDING:
        return RECORDING[metric] - {"job", "instance"}
    assert metric in SCRAPE_METRICS or metric.startswith("process_"), f"{metric} is not in docs/metrics.md"
    return set()


def keeps_instance(metric: str) -> bool:
    """Whether a series carries `instance` (the 30-day rules are kept per job, not per exporter)."""
    return metric not in RECORDING or "instance" in RECORDING[metric]


# ---------------------------------------------------------------- dashboards as a whole


def test_the_dashboards_have_stable_uids_named_after_their_files():
    assert {d["uid"] for d in DASHBOARDS.values()} == EXPECTED_UIDS
    for name, dashboard in DASHBOARDS.items():
        assert name == f"{dashboard['uid']}.json"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_is_read_only_current_schema_and_tagged(name):
    dashboard = DASHBOARDS[name]
    assert dashboard["editable"] is False
    assert dashboard["schemaVersion"] >= 39
    assert dashboard["id"] is None  # provisioning assigns ids; a fixed one clashes across Grafanas
    assert dashboard["title"].startswith("Convoso / ") and dashboard["description"]
    assert "convoso" in dashboard["tags"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_variables_are_datasource_job_instance_then_the_dashboards_scope(name):
    variables = {v["name"]: v for v in DASHBOARDS[name]["templating"]["list"]}
    scope = DASHBOARD_SCOPES.get(name, ["target"])
    assert list(variables) == ["datasource", "job", "instance", *scope]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for var in ("job", "instance", *scope):
        variable = variables[var]
        assert variable["type"] == "query"
        assert variable["datasource"] == DATASOURCE_REF
        assert variable["multi"] is True and variable["includeAll"] is True
        # All must keep agents without a campaign or queue (the empty value), or the
        # dashboard's total would fall short of the account's.
        assert variable["allValue"] == (".*" if var in SCOPE_LABELS else ".+")


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_each_variable_query_is_narrowed_by_the_variables_before_it(name):
    for variable in query_variables(DASHBOARDS[name]):
        var, query = variable["name"], variable["query"]
        if var in SCOPE_LABELS:
            selector, label = parse_query_result(query), SCOPE_LABELS[var]
            assert re.match(rf"max by \({label}, {var}_name\) \(", selector), selector
        else:
            selector, label = parse_label_values(query)
            assert label == var
        (found,) = SELECTOR_RE.findall(selector or "") or [(selector, "")]
        metric, body = found
        matchers = {m[0]: m[2] for m in MATCHER_RE.findall(body)}
        assert matchers == {need: f"${need}" for need in VARIABLE_NEEDS[var]}
        assert label in labels_of(metric) | {"job", "instance"}


@pytest.mark.parametrize("name", sorted(SCOPE_DASHBOARDS))
def test_campaign_and_queue_variables_show_names_and_keep_ids_as_values(name):
    variables = {v["name"]: v for v in query_variables(DASHBOARDS[name])}
    for var in DASHBOARD_SCOPES[name]:
        label, regex = SCOPE_LABELS[var], variables[var]["regex"]
        named = f'{{{label}="1001",{var}_name="Medicare Advantage",instance="x:1",job="convoso"}} 1 1700000000000'
        unnamed = f'{{{label}="2002",instance="x:1",job="convoso"}} 1 1700000000000'
        quoted = f'{{{label}="2003",{var}_name="Q4 \\"Push\\" \\\\ north",instance="x:1",job="convoso"}} 1 1700000000000'
        assert query_result_options(regex, [named, unnamed, quoted]) == [
            ("1001", "Medicare Advantage"), ("2002", "2002"), ("2003", 'Q4 \\"Push\\" \\\\ north')]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panel_ids_are_unique_and_the_grid_has_no_overlap(name):
    seen_ids: set[int] = set()
    occupied: dict[tuple[int, int], str] = {}
    for panel in panels(DASHBOARDS[name]):
        assert isinstance(panel["id"], int) and panel["id"] not in seen_ids, panel["title"]
        seen_ids.add(panel["id"])
        pos = panel["gridPos"]
        assert pos["w"] > 0 and pos["h"] > 0 and 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in occupied, f"{panel['title']} overlaps {occupied[(x, y)]}"
                occupied[(x, y)] = panel["title"]


# ---------------------------------------------------------------- every panel


@pytest.mark.parametrize(("name", "panel"), VISIBLE, ids=ids(VISIBLE))
def test_panel_has_title_description_unit_and_the_datasource_variable(name, panel):
    assert panel["title"].strip()
    assert panel["description"].strip().endswith((".", ")")), "description should be a sentence"
    assert panel["fieldConfig"]["defaults"]["unit"]
    assert panel["datasource"] == DATASOURCE_REF
    assert panel["targets"], "a panel without queries shows nothing"
    ref_ids = [target["refId"] for target in panel["targets"]]
    assert len(set(ref_ids)) == len(ref_ids) and all(ref_ids)
    for target in panel["targets"]:
        assert target["datasource"] == DATASOURCE_REF
        assert target["expr"].strip()


@pytest.mark.parametrize(("name", "title", "expr"), QUERIES, ids=[f"{n}:{t}" for n, t, _ in QUERIES])
def test_rate_and_increase_use_rate_interval(name, title, expr):
    for call in RATE_CALL_RE.finditer(expr):
        depth, end = 1, call.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(expr[end], 0)
            end += 1
        ranges = re.findall(r"\[([^\]]+)\]", expr[call.end() : end])
        assert ranges == ["$__rate_interval"], f"{call[1]}() over {ranges}"


# ---------------------------------------------------------------- specific panels


def test_every_recording_rule_a_dashboard_reads_is_generated():
    groups = rules.rule_groups(Settings())["groups"]
    generated = {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}
    assert set(RECORDING) == generated, "docs/alerts.md's recording-rule table is out of date"
    for _, _, expr in QUERIES:
        for metric, _ in SELECTOR_RE.findall(expr):
            assert not metric.startswith("convoso:") or metric in generated, metric


def test_panels_that_need_per_agent_metrics_say_so_and_the_rest_do_not_use_them():
    per_agent = {name for name in CATALOG if name.startswith("convoso_agent_") and "user_id" in CATALOG[name]}
    for name, panel in VISIBLE:
        used = {metric for target in panel["targets"] for metric, _ in SELECTOR_RE.findall(target["expr"])}
        says_so = "agent_metrics: true" in panel["description"]
        assert says_so == bool(used & per_agent), f"{name}: {panel['title']}"


# ---------------------------------------------------------------- generator and provisioning


def test_committed_dashboards_are_what_the_generator_writes():
    generated = {Path(file.path).name: file for file in dashboards.files(Settings())}
    assert set(generated) == set(DASHBOARDS)
    for name, file in generated.items():
        assert file.path == f"grafana/dashboards/{name}"
        committed = (GRAFANA / "dashboards" / name).read_text(encoding="utf-8")
        assert file.text == committed, f"{name} is stale: run python -m convoso_exporter.mixin"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_description_says_which_module_generates_the_dashboard(name):
    module = name.removeprefix("convoso-").removesuffix(".json")
    assert DASHBOARDS[name]["description"].endswith(
        f" Generated by `python -m convoso_exporter.mixin` (convoso_exporter/mixin/dashboards/{module}.py); "
        "edit that, not this file."
    )


def test_provisioning_points_grafana_at_prometheus_and_the_dashboards():
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (datasource,) = datasources["datasources"]
    assert (datasource["type"], datasource["uid"], datasource["url"]) == (
        "prometheus",
        "prometheus",
        "http://prometheus:9090",
    )
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "convoso.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["allowUiUpdates"] is False
    assert Path(provider["options"]["path"]).is_absolute()


# ---------------------------------------------------------------- the query helpers


def test_panel_queries_reads_nested_rows_and_skips_hidden_queries():
    dashboard = {
        "panels": [
            {
                "title": "a",
                "type": "stat",
                "targets": [{"expr": "up", "refId": "A"}, {"expr": "x", "refId": "B", "hide": True}],
            },
            {
                "title": "folded",
                "type": "row",
                "collapsed": True,
                "panels": [{"title": "b", "type": "timeseries", "targets": [{"expr": "y", "refId": "A"}]}],
            },
        ]
    }
    assert panel_queries(dashboard) == [("a", "up"), ("b", "y")]


def test_substitute_variables_fills_in_what_grafana_would():
    expr = 'rate(m{job=~"$job",instance=~"${instance}",target=~"${target:regex}"}[$__rate_interval]) offset $__interval'
    assert substitute_variables(expr) == 'rate(m{job=~".+",instance=~".+",target=~".+"}[1m]) offset 15s'
    assert substitute_variables(expr, {"job": "convoso"}, rate_interval="2m", interval="30s") == (
        'rate(m{job=~"convoso",instance=~".+",target=~".+"}[2m]) offset 30s'
    )
    assert (
        substitute_variables("x[$__range] / $__range_s / $__interval_ms", range_="2h")
        == "x[2h] / 7200 / 15000"
    )


def test_substitute_variables_names_an_unknown_variable():
    with pytest.raises(ValueError, match=r"unknown variable \$region"):
        substitute_variables('up{region=~"$region"}')
    with pytest.raises(ValueError, match="not a duration"):
        substitute_variables("up", rate_interval="soon")


def test_every_shipped_query_substitutes_completely():
    for _, _, expr in QUERIES:
        assert "$" not in substitute_variables(expr)
