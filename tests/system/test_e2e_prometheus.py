"""End to end: simulator ▶ exporter ▶ Debian's prometheus (rules) ▶ Debian's alertmanager ▶ webhook.

The whole stack (tests/e2e_stack.py) starts once for the module. Then:
- Prometheus loaded every generated rule, and evaluates each one without error on the
  exporter's real data; every recording rule has samples.
- Every query of every dashboard panel, and every templating query, with the variables
  substituted as Grafana does with "All" selected, parses and returns data. The error
  panels are fed real errors: a fault injected on one dedicated target (the canary).
- A drop surge in the simulator pages through Alertmanager: ConvosoDropBurst fires and,
  once the surge ends, resolves; ConvosoDropRateCritical fires; the example config's
  inhibition holds ConvosoDropRateWarning back. Nothing pages before the surge.

`promtool check rules` / `test rules` / `check config` and `amtool check-config` run in
tests/test_rules.py; the dashboards' JSON and query structure in tests/test_dashboards.py.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from tests.dashboard_queries import (
    load_dashboards,
    panel_queries,
    parse_label_values,
    substitute_variables,
    variable_queries,
)
from tests.e2e_stack import Stack, e2e_stack, wait_until
from tests.support import require_binary

pytestmark = pytest.mark.prometheus

# Grafana's $__rate_interval is max($__interval + scrape interval, 4 × scrape interval);
# with 1s scrapes anything from 4s up is what a dashboard would send. 30s keeps the
# canary's injected errors in the window for the whole dashboard check.
RATE_INTERVAL = "30s"
INTERVAL = "15s"
SURGE_RATIO = 0.99  # compresses a day's worth of ratio change into seconds: see below
SURGE_TARGET = "account"

DASHBOARDS = load_dashboards()


def numbered_panel_queries() -> list[tuple[str, str, int, str]]:
    """(dashboard, panel title, query number within the panel, PromQL) for every query."""
    found = []
    for name, dashboard in DASHBOARDS.items():
        seen: Counter[str] = Counter()
        for title, expr in panel_queries(dashboard):
            found.append((name.removesuffix(".json"), title, seen[title], expr))
            seen[title] += 1
    return found


PANEL_QUERIES = numbered_panel_queries()
VARIABLE_QUERIES = [
    (name.removesuffix(".json"), variable, query)
    for name, dashboard in DASHBOARDS.items()
    for variable, query in variable_queries(dashboard)
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    prometheus = require_binary("prometheus")
    alertmanager = require_binary("prometheus-alertmanager")
    with e2e_stack(tmp_path_factory.mktemp("e2e"), prometheus, alertmanager) as running:
        yield running


@pytest.fixture(scope="module")
def dashboards_ready(stack: Stack) -> Stack:
    """Real API errors on the canary, scraped, healed; enough samples for the range functions."""
    prom = stack.prometheus
    # Errors made before Prometheus scraped the counter twice would not show in increase().
    counter = 'count_over_time(convoso_exporter_poll_errors_total{target="canary",kind="server"}[1m]) >= 2'
    wait_until(lambda: prom.query(counter), "two scrapes of the canary's error counter", timeout=30)
    stack.control("fault", {"fault": "500", **stack.canary, "times": 2})
    errors = f'increase(convoso_exporter_poll_errors_total{{target="canary",kind="server"}}[{RATE_INTERVAL}]) > 0'
    wait_until(lambda: prom.query(errors), "the canary's injected 500s in Prometheus", timeout=30)
    wait_until(lambda: prom.query('convoso_up{target="canary"} == 1'), "the canary to recover", timeout=30)
    samples = f'count_over_time(up{{job="convoso"}}[{RATE_INTERVAL}]) >= 5'
    wait_until(lambda: prom.query(samples), "five scrapes of the exporter", timeout=30)
    return stack


def grafana_expr(expr: str) -> str:
    return substitute_variables(expr, rate_interval=RATE_INTERVAL, interval=INTERVAL)


def notifications_for(stack: Stack, alertname: str, target: str, status: str | None = None) -> list[dict[str, Any]]:
    return [
        n
        for n in stack.webhook.notifications()
        if n["groupLabels"] == {"alertname": alertname, "target": target} and status in (None, n["status"])
    ]


def single_alert(notification: dict[str, Any]) -> dict[str, Any]:
    (alert,) = notification["alerts"]  # grouped by alertname and target, one exporter instance
    return alert


# ---------------------------------------------------------------- rules in a real Prometheus


def test_prometheus_evaluates_every_generated_rule_without_error(stack: Stack):
    prom = stack.prometheus

    def evaluated() -> list[dict[str, Any]] | None:
        rules = [rule for group in prom.rule_groups() for rule in group["rules"]]
        return rules if rules and all(rule["health"] != "unknown" for rule in rules) else None

    rules = wait_until(evaluated, "every rule's first evaluation", timeout=30)
    generated = yaml.safe_load(stack.rules_file.read_text())
    expected = {rule.get("alert") or rule["record"] for group in generated["groups"] for rule in group["rules"]}
    assert {rule["name"] for rule in rules} == expected
    for rule in rules:
        assert rule["health"] == "ok" and not rule.get("lastError"), rule
    for rule in rules:
        if rule["type"] == "recording":  # its first evaluations may precede the first scrape
            wait_until(lambda: prom.query(rule["name"]), f"samples of the recording rule {rule['name']}", timeout=15)


# ---------------------------------------------------------------- dashboards


@pytest.mark.parametrize(
    ("dashboard", "title", "index", "expr"),
    PANEL_QUERIES,
    ids=[f"{dashboard}/{title}/{index}" for dashboard, title, index, _ in PANEL_QUERIES],
)
def test_every_panel_query_returns_data(dashboards_ready: Stack, dashboard, title, index, expr):
    query = grafana_expr(expr)
    result = dashboards_ready.prometheus.query(query)
    assert result, f"panel {title!r} of {dashboard} shows nothing: {query}"


@pytest.mark.parametrize(
    ("dashboard", "variable", "query"),
    VARIABLE_QUERIES,
    ids=[f"{dashboard}/${variable}" for dashboard, variable, _ in VARIABLE_QUERIES],
)
def test_every_template_variable_lists_the_stack(dashboards_ready: Stack, dashboard, variable, query):
    selector, label = parse_label_values(grafana_expr(query))
    values = dashboards_ready.prometheus.label_values(label, selector)
    expected = {"job": {"convoso"}, "instance": {dashboards_ready.instance}, "target": set(dashboards_ready.targets)}
    assert values, f"${variable} of {dashboard} lists nothing: {query}"
    if variable in expected:
        assert set(values) == expected[variable]


def panel_expr(dashboard: str, title: str) -> str:
    (expr,) = [e for d, t, _, e in PANEL_QUERIES if (d, t) == (dashboard, title)]
    return grafana_expr(expr)


def test_the_error_panels_show_the_injected_fault_not_just_their_zero_fallback(dashboards_ready: Stack):
    prom = dashboards_ready.prometheus
    by_kind = prom.query(panel_expr("convoso-exporter", "Poll errors by target and kind"))
    canary = [s for s in by_kind if s["metric"] == {"target": "canary", "kind": "server"}]
    assert canary and float(canary[0]["value"][1]) > 0, by_kind
    outcomes = prom.query(panel_expr("convoso-exporter", "API requests by outcome"))
    assert any(s["metric"]["outcome"] == "server" and float(s["value"][1]) > 0 for s in outcomes), outcomes
    ratio = prom.query(panel_expr("convoso-exporter", "API error ratio"))
    assert any(s["metric"] == {"endpoint": "search"} and float(s["value"][1]) > 0 for s in ratio), ratio


# ---------------------------------------------------------------- alerts through Alertmanager


def expected_labels(stack: Stack, alertname: str, severity: str) -> dict[str, str]:
    return {"alertname": alertname, "severity": severity, "job": "convoso", "instance": stack.instance, "target": SURGE_TARGET}


def paged_alert(stack: Stack, notification: dict[str, Any], alertname: str, severity: str, status: str) -> dict[str, Any]:
    """The notification's one alert, after checking what every page must carry."""
    assert notification["receiver"] == "convoso-webhook"
    assert notification["status"] == status
    alert = single_alert(notification)
    assert alert["status"] == status
    assert alert["labels"] == expected_labels(stack, alertname, severity)
    return alert


