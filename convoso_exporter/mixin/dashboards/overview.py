"""Convoso / Contact center overview: agents, campaigns, queues and today's drop rate.

Where each number comes from, so that no panel sums overlapping targets:
- agent counts: the account's breakdown `convoso_agents` (each agent once), filtered on
  the `campaign` and `queue` variables;
- per-campaign figures (calls, answered, dropped, leads, the drop rate): each campaign's
  own `campaign:<id>` target, named and filtered through `convoso_target_info`;
- per-queue figures: each queue's `queue:<id>` target, the same way;
- account totals: the `account` target; custom slices: each custom target on its own.

The drop-rate colours and lines, the burst window and its thresholds come from
`Settings`, so this dashboard always draws the lines the alerts use.
"""

from __future__ import annotations

from convoso_exporter.mixin.layout import Line, dashboard, scope_variables
from convoso_exporter.mixin.panels import (
    STATUS_COLOURS,
    Panel,
    bargauge,
    queries,
    stat,
    status_colours,
    timeseries,
    value_mappings,
)
from convoso_exporter.mixin.promql import (
    account,
    campaign_names,
    campaign_targets,
    custom_targets,
    queue_names,
    queue_targets,
    sel,
    window_increase,
)
from convoso_exporter.mixin.scopes import (
    ANSWERED_NOTE,
    LOGGED_IN,
    TODAY,
    agent_columns,
    agents,
    drop_rate,
    drop_rate_thresholds,
    scope_table,
    target_columns,
)
from convoso_exporter.mixin.settings import Settings, percent


def status_count_stat(status: str, title: str) -> Panel:
    in_status = agents(f'status="{status}"')
    return stat(
        title,
        f"Agents in status {status} now in the selected campaigns and queues, each agent once "
        "(the account's breakdown, convoso_agents).",
        "short",
        queries((f"sum({in_status})", status), instant=True),
        color={"fixedColor": STATUS_COLOURS[status], "mode": "fixed"},
    )


def right_now_row() -> Line:
    """Agents in total and per status, and whether the data behind the dashboard is current."""
    return [
        (
            stat(
                "Agents",
                "Every agent the account lists in the selected campaigns and queues, each once, "
                "in any status (LOGGED_OUT included). With everything selected this is the "
                "account's own agent total.",
                "short",
                queries((f"sum({agents()})", "agents"), instant=True),
                color={"fixedColor": "text", "mode": "fixed"},
            ),
            4,
            5,
        ),
        (status_count_stat("READY", "Agents ready"), 4, 5),
        (status_count_stat("INCALL", "Agents in call"), 4, 5),
        (status_count_stat("PAUSED", "Agents paused"), 4, 5),
        (status_count_stat("WRAP", "Agents in wrap-up"), 4, 5),
        (
            stat(
                "Data",
                "Whether the exporter's last poll succeeded: of the account (every agent count "
                "here), and of every selected campaign and queue target (their figures). DOWN "
                "means some numbers are old or missing: see the Exporter health dashboard.",
                "none",
                queries(
                    (account("convoso_up"), "account"),
                    (f"min({campaign_targets(sel('convoso_up'))})", "campaigns"),
                    (f"min({queue_targets(sel('convoso_up'))})", "queues"),
                    instant=True,
                ),
                colour_mode="background",
                mappings=value_mappings({"0": ("DOWN", "red"), "1": ("UP", "green")}),
            ),
            4,
            5,
        ),
    ]


