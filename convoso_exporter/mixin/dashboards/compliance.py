"""Convoso / Drop-rate compliance: each campaign's drop rate over the last 30 days (the
legal measure) on both bases, which one the alerts judge, day by day, and how many drops
are left before the line.

Every panel reads the 30-day rules (`mixin/compliance.py`, `mixin/judging.py`): sums of
the exporter's counters in 15-minute tiles, per job and campaign target, with the
campaign's name. They carry no `instance` (a restarted exporter must not cut the 30
days), so the panels filter on `job` and the `campaign` variable only. Before the rules
have run 30 days, the figures cover the time since they were deployed (the live-human
basis: since its figures began). The lines are the 30-day alerts'.
"""

from __future__ import annotations

from convoso_exporter.mixin import compliance, judging
from convoso_exporter.mixin.layout import Line, campaign_variables, dashboard
from convoso_exporter.mixin.panels import Panel, dashed, queries, stat, thresholds, timeseries
from convoso_exporter.mixin.promql import CAMPAIGN, selector
from convoso_exporter.mixin.scopes import ANSWERED_NOTE, drop_rate_thresholds, scope_table
from convoso_exporter.mixin.settings import Settings, percent

JOB = 'job=~"$job"'
NAME = "{{campaign_name}}"
WINDOW_NOTE = (
    " The 30 days end at the last 15-minute tile; until the rules have run 30 days they cover "
    "the time since they were deployed (the campaign's life so far, as the law allows)."
)
# One sentence per basis on what it divides by, in a compliance officer's words.
LIVE_WORDS = (
    " Live-human basis: dropped calls ÷ (calls a live person answered and an agent handled + "
    "dropped calls), from Convoso's agent-performance report: the law's measure, as a dropped "
    "call is one a person answered and no agent took within two seconds."
)
ANSWERED_WORDS = " Answered basis: dropped calls ÷ the calls Convoso counts as answered." + ANSWERED_NOTE
LIVE_WINDOW_NOTE = (
    " It covers only the time the exporter had live-human figures (the agent-performance endpoint "
    "on), drops included, so after they begin it is the rate over that shorter time."
)


def rule(name: str, *matchers: str) -> str:
    """A 30-day rule's series for the selected job and campaigns."""
    return selector(name, JOB, CAMPAIGN, *matchers)


RATE_30D, RATE_30D_LIVE = rule(compliance.RATE_30D), rule(compliance.RATE_30D_LIVE)
HEADROOM, HEADROOM_LIVE = rule(compliance.HEADROOM), rule(compliance.HEADROOM_LIVE)
EXCESS_1D, EXCESS_1D_LIVE = rule(compliance.EXCESS_1D), rule(compliance.EXCESS_1D_LIVE)
ANSWERED_30D, DROPPED_30D, LIVE_30D = (
    rule(compliance.total(what, compliance.LAW_WINDOW)) for what in ("answered", "dropped", "live_answered")
)
ANSWERED_1D, DROPPED_1D, LIVE_1D, DROPPED_LIVE_1D = (
    rule(compliance.total(what, compliance.DAY)) for what in ("answered", "dropped", "live_answered", "dropped_live")
)
RATE_1D = f"{DROPPED_1D} / ({ANSWERED_1D} > 0)"
RATE_1D_LIVE = f"{DROPPED_LIVE_1D} / (({LIVE_1D} + {DROPPED_LIVE_1D}) > 0)"


def judged(live: str, answered: str, *, say_basis: bool = True) -> str:
    """Each campaign's figure on the basis the 30-day alerts judge it on (with `basis`, or
    without it where a table merges rows on their labels)."""
    how = "* on (job, target) group_left (basis)" if say_basis else "and on (job, target)"
    kept = [f"{figure} {how} {rule(judging.BASIS, basis)}" for figure, basis in
            ((live, 'basis="live"'), (answered, 'basis="answered"'))]
    return "\nor\n".join(kept)


