"""Convoso / Contact center overview: agents, queue and today's drop rate per target.

The drop-rate colours and lines, the burst window and its thresholds come from
`Settings`, so this dashboard always draws the lines the alerts use.
"""

from __future__ import annotations

from convoso_exporter.mixin.layout import Line, dashboard
from convoso_exporter.mixin.panels import (
    STATUS_COLOURS,
    Panel,
    queries,
    sel,
    stat,
    status_colours,
    thresholds,
    timeseries,
    value_mappings,
    window_increase,
)
from convoso_exporter.mixin.settings import Settings, percent


def drop_rate_thresholds(settings: Settings) -> dict:
    """Green, then orange at the warning alert's ratio and red at the critical one's."""
    return thresholds(
        "green",
        (settings.drop_rate_warning, "orange"),
        (settings.drop_rate_critical, "red"),
    )


def status_count_stat(status: str, title: str) -> Panel:
    in_status = sel("convoso_agents", f'status="{status}"')
    return stat(
        title,
        f"Agents in status {status} now, per target (counted from the agents list).",
        "short",
        queries((f"sum by (target) ({in_status})", "{{target}}"), instant=True),
        color={"fixedColor": STATUS_COLOURS[status], "mode": "fixed"},
    )


def right_now_row() -> Line:
    """Agents per status and whether each target's data is current."""
    return [
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


def agents_row() -> Line:
    """Logged-in agents by status over time, beside the leads waiting for them."""
    logged_in = sel("convoso_agents", 'status!="LOGGED_OUT"')
    return [
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


def drop_rate_row(settings: Settings) -> Line:
    """Today's drop rate against the two drop-rate alerts' lines."""
    drop_rate = f"{sel('convoso_queue_dropped_today')} / ({sel('convoso_queue_answered_today')} > 0)"
    critical, warning = percent(settings.drop_rate_critical), percent(settings.drop_rate_warning)
    return [
        (
            stat(
                "Drop rate today",
                f"Dropped ÷ answered queue calls since the account's day began, per target. "
                f"Orange from {warning}, red from the {critical} legal line (the alert thresholds). "
                "No value until a call is answered.",
                "percentunit",
                queries((drop_rate, "{{target}}"), instant=True),
                colour_mode="background",
                thresholds=drop_rate_thresholds(settings),
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
                soft_max=settings.drop_rate_critical * 4 / 3,  # keep the legal line in view
                thresholds=drop_rate_thresholds(settings),
                defaults={"decimals": 2, "min": 0},
            ),
            18,
            8,
        ),
    ]


def calls_row(settings: Settings) -> Line:
    """Today's queue calls, and the drops the burst alert watches."""
    dropped, answered, calls = (
        sel("convoso_queue_dropped_today"),
        sel("convoso_queue_answered_today"),
        sel("convoso_queue_calls_today"),
    )
    window = settings.burst_window
    return [
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
                f"watches (it fires from {settings.burst_min_drops} drops that are over "
                f"{percent(settings.burst_drop_rate)} of the calls answered in the window).",
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


def build(settings: Settings) -> dict:
    """The dashboard for `settings`: its threshold lines are the drop-rate and burst alerts'."""
    return dashboard(
        __name__,
        "convoso-overview",
        "Convoso / Contact center overview",
        "Agents, queue and today's drop rate per Convoso target, from convoso-exporter.",
        [
            ("Right now", right_now_row()),
            ("Agents and leads", agents_row()),
            ("Drop rate", drop_rate_row(settings)),
            ("Calls", calls_row(settings)),
        ],
    )