def agents_row() -> Line:
    """Logged-in agents by status and by campaign over time."""
    return [
        (
            timeseries(
                "Logged-in agents by status",
                "Agents in each status over time in the selected campaigns and queues, stacked, "
                "each agent once (convoso_agents). LOGGED_OUT is left out.",
                "short",
                queries((f"sum by (status) ({agents(LOGGED_IN)})", "{{status}}")),
                stack=True,
                overrides=status_colours(),
            ),
            16,
            9,
        ),
        (
            timeseries(
                "Logged-in agents by campaign",
                "Agents in any status but LOGGED_OUT, per selected campaign, stacked (each agent "
                "is in one campaign). Agents the API lists without a campaign are left out.",
                "short",
                queries(
                    (
                        campaign_names(f"sum by (job, instance, campaign_id) ({agents(LOGGED_IN)})"),
                        "{{campaign_name}}",
                    )
                ),
                stack=True,
            ),
            8,
            9,
        ),
    ]


def drop_rate_row(settings: Settings) -> Line:
    """Today's drop rate per campaign against the two drop-rate alerts' lines."""
    per_campaign = campaign_targets(drop_rate())
    critical, warning = percent(settings.drop_rate_critical), percent(settings.drop_rate_warning)
    return [
        (
            stat(
                "Drop rate today",
                "Dropped ÷ answered queue calls since the account's day began, per campaign (the "
                f"legal unit), from each campaign's own target. Orange from {warning}, red from "
                f"the {critical} legal line (the alert thresholds). No value until a call is "
                "answered." + ANSWERED_NOTE,
                "percentunit",
                queries((per_campaign, "{{campaign_name}}"), instant=True),
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
                f"Dropped ÷ answered queue calls today, per campaign, over time. The red area is "
                f"the {critical} legal limit (ConvosoDropRateCritical), the orange band the "
                f"{warning} warning (ConvosoDropRateWarning). Resets with the account's day.",
                "percentunit",
                queries((per_campaign, "{{campaign_name}}")),
                threshold_lines=True,
                soft_max=settings.drop_rate_critical * 4 / 3,  # keep the legal line in view
                thresholds=drop_rate_thresholds(settings),
                defaults={"decimals": 2, "min": 0},
            ),
            18,
            8,
        ),
    ]


def campaigns_row(settings: Settings) -> Line:
    """One row per campaign, and the drops the burst alert watches."""
    window = settings.burst_window
    dropped, answered, calls = (
        sel("convoso_queue_dropped_today"),
        sel("convoso_queue_answered_today"),
        sel("convoso_queue_calls_today"),
    )
    per_interval = [
        (campaign_targets(window_increase(expr, "$__interval", one_line=True)), f"{{{{campaign_name}}}} {what}")
        for expr, what in ((calls, "calls"), (answered, "answered"), (dropped, "dropped"))
    ]
    return [
        (
            scope_table(
                "Campaigns now",
                "One row per selected campaign. Agents: the account's breakdown (each agent once, "
                "in the selected queues); leads and today's calls: the campaign's own target "
                "(queue_dialable_leads, queue_calls_today, queue_answered, queue_dropped)." + ANSWERED_NOTE,
                "campaign",
                agent_columns("campaign", campaign_names)
                + target_columns("campaign", campaign_targets, TODAY + [(drop_rate(), "drop rate")]),
            ),
            24,
            8,
        ),
        (
            stat(
                f"Drops in the last {window}",
                f"Queue calls dropped in the last {window}, per campaign: what ConvosoDropBurst "
                f"watches (it fires from {settings.burst_min_drops} drops that are over "
                f"{percent(settings.burst_drop_rate)} of the calls answered in the window).",
                "short",
                queries(
                    (campaign_targets(window_increase(dropped, window, one_line=True)), "{{campaign_name}}"),
                    instant=True,
                ),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Calls per interval by campaign",
                "Queue calls, answered and dropped in each graph interval (at least 1m), per "
                "campaign. Worked out from the daily totals, so the interval that spans the "
                "day boundary shows 0.",
                "short",
                queries(*per_interval),
                interval="1m",
            ),
            16,
            8,
        ),
    ]


