"""End to end: simulator ▶ exporter ▶ Debian's prometheus (rules) ▶ Debian's alertmanager ▶ webhook.

The whole stack (tests/e2e_stack.py) starts once for the module. Then:
- Prometheus loaded every generated rule, and evaluates each one without error on the
  exporter's real data; every recording rule has samples.
- Every query of every dashboard panel, and every templating query, with the variables
  substituted as Grafana does with "All" selected, parses and returns data; the campaign
  and queue variables list the simulator's campaigns and queues by name. The error
  panels are fed real errors: a fault injected on the custom target alone.
- A simulator that counts by another rule (RINGING as ready) shows on the exporter-health
  counts panel and the landing page, and agrees again once switched back.
- No panel adds up overlapping targets: the overview's total agent count, by the
  dashboard's own query, equals the simulator's agents and the account's own count, and
  each campaign's (and queue's) row equals that campaign's (queue's) own target.
- A drop surge in the simulator pages through Alertmanager per campaign, naming it:
  ConvosoDropBurst fires and, once the surge ends, resolves; ConvosoDropRateCritical
  fires; the example config's inhibition holds ConvosoDropRateWarning back. Nothing pages
  before the surge, and the account and queue targets never page for drops. (The
  simulator's surge is account-wide, so every campaign surges and each pages on its own.)

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
    panel_named,
    panel_queries,
    parse_label_values,
    parse_query_result,
    query_result_lines,
    query_result_options,
    query_variables,
    substitute_variables,
)
from tests.e2e_stack import CAMPAIGNS, CUSTOM_TARGET, Stack, e2e_stack, wait_until
from tests.support import require_binary

pytestmark = pytest.mark.prometheus

# Grafana's $__rate_interval is max($__interval + scrape interval, 4 × scrape interval);
# with 1s scrapes anything from 4s up is what a dashboard would send. 30s keeps the
# canary's injected errors in the window for the whole dashboard check.
RATE_INTERVAL = "30s"
INTERVAL = "15s"
SURGE_RATIO = 0.99  # compresses a day's worth of ratio change into seconds: see below

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
VARIABLES = [
    (name.removesuffix(".json"), variable)
    for name, dashboard in DASHBOARDS.items()
    for variable in query_variables(dashboard)
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    prometheus = require_binary("prometheus")
    alertmanager = require_binary("prometheus-alertmanager")
    with e2e_stack(tmp_path_factory.mktemp("e2e"), prometheus, alertmanager) as running:
        yield running


@pytest.fixture(scope="module")
def discovered(stack: Stack) -> Stack:
    """Every campaign and queue discovered, polled and scraped, with the custom target."""
    published = f"count(convoso_up == 1) == {len(stack.targets)}"
    wait_until(lambda: stack.prometheus.query(published), "every target discovered and up", timeout=30)
    return stack


@pytest.fixture(scope="module")
def dashboards_ready(discovered: Stack) -> Stack:
    """Real API errors on the custom target, scraped, healed; enough samples for the range functions."""
    stack, prom = discovered, discovered.prometheus
    server_errors = f'convoso_exporter_poll_errors_total{{target="{CUSTOM_TARGET}",kind="server"}}'
    # Errors made before Prometheus scraped the counter twice would not show in increase().
    counter = f"count_over_time({server_errors}[1m]) >= 2"
    wait_until(lambda: prom.query(counter), "two scrapes of the custom target's error counter", timeout=30)
    stack.control("fault", {"fault": "500", **stack.canary, "times": 2})
    errors = f"increase({server_errors}[{RATE_INTERVAL}]) > 0"
    wait_until(lambda: prom.query(errors), "the custom target's injected 500s in Prometheus", timeout=30)
    recovered = f'convoso_up{{target="{CUSTOM_TARGET}"}} == 1'
    wait_until(lambda: prom.query(recovered), "the custom target to recover", timeout=30)
    samples = f'count_over_time(up{{job="convoso"}}[{RATE_INTERVAL}]) >= 5'
    wait_until(lambda: prom.query(samples), "five scrapes of the exporter", timeout=30)
    return stack


def grafana_expr(expr: str) -> str:
    return substitute_variables(expr, rate_interval=RATE_INTERVAL, interval=INTERVAL)


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


# ---------------------------------------------------------------- OpenMetrics


def test_prometheus_scrapes_openmetrics_and_keeps_gauge_histograms_as_such(stack: Stack):
    """Prometheus asks for OpenMetrics first; only through it can a family be typed
    gaugehistogram (text 0.0.4 says histogram) or carry a unit: the metadata it keeps
    from its scrapes says which format it read."""
    prom = stack.prometheus

    def metadata() -> dict[str, Any] | None:
        found = prom._get("/api/v1/metadata", {})
        return found if "convoso_agents_status_time_seconds" in found else None

    found = wait_until(metadata, "metadata of the exporter's families", timeout=30)
    for name in ("convoso_agents_status_time_seconds", "convoso_agents_calls_today"):
        assert {entry["type"] for entry in found[name]} == {"gaugehistogram"}, found[name]
    assert {entry["unit"] for entry in found["convoso_agent_status_time_seconds"]} == {"seconds"}
    assert {entry["type"] for entry in found["convoso_agent_count"]} == {"unknown"}
    assert {entry["type"] for entry in found["convoso_calls"]} == {"counter"}
    # The samples arrive as ever: buckets, _gcount and _gsum of each campaign's agents.
    assert prom.query("convoso_agents_status_time_seconds_gcount")
    assert prom.query('convoso_agents_status_time_seconds_bucket{le="+Inf"}')


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
    ("dashboard", "variable"), VARIABLES, ids=[f"{dashboard}/${variable['name']}" for dashboard, variable in VARIABLES]
)
def test_every_template_variable_lists_the_stack(dashboards_ready: Stack, dashboard, variable):
    """What Grafana would list: label_values, or query_result read through the variable's regex."""
    stack, name, query = dashboards_ready, variable["name"], variable["query"]
    if query.startswith("query_result("):
        at = time.time()
        result = stack.prometheus.query(grafana_expr(parse_query_result(query)), at)
        options = dict(query_result_options(variable["regex"], query_result_lines(result, at)))
        expected = {"campaign": stack.campaigns, "queue": stack.queues}[name]
        assert options == expected, f"${name} of {dashboard} lists {options}"
        return
    selector, label = parse_label_values(grafana_expr(query))
    values = stack.prometheus.label_values(label, selector)
    expected = {"job": {"convoso"}, "instance": {stack.instance}, "target": stack.targets}
    assert values, f"${name} of {dashboard} lists nothing: {query}"
    assert set(values) == expected[name]