def campaign_stat(
    title: str, description: str, unit: str, expr: str, colours: dict, decimals: int, legend: str = NAME
) -> Panel:
    """One big number per selected campaign, its background coloured by `colours`."""
    return stat(
        title,
        description,
        unit,
        queries((expr, legend), instant=True),
        colour_mode="background",
        thresholds=colours,
        defaults={"decimals": decimals},
    )


def rate_row(settings: Settings) -> Line:
    """The 30-day rate per campaign on both bases, the one the alerts judge, over time."""
    critical, warning = percent(settings.drop_rate_30d_critical), percent(settings.drop_rate_30d_warning)
    lines = drop_rate_thresholds(settings, days=30)
    colours = f" Orange from {warning}, red over the {critical} line (the 30-day alerts)."
    choice = {
        "auto": "the live-human basis where the campaign has current live-human figures (and "
        f"{settings.min_answered_30d} live-human calls), else the answered basis",
        "live": "the live-human basis (campaigns without live-human figures are not judged)",
        "answered": "the answered basis",
    }[settings.drop_rate_30d_basis]
    return [
        (
            campaign_stat(
                "30-day drop rate the alerts judge",
                "Per campaign, the 30-day drop rate ConvosoDropRate30dCritical and ConvosoDropRate30dWarning "
                f"judge, and its basis: {choice} (drop_rate_30d_basis={settings.drop_rate_30d_basis}). "
                f"Campaigns with fewer than {settings.min_answered_30d} calls on their basis are not "
                "judged and not shown." + colours,
                "percentunit",
                judged(RATE_30D_LIVE, RATE_30D),
                lines,
                2,
                f"{NAME} ({{{{basis}}}} basis)",
            ),
            8,
            7,
        ),
        (
            campaign_stat(
                "30-day drop rate, live-human basis",
                "Per campaign, over the last 30 days." + LIVE_WORDS + colours + LIVE_WINDOW_NOTE,
                "percentunit",
                RATE_30D_LIVE,
                lines,
                2,
            ),
            8,
            7,
        ),
        (
            campaign_stat(
                "30-day drop rate, answered basis",
                "Per campaign, over the last 30 days." + ANSWERED_WORDS + colours + WINDOW_NOTE,
                "percentunit",
                RATE_30D,
                lines,
                2,
            ),
            8,
            7,
        ),
        (
            timeseries(
                f"30-day drop rate on both bases against the {critical} line",
                "The 30-day drop rate per campaign over time, solid on the live-human basis, dashed on "
                f"the answered basis. The red area is the {critical} limit "
                f"(ConvosoDropRate30dCritical), the orange band the {warning} warning "
                "(ConvosoDropRate30dWarning). It moves slowly: a bad day weighs on it for 30 days."
                + LIVE_WORDS
                + ANSWERED_WORDS,
                "percentunit",
                queries((RATE_30D_LIVE, f"{NAME} live-human"), (RATE_30D, f"{NAME} answered")),
                threshold_lines=True,
                soft_max=settings.drop_rate_30d_critical * 4 / 3,  # keep the line in view
                thresholds=lines,
                defaults={"decimals": 2, "min": 0},
                overrides=dashed("B"),
            ),
            24,
            8,
        ),
    ]


