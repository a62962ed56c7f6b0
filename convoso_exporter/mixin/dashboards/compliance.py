"""Convoso / Drop-rate compliance: each campaign's drop rate over the last 30 days (the
legal measure), day by day, and how many drops are left before the line.

Every panel reads the 30-day rules (`mixin/compliance.py`): sums of the exporter's
counters in 15-minute tiles, per job and campaign target, with the campaign's name. They
carry no `instance` (a restarted exporter must not cut the 30 days), so the panels filter
on `job` and the `campaign` variable only. Before the rules have run 30 days, the
figures cover the time since they were deployed. The lines are the 30-day alerts'.
"""

from __future__ import annotations

from convoso_exporter.mixin import compliance
from convoso_exporter.mixin.layout import Line, campaign_variables, dashboard
from convoso_exporter.mixin.panels import Panel, queries, stat, thresholds, timeseries
from convoso_exporter.mixin.promql import CAMPAIGN, selector
from convoso_exporter.mixin.scopes import ANSWERED_NOTE, drop_rate_thresholds, scope_table
from convoso_exporter.mixin.settings import Settings, percent

JOB = 'job=~"$job"'
NAME = "{{campaign_name}}"
WINDOW_NOTE = (
    " The 30 days end at the last 15-minute tile; until the rules have run 30 days they cover "
    "the time since they were deployed (the campaign's life so far, as the law allows)."
)


def rule(name: str) -> str:
    """A 30-day rule's series for the selected job and campaigns."""
    return selector(name, JOB, CAMPAIGN)


RATE_30D = rule(compliance.RATE_30D)
HEADROOM = rule(compliance.HEADROOM)
EXCESS_1D = rule(compliance.EXCESS_1D)
ANSWERED_30D, DROPPED_30D = (rule(compliance.total(what, compliance.LAW_WINDOW)) for what in ("answered", "dropped"))
ANSWERED_1D, DROPPED_1D = (rule(compliance.total(what, compliance.DAY)) for what in ("answered", "dropped"))
RATE_1D = f"{DROPPED_1D} / ({ANSWERED_1D} > 0)"


def campaign_stat(title: str, description: str, unit: str, expr: str, colours: dict, decimals: int) -> Panel:
    """One big number per selected campaign, its background coloured by `colours`."""
    return stat(
        title,
        description,
        unit,
        queries((expr, NAME), instant=True),
        colour_mode="background",
        thresholds=colours,
        defaults={"decimals": decimals},
    )


def rate_row(settings: Settings) -> Line:
    """The 30-day rate per campaign now and over time, against the alerts' lines."""
    critical, warning = percent(settings.drop_rate_30d_critical), percent(settings.drop_rate_30d_warning)
    lines = drop_rate_thresholds(settings, days=30)
    return [
        (
            campaign_stat(
                "30-day drop rate",
                "Dropped ÷ answered queue calls over the last 30 days, per campaign (the legal "
                f"measure). Orange from {warning}, red over the {critical} line (the 30-day "
                "alerts)." + WINDOW_NOTE + ANSWERED_NOTE,
                "percentunit",
                RATE_30D,
                lines,
                2,
            ),
            6,
            8,
        ),
        (
            timeseries(
                f"30-day drop rate against the {critical} line",
                "The 30-day drop rate per campaign over time. The red area is the "
                f"{critical} limit (ConvosoDropRate30dCritical), the orange band the {warning} "
                "warning (ConvosoDropRate30dWarning). It moves slowly: a bad day weighs on it "
                "for 30 days.",
                "percentunit",
                queries((RATE_30D, NAME)),
                threshold_lines=True,
                soft_max=settings.drop_rate_30d_critical * 4 / 3,  # keep the line in view
                thresholds=lines,
                defaults={"decimals": 2, "min": 0},
            ),
            18,
            8,
        ),
    ]