def panel_expr(dashboard: str, title: str) -> str:
    (expr,) = [e for d, t, _, e in PANEL_QUERIES if (d, t) == (dashboard, title)]
    return grafana_expr(expr)


def test_the_overviews_total_is_the_accounts_agent_count(dashboards_ready: Stack):
    """The dashboard's own query, with everything selected, counts each agent once."""
    stack, at = dashboards_ready, time.time()
    (total,) = stack.prometheus.query(panel_expr("convoso-overview", "Agents"), at)
    (account,) = stack.prometheus.query(f'convoso_agent_count{{target="account",instance="{stack.instance}"}}', at)
    assert float(total["value"][1]) == float(account["value"][1]) == len(stack.simulated["agents"])
    by_status = stack.prometheus.query(panel_expr("convoso-agents", "Agents by status now"), at)
    assert sum(float(series["value"][1]) for series in by_status) == len(stack.simulated["agents"])


def test_a_changed_count_rule_shows_on_the_counts_panel_and_the_landing_page(dashboards_ready: Stack):
    """The simulator switched to counting RINGING agents as ready (`--count-style`): the
    exporter-health panel's own query shows the account's ready figure apart and no other,
    the landing page names it, and both agree again once the simulator counts as documented."""
    stack = dashboards_ready
    expr = panel_expr("convoso-exporter", "Convoso's agent counts minus ours")

    def account_gaps() -> dict[str, float]:
        rows = stack.prometheus.query(expr)
        return {row["metric"]["figure"]: float(row["value"][1]) for row in rows if row["metric"]["target"] == "account"}

    def ready_apart() -> dict[str, float] | None:
        gaps = account_gaps()
        return gaps if gaps.get("ready", 0) > 0 else None

    def page_names_it() -> str | None:
        page = httpx.get(f"http://{stack.instance}/").text
        return page if re.search(r"<li>account: Convoso counts [\d,]+ ready, we count [\d,]+", page) else None

    assert set(account_gaps().values()) == {0}, "the documented count rule already differs"
    stack.control("style", {"count_style": "ringing-as-ready"})
    try:
        gaps = wait_until(ready_apart, "the account's ready figure apart on the panel", timeout=30)
        assert [gaps[figure] for figure in ("total", "incall", "paused")] == [0, 0, 0], gaps
        wait_until(page_names_it, "the landing page naming the account's ready figure", timeout=30)
    finally:
        stack.control("style", {"count_style": "documented"})
    wait_until(lambda: set(account_gaps().values()) == {0} or None, "the counts to agree again", timeout=30)