def headroom_row(settings: Settings) -> Line:
    """Drops left before the line, and the last 24 hours' pace against it, on the judged basis."""
    critical = percent(settings.drop_rate_30d_critical)
    left = thresholds("red", (0, "orange"), (1, "green"))
    basis = (
        " On the basis the alerts judge each campaign on: on the live-human basis each further drop "
        "also adds to the calls it divides by."
    )
    return [
        (
            campaign_stat(
                f"Drops left before {critical}",
                f"How many more calls each campaign can drop before its 30-day rate reaches "
                f"{critical}, if no other call is answered: on the answered basis {critical} of the "
                "answered calls minus the dropped ones, over the last 30 days. Negative: that many "
                "over the line." + basis,
                "short",
                judged(HEADROOM_LIVE, HEADROOM),
                left,
                0,
                f"{NAME} ({{{{basis}}}} basis)",
            ),
            6,
            8,
        ),
        (
            timeseries(
                f"Drops left before {critical}, and the last 24 hours over it",
                f"Drops left before the 30-day rate reaches {critical} (solid), and the last 24 "
                f"hours' drops over {critical} of that day's calls (dashed; under 0 "
                "is under the line). ConvosoDropRate30dWarning fires when the second, kept up "
                f"{settings.drop_pace_days} days, would use up the first." + basis,
                "short",
                queries(
                    (judged(HEADROOM_LIVE, HEADROOM), f"{NAME} left ({{{{basis}}}})"),
                    (judged(EXCESS_1D_LIVE, EXCESS_1D), f"{NAME} last 24h over the line ({{{{basis}}}})"),
                ),
                overrides=dashed("B"),
            ),
            18,
            8,
        ),
    ]


def day_row(settings: Settings) -> Line:
    """One bar a day: the drop rate on both bases, the calls answered and dropped."""
    day = (
        " One bar per day: the 24 hours before the bar's time (Grafana's daily steps are "
        "midnights in UTC or the browser's zone, not necessarily the account's; today's ratio "
        "on the overview follows the account's day)."
    )
    return [
        (
            timeseries(
                "Drop rate per day",
                "The drop rate per campaign, day by day, on the live-human basis and on the "
                "answered basis." + LIVE_WORDS + ANSWERED_WORDS + day,
                "percentunit",
                queries((RATE_1D_LIVE, f"{NAME} live-human"), (RATE_1D, f"{NAME} answered")),
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
                "Per campaign, day by day: the queue calls Convoso counts as answered, the calls a "
                "live person answered and an agent handled (agent-performance), and the dropped "
                "queue calls. Where answered is well above live-human answered plus dropped, "
                "Convoso's answered includes calls no person answered (machines)." + day,
                "short",
                queries(
                    (ANSWERED_1D, f"{NAME} answered"),
                    (LIVE_1D, f"{NAME} live-human answered"),
                    (DROPPED_1D, f"{NAME} dropped"),
                ),
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
    rates = ("30-day drop rate, live-human", "30-day drop rate, answered", "Last 24 hours, live-human",
             "Last 24 hours, answered")
    return [
        (
            scope_table(
                "Campaigns: the last 30 days",
                "One row per selected campaign: its 30-day drop rate on both bases, the calls behind "
                f"them, the drops left before {critical} (on the basis the alerts judge), and the last "
                "24 hours. The live-human rate counts only the drops of the time with live-human "
                "figures." + LIVE_WORDS + ANSWERED_WORDS + WINDOW_NOTE,
                "campaign",
                [
                    (RATE_30D_LIVE, rates[0]),
                    (RATE_30D, rates[1]),
                    (LIVE_30D, "Live-human answered, 30 days"),
                    (ANSWERED_30D, "Answered, 30 days"),
                    (DROPPED_30D, "Dropped, 30 days"),
                    (judged(HEADROOM_LIVE, HEADROOM, say_basis=False), f"Drops left before {critical}"),
                    (RATE_1D_LIVE, rates[2]),
                    (RATE_1D, rates[3]),
                ],
                hidden=("target",),
                units=dict.fromkeys(rates, "percentunit"),
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
        "Each campaign's drop rate over the last 30 days against the "
        f"{percent(settings.drop_rate_30d_critical)} line, on two bases: dropped ÷ (live-human "
        "answered + dropped), and dropped ÷ Convoso's answered (not documented to count live "
        "people only); which one the alerts judge; day by day; and the drops left, from "
        "convoso-exporter's 30-day recording rules.",
        [
            ("The 30-day drop rate per campaign", rate_row(settings)),
            ("Headroom", headroom_row(settings)),
            ("Day by day", day_row(settings)),
            ("Campaigns", table_row(settings)),
        ],
        campaign_variables(),
    )
