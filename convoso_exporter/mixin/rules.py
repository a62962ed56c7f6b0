"""The recording and alerting rules (`prometheus/convoso.rules.yml`).

YAML anchors cannot do arithmetic inside PromQL strings and constant recording rules
(`vector(0.03)`) break label matching, hence a generator; the numbers come from
`settings.Settings`. A new rule group is one function returning its rules, added to
`GROUPS`.

The legal limit on dropped calls is per campaign, so the drop-rate rules and alerts
evaluate each campaign's own target (`campaign:<id>`) only, joined to
`convoso_target_info{kind="campaign"}` for the campaign's id and name; other targets
(the account, queues, custom slices) overlap campaigns and are never judged.
`ConvosoNoAgentReady` counts a campaign's agents in the account's breakdown
(`convoso_agents`, each agent once) against the campaign's dialable leads. Health
alerts stay per target.

Why the "last 15 minutes" rules are not `increase()`: the `*_today` metrics are gauges
that count up during the account's day and fall back to 0 when it rolls over. We take
`now - value 15m ago` (or the window's minimum while there is no sample that old, e.g.
just after the exporter started), clamped at 0. That is exact within a day, never
extrapolates to fractional calls, and at the day boundary it undercounts for one window
instead of paging: a one-sample glitch to 0 only matters if it lands on the sample
15 minutes back, where `increase()` would count the whole day's total as new drops.

The promtool unit tests (`prometheus/convoso.rules.test.yml`) are written by hand, not
generated: they pin the default thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from convoso_exporter.mixin import compliance, judging
from convoso_exporter.mixin.agent_time import activity_rules, agent_time_rules
from convoso_exporter.mixin.alerting import CAMPAIGN, WHERE, Rule, alert, per_campaign
from convoso_exporter.mixin.files import Generated, generated_note, yaml_text
from convoso_exporter.mixin.promql import window_increase
from convoso_exporter.mixin.settings import Settings, duration_seconds, percent, validate

PATH = "prometheus/convoso.rules.yml"
HEADER = (
    f"# {generated_note(__name__)}\n"
    "# Thresholds: convoso_exporter/mixin/settings.py, or `--set name=value`.\n"
    "# Recording groups first, then the alerts. What each alert means: docs/alerts.md.\n"
    "# The 30-day drop rate needs 31 days of Prometheus retention (--storage.tsdb.retention.time=31d).\n"
)
DROP_RATE = "convoso:campaign_drop_rate_today:ratio"
READY = "convoso:campaign_agents_ready:sum"
LOGGED_IN = "convoso:campaign_agents_logged_in:sum"


def increase_name(metric: str, window: str) -> str:
    """Recording rule name of a campaign's day-reset-aware growth of a `*_today` gauge."""
    return f"convoso:campaign_{metric.removeprefix('convoso_')}:increase{window}"


def recording_rules(s: Settings) -> list[Rule]:
    """Results the alerts share, named once so their expressions stay short and testable."""
    dropped = "convoso_queue_dropped_today"
    answered = "convoso_queue_answered_today"
    return [
        # answered == 0 gives no sample rather than +Inf or NaN.
        {"record": DROP_RATE, "expr": per_campaign(f"{dropped} / ({answered} > 0)")},
        {
            "record": READY,
            "expr": 'sum by (job, instance, campaign_id) (convoso_agents{status="READY"})',
        },
        {
            "record": LOGGED_IN,
            "expr": 'sum by (job, instance, campaign_id) (convoso_agents{status!="LOGGED_OUT"})',
        },
        *(
            {
                "record": increase_name(metric, s.burst_window),
                "expr": per_campaign(window_increase(metric, s.burst_window)),
            }
            for metric in (dropped, answered)
        ),
    ]


def call_alerts(s: Settings) -> list[Rule]:
    """Too many dropped calls in a campaign: today's ratio (the legal line) and a burst within minutes."""

    def drop_rate(name: str, ratio: float, severity: str, level: str) -> Rule:
        return alert(
            s,
            name,
            f"{DROP_RATE} > {ratio:g}\n"
            f"and on (job, instance, target)\nconvoso_queue_answered_today >= {s.min_answered_today}",
            s.drop_rate_for,
            severity,
            f"A campaign has dropped over {percent(ratio)} of its answered calls today.",
            f"{CAMPAIGN} has dropped {{{{ $value | humanizePercentage }}}} of the calls "
            f"answered today, over the {level} of {percent(ratio)}.",
        )

    dropped = increase_name("convoso_queue_dropped_today", s.burst_window)
    answered = increase_name("convoso_queue_answered_today", s.burst_window)
    return [
        drop_rate("ConvosoDropRateCritical", s.drop_rate_critical, "critical", "limit"),
        drop_rate("ConvosoDropRateWarning", s.drop_rate_warning, "warning", "warning level"),
        alert(
            s,
            "ConvosoDropBurst",
            f"{dropped} >= {s.burst_min_drops}\nand\n{dropped} > {s.burst_drop_rate:g} * {answered}",
            s.burst_for,
            "warning",
            f"A campaign dropped a burst of calls in the last {s.burst_window}.",
            f"{CAMPAIGN} dropped {{{{ $value }}}} calls in the last {s.burst_window}, more than "
            f"{percent(s.burst_drop_rate)} of the calls answered in that time.",
        ),
    ]