DROPPED, ANSWERED = "convoso_queue_dropped_today{{{0}}}", "convoso_queue_answered_today{{{0}}}"
# What each column of the scope tables is, on the scope's own target ({0}: its matchers).
OWN_COLUMNS = {
    "A": "convoso_agent_count{{{0}}}",
    "D": "convoso_queue_dialable_leads{{{0}}}",
    "E": "convoso_queue_calls_today{{{0}}}",
    "F": ANSWERED,
    "G": DROPPED,
    "H": f"{DROPPED} / {ANSWERED}",
}


@pytest.mark.parametrize(
    ("title", "noun", "own"),
    [
        ("Campaigns now", "campaign", OWN_COLUMNS),
        ("Queues now", "queue", OWN_COLUMNS),
        ("Drop rate today", "campaign", {"A": f"{DROPPED} / {ANSWERED}"}),
    ],
)
def test_each_scopes_numbers_are_its_own_targets(dashboards_ready: Stack, title, noun, own):
    """Agents from the account's breakdown equal the scope target's own count; the other
    figures are that target's; every scope has one row (or series), by name."""
    stack, at = dashboards_ready, time.time()
    names = stack.campaigns if noun == "campaign" else stack.queues
    for target in panel_named(DASHBOARDS["convoso-overview.json"], title)["targets"]:
        rows = stack.prometheus.scope_rows(grafana_expr(target["expr"]), at, noun)
        assert {scope: name for scope, (name, _) in rows.items()} == names, target["refId"]
        if target["refId"] not in own:
            continue
        for scope, (_, value) in rows.items():
            matcher = f'target="{noun}:{scope}",instance="{stack.instance}"'
            (expected,) = stack.prometheus.query(own[target["refId"]].format(matcher), at)
            assert value == float(expected["value"][1]), (target["refId"], scope)


# ---------------------------------------------------------------- alerts through Alertmanager


def expected_labels(stack: Stack, alertname: str, severity: str, campaign: str) -> dict[str, str]:
    return {
        "alertname": alertname,
        "severity": severity,
        "job": "convoso",
        "instance": stack.instance,
        "target": f"campaign:{campaign}",
        "campaign_id": campaign,
        "campaign_name": stack.campaigns[campaign],
    }


def paged_alert(
    stack: Stack, notification: dict[str, Any], alertname: str, severity: str, status: str, campaign: str
) -> dict[str, Any]:
    """The notification's one alert, after checking what every page must carry."""
    assert notification["receiver"] == "convoso-webhook"
    assert notification["status"] == status
    alert = single_alert(notification)
    assert alert["status"] == status
    assert alert["labels"] == expected_labels(stack, alertname, severity, campaign)
    return alert