def where(stack: Stack) -> str:
    """How a description starts: the target on the exporter instance."""
    return rf"^{SURGE_TARGET} on {re.escape(stack.instance)} "


@dataclass(frozen=True)
class Surge:
    stack: Stack
    notifications_before: list[dict[str, Any]]
    drop_alerts_before: list[dict[str, Any]]  # ALERTS series, pending or firing, since start
    ended: float  # monotonic time the surge was switched off


@pytest.fixture(scope="module")
def surge(stack: Stack) -> Surge:
    """A drop surge until, on the surge target, the burst fires and today's ratio is past
    3.5%; then back to the baseline. What Prometheus and the webhook saw before is kept.

    Today's ratio is cumulative: the simulator starts mid-day with up to ~50 calls per
    agent behind it, so only a near-total surge moves it past 3% within seconds."""
    prom = stack.prometheus
    # The quiet check below means something only after the rules ran on real data a while.
    baseline = f'count_over_time(convoso:drop_rate_today:ratio{{target="{SURGE_TARGET}"}}[1h]) >= 10'
    wait_until(lambda: prom.query(baseline), "ten evaluations of the drop rate before the surge", timeout=60)
    notifications = stack.webhook.notifications()
    drop_alerts = prom.query('count_over_time(ALERTS{alertname=~"ConvosoDrop.*"}[1h])')
    stack.control("surge", {"drop_ratio": SURGE_RATIO})
    burst = f'ALERTS{{alertname="ConvosoDropBurst",alertstate="firing",target="{SURGE_TARGET}"}}'
    ratio = f'convoso:drop_rate_today:ratio{{target="{SURGE_TARGET}"}} > 0.035'
    try:
        wait_until(lambda: prom.query(burst) and prom.query(ratio), "the burst to fire and the ratio to pass 3.5%", timeout=40)
    finally:
        stack.control("surge", {"drop_ratio": None})
    return Surge(stack, notifications, drop_alerts, time.monotonic())