def agent_alerts(s: Settings) -> list[Rule]:
    """A campaign that cannot take calls although leads are waiting."""
    on_campaign = "and on (job, instance, campaign_id)"
    return [
        alert(
            s,
            "ConvosoNoAgentReady",
            f"{per_campaign('convoso_queue_dialable_leads > 0')}\n"
            f"{on_campaign}\n{READY} == 0\n{on_campaign}\n{LOGGED_IN} > 0",
            s.no_agent_ready_for,
            "warning",
            "A campaign has leads to dial but no agent ready.",
            f"{CAMPAIGN} has {{{{ $value }}}} leads to dial and agents logged in, but no agent "
            f"has been READY for {s.no_agent_ready_for}.",
        ),
    ]


def health_alerts(s: Settings) -> list[Rule]:
    """The exporter or its data failing, which would leave every other alert blind."""
    up = f"up{{{s.job_selector}}}"
    return [
        alert(
            s,
            "ConvosoTargetDown",
            "convoso_up == 0",
            s.target_down_for,
            "warning",
            "The exporter cannot poll a Convoso target.",
            f"Polls of {WHERE} have failed for {s.target_down_for}; "
            "convoso_exporter_poll_errors_total says which kind of error.",
        ),
        alert(
            s,
            "ConvosoDataStale",
            f"time() - convoso_last_success_timestamp_seconds > {duration_seconds(s.stale_after):g}",
            s.data_stale_for,
            "critical",
            "Convoso data is stale, so drop-rate alerts cannot fire.",
            f"The last successful poll of {WHERE} was {{{{ $value | humanizeDuration }}}} ago.",
        ),
        alert(
            s,
            "ConvosoExporterDown",
            f"{up} == 0\nor\nabsent({up})",
            s.exporter_down_for,
            "critical",
            "Prometheus cannot scrape the Convoso exporter.",
            "Prometheus has not scraped the Convoso exporter{{ with $labels.instance }} "
            f"at {{{{ . }}}}{{{{ end }}}} for {s.exporter_down_for}; "
            "no other Convoso alert can fire while it is down.",
        ),
        alert(
            s,
            "ConvosoAuthFailing",
            "convoso_up == 0\nand on (job, instance, target)\n"
            'increase(convoso_exporter_poll_errors_total{kind="auth"}'
            f"[{s.auth_window}]) > 0",
            s.auth_for,
            "critical",
            "Convoso is refusing the exporter's auth token.",
            f"Polls of {WHERE} fail with authentication errors; "
            "they will not recover until the token is fixed.",
        ),
    ]


class Group(NamedTuple):
    """One rule group: its name, its rules, and the setting that is its own evaluation
    interval (None: Prometheus's evaluation_interval)."""

    name: str
    rules: Callable[[Settings], list[Rule]]
    interval: str | None = None


# In file order: recording groups first, then the alerts. The 30-day group records its
# sums and alerts on them at once (a group evaluates its rules in order).
GROUPS: tuple[Group, ...] = (
    Group("convoso.recording", recording_rules),
    Group("convoso.agent_time", agent_time_rules),
    Group("convoso.agent_activity", activity_rules),
    Group("convoso.compliance.tiles", compliance.tile_rules, "tile_window"),
    Group("convoso.compliance", judging.compliance_rules),
    Group("convoso.calls", call_alerts),
    Group("convoso.agents", agent_alerts),
    Group("convoso.exporter", health_alerts),
)


def rule_groups(s: Settings) -> dict[str, Any]:
    """The rule file's content, after refusing settings Prometheus would reject."""
    validate(s)
    groups = []
    for group in GROUPS:
        interval = {"interval": getattr(s, group.interval)} if group.interval else {}
        groups.append({"name": group.name, **interval, "rules": group.rules(s)})
    return {"groups": groups}


def render(settings: Settings) -> str:
    """The rules file text for `settings`."""
    return HEADER + yaml_text(rule_groups(settings))


def files(settings: Settings) -> list[Generated]:
    """The rule file for `settings`, as the generator writes it."""
    return [Generated(PATH, render(settings))]
