"""The recording and alerting rules (`prometheus/convoso.rules.yml`).

YAML anchors cannot do arithmetic inside PromQL strings and constant recording rules
(`vector(0.03)`) break label matching, hence a generator; the numbers come from
`settings.Settings`. A new rule group is one function returning its rules, added to
`GROUPS`.

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
from typing import Any

from convoso_exporter.mixin.files import Generated, generated_note, yaml_text
from convoso_exporter.mixin.settings import Settings, duration_seconds, percent, validate

PATH = "prometheus/convoso.rules.yml"
HEADER = (
    f"# {generated_note(__name__)}\n"
    "# Thresholds: convoso_exporter/mixin/settings.py, or `--set name=value`.\n"
    "# Recording rules first, then the alerts. What each alert means: docs/alerts.md.\n"
)
WHERE = "{{ $labels.target }} on {{ $labels.instance }}"

Rule = dict[str, Any]


def increase_name(metric: str, window: str) -> str:
    """Recording rule name of the day-reset-aware growth of a `*_today` gauge."""
    return f"convoso:{metric.removeprefix('convoso_')}:increase{window}"


def window_increase(metric: str, window: str, *, one_line: bool = False) -> str:
    """Growth of a gauge that counts up all day and resets at the day boundary.

    The dashboards use the same idiom on one line, so both say the same thing.
    """
    earlier = f"({metric} offset {window} or min_over_time({metric}[{window}]))"
    if one_line:
        return f"clamp_min({metric} - {earlier}, 0)"
    return f"clamp_min(\n  {metric}\n    - {earlier},\n  0\n)"


def recording_rules(s: Settings) -> list[Rule]:
    """Results the alerts share, named once so their expressions stay short and testable."""
    dropped = increase_name("convoso_queue_dropped_today", s.burst_window)
    answered = increase_name("convoso_queue_answered_today", s.burst_window)
    return [
        {
            # answered == 0 gives no sample rather than +Inf or NaN.
            "record": "convoso:drop_rate_today:ratio",
            "expr": "convoso_queue_dropped_today\n  / (convoso_queue_answered_today > 0)",
        },
        {
            "record": "convoso:agents_logged_in:count",
            "expr": 'sum without (status) (convoso_agents{status!="LOGGED_OUT"})',
        },
        {"record": dropped, "expr": window_increase("convoso_queue_dropped_today", s.burst_window)},
        {"record": answered, "expr": window_increase("convoso_queue_answered_today", s.burst_window)},
    ]


def alert(s: Settings, name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> Rule:
    """One alert in the mixin's shape: severity, summary, description and a runbook anchor."""
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{s.runbook_base}#{name.lower()}",
        },
    }


def call_alerts(s: Settings) -> list[Rule]:
    """Too many dropped calls: today's ratio (the legal line) and a burst within minutes."""
    def drop_rate(name: str, ratio: float, severity: str, level: str) -> Rule:
        return alert(
            s,
            name,
            f"convoso:drop_rate_today:ratio > {ratio:g}\n"
            f"and\nconvoso_queue_answered_today >= {s.min_answered_today}",
            s.drop_rate_for,
            severity,
            f"Dropped calls are over {percent(ratio)} of answered calls today.",
            f"{WHERE} has dropped {{{{ $value | humanizePercentage }}}} of the calls "
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
            f"A burst of dropped calls in the last {s.burst_window}.",
            f"{WHERE} dropped {{{{ $value }}}} calls in the last {s.burst_window}, more than "
            f"{percent(s.burst_drop_rate)} of the calls answered in that time.",
        ),
    ]


def agent_alerts(s: Settings) -> list[Rule]:
    """A floor that cannot take calls although leads are waiting."""
    return [
        alert(
            s,
            "ConvosoNoAgentReady",
            'sum without (status) (convoso_agents{status="READY"}) == 0\n'
            "and\nconvoso_queue_dialable_leads > 0\n"
            "and\nconvoso:agents_logged_in:count > 0",
            s.no_agent_ready_for,
            "warning",
            "No agent is ready while leads are waiting to be dialled.",
            f"{WHERE} has agents logged in and leads to dial, but no agent has been "
            f"READY for {s.no_agent_ready_for}.",
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


# (group name, its rules) in file order: recording rules first, then the alerts.
GROUPS: tuple[tuple[str, Callable[[Settings], list[Rule]]], ...] = (
    ("convoso.recording", recording_rules),
    ("convoso.calls", call_alerts),
    ("convoso.agents", agent_alerts),
    ("convoso.exporter", health_alerts),
)


def rule_groups(s: Settings) -> dict[str, Any]:
    """The rule file's content, after refusing settings Prometheus would reject."""
    validate(s)
    return {"groups": [{"name": name, "rules": rules(s)} for name, rules in GROUPS]}


def render(settings: Settings) -> str:
    """The rules file text for `settings`."""
    return HEADER + yaml_text(rule_groups(settings))


def files(settings: Settings) -> list[Generated]:
    """The rule file for `settings`, as the generator writes it."""
    return [Generated(PATH, render(settings))]