def test_nothing_pages_before_the_surge(surge: Surge):
    """The 0.5% baseline with the fast settings pages nobody: no notification at all,
    and no drop alert ever even pending while the rules ran on real drop data."""
    assert surge.notifications_before == []
    assert surge.drop_alerts_before == []


def test_the_burst_pages_through_alertmanager_and_resolves_when_the_surge_ends(surge: Surge):
    stack = surge.stack
    fired = wait_until(
        lambda: notifications_for(stack, "ConvosoDropBurst", SURGE_TARGET, "firing"), "the burst's notification", timeout=20
    )[0]
    alert = paged_alert(stack, fired, "ConvosoDropBurst", "warning", "firing")
    assert alert["annotations"]["summary"] == "A burst of dropped calls in the last 10s."
    drops = re.match(where(stack) + r"dropped (\d+) calls in the last 10s", alert["annotations"]["description"])
    assert drops and int(drops[1]) >= 5, alert["annotations"]["description"]
    assert alert["annotations"]["runbook_url"].endswith("/docs/runbook.md#convosodropburst")

    def resolved_after_the_surge() -> list[dict[str, Any]]:
        found = notifications_for(stack, "ConvosoDropBurst", SURGE_TARGET, "resolved")
        return [n for n in found if n["_received_at"] > surge.ended]

    resolved = wait_until(
        resolved_after_the_surge,
        "the burst's resolved notification (if ConvosoDropRateCritical fired first, it inhibited it: raise drop_rate_for)",
        timeout=30,
    )[0]
    alert = paged_alert(stack, resolved, "ConvosoDropBurst", "warning", "resolved")
    assert alert["endsAt"] > alert["startsAt"]


def test_the_critical_drop_rate_pages_through_alertmanager(surge: Surge):
    stack = surge.stack
    critical = wait_until(
        lambda: notifications_for(stack, "ConvosoDropRateCritical", SURGE_TARGET, "firing"),
        "ConvosoDropRateCritical's notification",
        timeout=60,
    )[0]
    alert = paged_alert(stack, critical, "ConvosoDropRateCritical", "critical", "firing")
    assert alert["annotations"]["summary"] == "Dropped calls are over 3% of answered calls today."
    rate = re.match(
        where(stack) + r"has dropped ([\d.]+)% of the calls answered today, over the limit of 3%\.$",
        alert["annotations"]["description"],
    )
    assert rate and float(rate[1]) > 3, alert["annotations"]["description"]
    assert alert["annotations"]["runbook_url"].endswith("/docs/runbook.md#convosodropratecritical")


def test_the_critical_drop_rate_inhibits_the_warning_of_the_same_target(surge: Surge):
    """The example alertmanager.yml's inhibit rule, for real: the warning fires in
    Prometheus, reaches Alertmanager, and is held back there; nothing is sent for it."""
    stack = surge.stack
    warning = f'ALERTS{{alertname="ConvosoDropRateWarning",alertstate="firing",target="{SURGE_TARGET}"}}'
    wait_until(lambda: stack.prometheus.query(warning), "ConvosoDropRateWarning to fire in Prometheus", timeout=60)

    def suppressed() -> list[dict[str, Any]]:
        response = httpx.get(f"{stack.alertmanager_url}/api/v2/alerts", params={"filter": 'alertname="ConvosoDropRateWarning"'})
        response.raise_for_status()
        return [
            alert
            for alert in response.json()
            if alert["labels"].get("target") == SURGE_TARGET and alert["status"]["state"] == "suppressed"
        ]

    # Alertmanager marks an alert suppressed when a flush of its group mutes it, so by
    # now the warning's group has been flushed at least once, and sent nothing.
    (held,) = wait_until(suppressed, "Alertmanager to inhibit the warning", timeout=20)
    assert held["status"]["inhibitedBy"], held
    assert notifications_for(stack, "ConvosoDropRateWarning", SURGE_TARGET) == []