def queues_row() -> Line:
    """One row per queue, and the leads waiting in each."""
    return [
        (
            scope_table(
                "Queues now",
                "One row per selected queue. Agents: the account's breakdown (each agent once, in "
                "the selected campaigns); leads and today's calls: the queue's own target.",
                "queue",
                agent_columns("queue", queue_names) + target_columns("queue", queue_targets, TODAY),
            ),
            16,
            8,
        ),
        (
            timeseries(
                "Dialable leads by queue",
                "Leads left to dial, per selected queue (its own target). Leads waiting while a "
                "campaign has nobody READY raises ConvosoNoAgentReady.",
                "short",
                queries((queue_targets(sel("convoso_queue_dialable_leads")), "{{queue_name}}")),
            ),
            8,
            8,
        ),
    ]


def account_row(settings: Settings) -> Line:
    """The whole account's totals, whatever campaigns are selected."""
    return [
        (
            stat(
                "Account queue calls today",
                "Queue calls, answered and dropped since the account's day began, for the whole "
                "account (the account target), whatever campaigns and queues are selected.",
                "short",
                queries(
                    *[(account(f"convoso_queue_{what}_today"), what) for what in ("calls", "answered", "dropped")],
                    instant=True,
                ),
            ),
            8,
            6,
        ),
        (
            stat(
                "Account calls in scope today",
                "Calls, answered and dropped today for the whole account as the API's call_data "
                "counts them (the account target), whatever campaigns and queues are selected.",
                "short",
                queries(
                    (account("convoso_calls_today"), "calls"),
                    (account("convoso_calls_answered_today"), "answered"),
                    (account("convoso_calls_dropped_today"), "dropped"),
                    instant=True,
                ),
            ),
            8,
            6,
        ),
        (
            stat(
                "Account drop rate today",
                "Dropped ÷ answered queue calls today for the whole account. For information: the "
                "legal limit applies per campaign (Drop rate today, above), and a quiet campaign "
                "can hide a busy one's drops here.",
                "percentunit",
                queries((drop_rate(account), "account"), instant=True),
                colour_mode="background",
                thresholds=drop_rate_thresholds(settings),
                defaults={"decimals": 2},
            ),
            8,
            6,
        ),
    ]


def custom_row() -> Line:
    """The config's own slices (skills, one agent...), each on its own."""
    return [
        (
            bargauge(
                "Custom slices: agents by status now",
                "Agents in each status (LOGGED_OUT left out) in each custom target of the exporter "
                "config, counted from that target's own answer. Slices are listed whatever the "
                "campaign and queue selection, and overlap with everything else: never add them up.",
                "short",
                queries(
                    (custom_targets(sel("convoso_target_agents", LOGGED_IN)), "{{target}}: {{status}}"),
                    instant=True,
                ),
                color={"mode": "fixed", "fixedColor": "blue"},
            ),
            12,
            7,
        ),
        (
            stat(
                "Custom slices: calls today",
                "Calls, answered and dropped today in each custom target's scope (the API's "
                "call_data for that slice).",
                "short",
                queries(
                    (custom_targets(sel("convoso_calls_today")), "{{target}} calls"),
                    (custom_targets(sel("convoso_calls_answered_today")), "{{target}} answered"),
                    (custom_targets(sel("convoso_calls_dropped_today")), "{{target}} dropped"),
                    instant=True,
                ),
            ),
            12,
            7,
        ),
    ]


def build(settings: Settings) -> dict:
    """The dashboard for `settings`: its threshold lines are the drop-rate and burst alerts'."""
    return dashboard(
        __name__,
        "convoso-overview",
        "Convoso / Contact center overview",
        "Agents, campaigns, queues and today's drop rate per campaign, from convoso-exporter.",
        [
            ("Right now", right_now_row()),
            ("Agents", agents_row()),
            ("Drop rate per campaign", drop_rate_row(settings)),
            ("Campaigns", campaigns_row(settings)),
            ("Queues", queues_row()),
            ("Whole account", account_row(settings)),
            ("Custom slices", custom_row()),
        ],
        scope_variables(),
    )