def named_campaign(stack: Stack, campaign: str) -> str:
    """How a description starts: the campaign by name and id, on the exporter instance."""
    return rf"^Campaign {re.escape(stack.campaigns[campaign])} \({campaign}\) on {re.escape(stack.instance)} "


@dataclass(frozen=True)
class Surge:
    stack: Stack
    notifications_before: list[dict[str, Any]]
    drop_alerts_before: list[dict[str, Any]]  # ALERTS series, pending or firing, since start
    ended: float  # monotonic time the surge was switched off


@pytest.fixture(scope="module")
def surge(discovered: Stack) -> Surge:
    """A drop surge until, in every campaign, the burst fires and today's ratio is past
    3.5%; then back to the baseline. What Prometheus and the webhook saw before is kept.

    The simulator's surge is account-wide: every campaign surges, and each must page on
    its own. Today's ratio is cumulative: the simulator starts mid-day with up to ~50
    calls per agent behind it, so only a near-total surge moves it past 3% within seconds."""
    stack, prom = discovered, discovered.prometheus
    campaigns = len(stack.campaigns)
    # The quiet check below means something only after the rules ran on real data a while.
    baseline = f"count(count_over_time(convoso:campaign_drop_rate_today:ratio[1h]) >= 10) == {campaigns}"
    wait_until(lambda: prom.query(baseline), "ten evaluations of every campaign's drop rate", timeout=60)
    notifications = stack.webhook.notifications()
    drop_alerts = prom.query('count_over_time(ALERTS{alertname=~"ConvosoDrop.*"}[1h])')
    stack.control("surge", {"drop_ratio": SURGE_RATIO})
    burst = f'count(ALERTS{{alertname="ConvosoDropBurst",alertstate="firing"}}) == {campaigns}'
    ratio = f"count(convoso:campaign_drop_rate_today:ratio > 0.035) == {campaigns}"
    try:
        wait_until(
            lambda: prom.query(burst) and prom.query(ratio),
            "every campaign's burst to fire and its ratio to pass 3.5%",
            timeout=40,
        )
    finally:
        stack.control("surge", {"drop_ratio": None})
    return Surge(stack, notifications, drop_alerts, time.monotonic())


def test_nothing_pages_before_the_surge(surge: Surge):
    """The 0.5% baseline with the fast settings pages nobody: no notification at all,
    and no drop alert ever even pending while the rules ran on real drop data."""
    assert surge.notifications_before == []
    assert surge.drop_alerts_before == []


@pytest.mark.parametrize("index", range(CAMPAIGNS))
def test_the_burst_pages_each_campaign_by_name_and_resolves_when_the_surge_ends(surge: Surge, index):
    stack = surge.stack
    campaign = sorted(stack.campaigns)[index]
    target = f"campaign:{campaign}"
    fired = wait_until(
        lambda: stack.webhook.notifications_for("ConvosoDropBurst", target, "firing"),
        "the burst's notification",
        timeout=20,
    )[0]
    alert = paged_alert(stack, fired, "ConvosoDropBurst", "warning", "firing", campaign)
    assert alert["annotations"]["summary"] == "A campaign dropped a burst of calls in the last 10s."
    description = alert["annotations"]["description"]
    drops = re.match(named_campaign(stack, campaign) + r"dropped (\d+) calls in the last 10s", description)
    assert drops and int(drops[1]) >= 5, description
    assert alert["annotations"]["runbook_url"].endswith("/docs/runbook.md#convosodropburst")

    def resolved_after_the_surge() -> list[dict[str, Any]]:
        found = stack.webhook.notifications_for("ConvosoDropBurst", target, "resolved")
        return [n for n in found if n["_received_at"] > surge.ended]

    resolved = wait_until(
        resolved_after_the_surge,
        "the burst's resolved notification (if ConvosoDropRateCritical fired first, it inhibited it: raise drop_rate_for)",
        timeout=30,
    )[0]
    alert = paged_alert(stack, resolved, "ConvosoDropBurst", "warning", "resolved", campaign)
    assert alert["endsAt"] > alert["startsAt"]