def headroom_row(settings: Settings) -> Line:
    """Drops left before the line, and the last 24 hours' pace against it."""
    critical = percent(settings.drop_rate_30d_critical)
    left = thresholds("red", (0, "orange"), (1, "green"))
    return [
        (
            campaign_stat(
                f"Drops left before {critical}",
                f"How many more calls each campaign can drop before its 30-day rate reaches "
                f"{critical}, if no other call is answered: {critical} of the answered calls "
                "minus the dropped ones, over the last 30 days. Negative: that many over the line.",
                "short",
                HEADROOM,
                left,
                0,
            ),
            6,
            8,
        ),
        (
            timeseries(
                f"Drops left before {critical}, and the last 24 hours over it",
                f"Drops left before the 30-day rate reaches {critical} (solid), and the last 24 "
                f"hours' drops over {critical} of that day's answered calls (dashed; under 0 "
                "is under the line). ConvosoDropRate30dWarning fires when the second, kept up "
                f"{settings.drop_pace_days} days, would use up the first.",
                "short",
                queries((HEADROOM, f"{NAME} left"), (EXCESS_1D, f"{NAME} last 24h over the line")),
                overrides=[
                    {
                        "matcher": {"id": "byRegexp", "options": ".* last 24h over the line"},
                        "properties": [{"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}}],
                    }
                ],
            ),
            18,
            8,
        ),
    ]


def day_row(settings: Settings) -> Line:
    """One bar a day: the drop rate, the calls answered and dropped."""
    day = (
        " One bar per day: the 24 hours before the bar's time (Grafana's daily steps are "
        "midnights in UTC or the browser's zone, not necessarily the account's; today's ratio "
        "on the overview follows the account's day)."
    )
    return [
        (
            timeseries(
                "Drop rate per day",
                "Dropped ÷ answered queue calls per campaign, day by day." + day,
                "percentunit",
                queries((RATE_1D, NAME)),
                bars=True,
                threshold_lines=True,
                thresholds=drop_rate_thresholds(settings, days=30),
                interval="1d",
                defaults={"decimals": 2, "min": 0},
            ),
            12,
            8,
        ),
        (
            timeseries(
                "Answered and dropped per day",
                "Queue calls answered and dropped per campaign, day by day." + day,
                "short",
                queries((ANSWERED_1D, f"{NAME} answered"), (DROPPED_1D, f"{NAME} dropped")),
                bars=True,
                interval="1d",
            ),
            12,
            8,
        ),
    ]


def table_row(settings: Settings) -> Line:
    """One row per campaign: what a compliance review asks for."""
    critical = percent(settings.drop_rate_30d_critical)
    return [
        (
            scope_table(
                "Campaigns: the last 30 days",
                "One row per selected campaign: its 30-day drop rate, the answered and dropped "
                f"calls behind it, the drops left before {critical}, and the last 24 hours."
                + WINDOW_NOTE,
                "campaign",
                [
                    (RATE_30D, "30-day drop rate"),
                    (ANSWERED_30D, "Answered, 30 days"),
                    (DROPPED_30D, "Dropped, 30 days"),
                    (HEADROOM, f"Drops left before {critical}"),
                    (RATE_1D, "Drop rate, last 24 hours"),
                    (ANSWERED_1D, "Answered, last 24 hours"),
                    (DROPPED_1D, "Dropped, last 24 hours"),
                ],
                hidden=("target",),
                units={"30-day drop rate": "percentunit", "Drop rate, last 24 hours": "percentunit"},
            ),
            24,
            8,
        ),
    ]


def build(settings: Settings) -> dict:
    """The dashboard for `settings`: its lines are the 30-day alerts'."""
    return dashboard(
        __name__,
        "convoso-compliance",
        "Convoso / Drop-rate compliance",
        "Each campaign's dropped ÷ answered calls over the last 30 days against the "
        f"{percent(settings.drop_rate_30d_critical)} line, day by day, and the drops left, "
        "from convoso-exporter's 30-day recording rules.",
        [
            ("The 30-day drop rate per campaign", rate_row(settings)),
            ("Headroom", headroom_row(settings)),
            ("Day by day", day_row(settings)),
            ("Campaigns", table_row(settings)),
        ],
        campaign_variables(),
    )