@pytest.mark.parametrize("index", range(CAMPAIGNS))
def test_the_critical_drop_rate_pages_each_campaign_by_name(surge: Surge, index):
    stack = surge.stack
    campaign = sorted(stack.campaigns)[index]
    critical = wait_until(
        lambda: stack.webhook.notifications_for("ConvosoDropRateCritical", f"campaign:{campaign}", "firing"),
        "ConvosoDropRateCritical's notification",
        timeout=60,
    )[0]
    alert = paged_alert(stack, critical, "ConvosoDropRateCritical", "critical", "firing", campaign)
    assert alert["annotations"]["summary"] == "A campaign has dropped over 3% of its answered calls today."
    rate = re.match(
        named_campaign(stack, campaign) + r"has dropped ([\d.]+)% of the calls answered today, over the limit of 3%\.$",
        alert["annotations"]["description"],
    )
    assert rate and float(rate[1]) > 3, alert["annotations"]["description"]
    assert alert["annotations"]["runbook_url"].endswith("/docs/runbook.md#convosodropratecritical")


def test_only_campaign_targets_page_for_drops(surge: Surge):
    """The account and the queues surged too: the legal unit is the campaign, so they never page."""
    stack = surge.stack
    campaign_targets = {f"campaign:{campaign}" for campaign in stack.campaigns}
    wait_until(
        lambda: {n["groupLabels"]["target"] for n in stack.webhook.notifications()} >= campaign_targets,
        "every campaign's notifications",
        timeout=60,
    )
    for notification in stack.webhook.notifications():
        assert notification["groupLabels"]["target"] in campaign_targets, notification["groupLabels"]
    others = 'count_over_time(ALERTS{alertname=~"ConvosoDrop.*",target!~"campaign:.*"}[1h])'
    assert stack.prometheus.query(others) == []


def test_the_critical_drop_rate_inhibits_the_warning_of_the_same_campaign(surge: Surge):
    """The example alertmanager.yml's inhibit rule, for real: the warning fires in
    Prometheus, reaches Alertmanager, and is held back there once the critical fires.

    A campaign's ratio can cross 2% a poll or two before 3% (one simulated call adds
    up to ~200 drops at the surge ratio), so its warning may page in the seconds before
    the critical: that is the rule working. Nothing may be sent for it afterwards."""
    stack = surge.stack
    campaign = min(stack.campaigns)
    target = f"campaign:{campaign}"
    warning = f'ALERTS{{alertname="ConvosoDropRateWarning",alertstate="firing",target="{target}"}}'
    wait_until(lambda: stack.prometheus.query(warning), "ConvosoDropRateWarning to fire in Prometheus", timeout=60)

    def suppressed() -> list[dict[str, Any]]:
        response = httpx.get(f"{stack.alertmanager_url}/api/v2/alerts", params={"filter": 'alertname="ConvosoDropRateWarning"'})
        response.raise_for_status()
        return [
            alert
            for alert in response.json()
            if alert["labels"].get("target") == target and alert["status"]["state"] == "suppressed"
        ]

    # Alertmanager marks an alert suppressed when a flush of its group mutes it, so by
    # now the warning's group has been flushed at least once, and sent nothing.
    (held,) = wait_until(suppressed, "Alertmanager to inhibit the warning", timeout=20)
    assert held["status"]["inhibitedBy"], held
    assert held["labels"]["campaign_name"] == stack.campaigns[campaign]
    (critical, *_) = stack.webhook.notifications_for("ConvosoDropRateCritical", target, "firing")
    sent = stack.webhook.notifications_for("ConvosoDropRateWarning", target)
    assert all(n["_received_at"] < critical["_received_at"] for n in sent), "a warning was sent past the critical"
