"""Where agents' time goes: occupancy, pause share and handle time per campaign and per
queue, recorded from the exporter's agent-time counters; Convoso's own figures per
campaign beside them; and the panels that draw both (the overview) and their gap (the
exporter-health dashboard).

The counters (`convoso_agents_status_seconds_total`, `_entries_total`) come from the
account's answer only, each agent once, by campaign, queue and status: summing them by
campaign or by queue adds up a partition, never overlapping targets. Over
`agent_time_window`:

- occupancy = (INCALL + WRAP) seconds ÷ logged-in seconds (every status but LOGGED_OUT,
  so PAUSED, READY, RINGING and TRANSFER time count as logged in, not as handling);
- pause share = PAUSED seconds ÷ logged-in seconds;
- average handle time = (INCALL + WRAP) seconds ÷ INCALL entries (calls that reached an
  agent in the window; a call counts where it began).

How good the split of seconds is depends on the poll interval: docs/metrics.md.

Convoso's figures (agent-performance, per campaign target: `convoso_campaign_agent_seconds_total`
by `activity` talk, wait, pause, wrap, and `convoso_campaign_agent_calls_total`) are
recorded as each activity's share of the four, and as a handle time, (talk + wrap)
seconds ÷ calls delivered to agents. They move in steps, once per performance poll (5m by
default), all together, so their shares and the handle time, ratios of counters stepping
at the same moments, are whole even when a window holds one step. The exporter's
reconstruction is recorded on the same four (READY as wait, INCALL as talk, PAUSED as
pause, WRAP as wrap; RINGING, TRANSFER and other statuses left out of both sides), so the
two shares of an activity can be subtracted: the gap the exporter-health dashboard shows.
"""

from __future__ import annotations

from convoso_exporter.mixin.alerting import CAMPAIGN_INFO, Rule
from convoso_exporter.mixin.layout import Line
from convoso_exporter.mixin.panels import Panel, dashed, queries, timeseries
from convoso_exporter.mixin.promql import (
    CAMPAIGN,
    ON_CAMPAIGN,
    ON_TARGET,
    campaign_names,
    join,
    queue_names,
    scoped,
    sel,
)
from convoso_exporter.mixin.settings import Settings

SECONDS, ENTRIES = "convoso_agents_status_seconds_total", "convoso_agents_status_entries_total"
HANDLING, LOGGED_IN, PAUSED = 'status=~"INCALL|WRAP"', 'status!="LOGGED_OUT"', 'status="PAUSED"'
CALLS = 'status="INCALL"'
# What each level is summed by: a queue keeps its campaign, so both variables narrow it.
LEVELS = {"campaign": ("campaign_id",), "queue": ("campaign_id", "queue_id")}
# Each figure: (name, counter, numerator matcher, denominator counter, denominator matcher).
FIGURES = (
    ("occupancy", SECONDS, HANDLING, SECONDS, LOGGED_IN),
    ("pause_share", SECONDS, PAUSED, SECONDS, LOGGED_IN),
    ("handle_time_seconds", SECONDS, HANDLING, ENTRIES, CALLS),
)
# Convoso's activities and the statuses the exporter counts as each.
ACTIVITIES = {"talk": "INCALL", "wait": "READY", "pause": "PAUSED", "wrap": "WRAP"}
VENDOR_SECONDS, VENDOR_CALLS = "convoso_campaign_agent_seconds_total", "convoso_campaign_agent_calls_total"
VENDOR_HANDLING = 'activity=~"talk|wrap"'


def record_name(level: str, figure: str, s: Settings) -> str:
    """`convoso:campaign_occupancy:ratio_rate15m` and the like."""
    return f"convoso:{level}_{figure}:ratio_rate{s.agent_time_window}"


def ratio(level: str, numerator: str, denominator: str, window: str) -> str:
    """sum by level of one rate over sum by level of another (no sample while it is 0)."""
    by = f"sum by (job, instance, {', '.join(LEVELS[level])})"
    return f"{by} (rate({numerator}[{window}]))\n/\n({by} (rate({denominator}[{window}])) > 0)"


def agent_time_rules(s: Settings) -> list[Rule]:
    """The three figures, per campaign and per queue."""
    return [
        {
            "record": record_name(level, figure, s),
            "expr": ratio(level, f"{top}{{{top_match}}}", f"{bottom}{{{bottom_match}}}", s.agent_time_window),
        }
        for figure, top, top_match, bottom, bottom_match in FIGURES
        for level in LEVELS
    ]


def campaign_rate(counter: str, window: str, matchers: str = "", by: str = "") -> str:
    """A campaign target's counter (Convoso's figures): its rate, summed per campaign (and `by`)."""
    rate = join(f"rate({counter}{matchers}[{window}])", ON_TARGET, CAMPAIGN_INFO, ("campaign_id",))
    return f"sum by (job, instance, campaign_id{by}) (\n  {rate}\n)"


def share(numerator: str, denominator: str) -> str:
    """Each activity's rate ÷ the four's (no sample while the four are 0)."""
    return f"{numerator}\n/ ignoring (activity) group_left ()\n({denominator} > 0)"


def activity_rules(s: Settings) -> list[Rule]:
    """Convoso's shares and handle time per campaign, and the exporter's shares on the same four."""
    window = s.agent_time_window
    mapped = "\n  or\n".join(
        f'  label_replace(rate({SECONDS}{{status="{status}"}}[{window}]), "activity", "{activity}", "", "")'
        for activity, status in ACTIVITIES.items()
    )
    four = f'status=~"{"|".join(ACTIVITIES.values())}"'
    return [
        {
            "record": record_name("campaign", "agent_seconds_share", s),
            "expr": share(
                campaign_rate(VENDOR_SECONDS, window, by=", activity"), campaign_rate(VENDOR_SECONDS, window)
            ),
        },
        {
            "record": record_name("campaign", "agents_status_seconds_share", s),
            "expr": share(
                f"sum by (job, instance, campaign_id, activity) (\n{mapped}\n)",
                f"sum by (job, instance, campaign_id) (rate({SECONDS}{{{four}}}[{window}]))",
            ),
        },
        {
            "record": record_name("campaign", "agent_handle_time_seconds", s),
            "expr": f"{campaign_rate(VENDOR_SECONDS, window, f'{{{VENDOR_HANDLING}}}')}\n/\n"
            f"({campaign_rate(VENDOR_CALLS, window)} > 0)",
        },
    ]


# ------------------------------------------------------------------ the overview's panels


def recorded(level: str, figure: str, s: Settings) -> str:
    """A figure's recording rule on the dashboard: filtered on the scope variables, named."""
    name = record_name(level, figure, s)
    if level == "campaign":
        return campaign_names(sel(name, CAMPAIGN))
    return queue_names(scoped(name))


def convosos(s: Settings, *activities: str) -> str:
    """Convoso's share of `activities` per selected campaign, named (one activity: its share)."""
    shares = record_name("campaign", "agent_seconds_share", s)
    if len(activities) == 1:
        return campaign_names(sel(shares, CAMPAIGN, f'activity="{activities[0]}"'))
    matcher = f'activity=~"{"|".join(activities)}"'
    return campaign_names(f"sum by (job, instance, campaign_id) ({sel(shares, CAMPAIGN, matcher)})")


def figure_panel(title: str, description: str, unit: str, figure: str, convoso: str, s: Settings, **extra) -> Panel:
    """One figure per selected campaign and per selected queue, over time, and Convoso's
    own figure per selected campaign beside it (`convoso`: its query)."""
    return timeseries(
        title,
        description,
        unit,
        queries(
            (recorded("campaign", figure, s), "{{campaign_name}}"),
            (recorded("queue", figure, s), "queue {{queue_name}}"),
            (convoso, "{{campaign_name}} (Convoso)"),
        ),
        **extra,
    )


def agent_time_row(s: Settings) -> Line:
    """Occupancy, pause share and handle time, the exporter's and Convoso's, and each
    activity's share by both: where the selected agents' time goes."""
    window = s.agent_time_window
    source = (
        f"over the last {window}, from the exporter's agent-time counters (the account's answer, each "
        "agent once; how exact they are depends on the poll interval: docs/metrics.md)."
    )
    convoso = (
        " Dashed, per campaign: Convoso's own figure from its agent-performance report, "
        "which counts talk, wait, pause and wrap only"
    )
    return [
        (
            figure_panel(
                "Occupancy",
                "Time on calls and in wrap-up (INCALL + WRAP) ÷ logged-in time (every status but "
                f"LOGGED_OUT, pauses included), per selected campaign and queue, {source}{convoso}: "
                "(talk + wrap) ÷ (talk + wait + pause + wrap).",
                "percentunit",
                "occupancy",
                convosos(s, "talk", "wrap"),
                s,
                defaults={"min": 0, "max": 1},
                overrides=dashed("C"),
            ),
            8,
            8,
        ),
        (
            figure_panel(
                "Pause share",
                f"PAUSED time ÷ logged-in time, per selected campaign and queue, {source}{convoso}: "
                "pause ÷ (talk + wait + pause + wrap).",
                "percentunit",
                "pause_share",
                convosos(s, "pause"),
                s,
                defaults={"min": 0, "max": 1},
                overrides=dashed("C"),
            ),
            8,
            8,
        ),
        (
            figure_panel(
                "Average handle time",
                "(INCALL + WRAP) seconds ÷ calls that reached an agent (INCALL entries), per "
                f"selected campaign and queue, {source}{convoso}: (talk + wrap) seconds ÷ the calls "
                "delivered to agents.",
                "s",
                "handle_time_seconds",
                campaign_names(sel(record_name("campaign", "agent_handle_time_seconds", s), CAMPAIGN)),
                s,
                overrides=dashed("C"),
            ),
            8,
            8,
        ),
        (activity_panel(s), 24, 8),
    ]


def activity_panel(s: Settings) -> Panel:
    """Each activity's share of the four, as the exporter saw it and as Convoso reports it."""
    mine = campaign_names(sel(record_name("campaign", "agents_status_seconds_share", s), CAMPAIGN))
    theirs = campaign_names(sel(record_name("campaign", "agent_seconds_share", s), CAMPAIGN))
    return timeseries(
        "Talk, wait, pause and wrap: the exporter's shares and Convoso's",
        "Each activity's share of talk + wait + pause + wrap time per selected campaign over the "
        f"last {s.agent_time_window}: solid, the exporter's reconstruction from agent statuses "
        "(INCALL as talk, READY as wait, PAUSED as pause, WRAP as wrap; other statuses left out); "
        "dashed, Convoso's own figures from its agent-performance report.",
        "percentunit",
        queries((mine, "{{campaign_name}} {{activity}}"), (theirs, "{{campaign_name}} {{activity}} (Convoso)")),
        defaults={"min": 0, "max": 1},
        overrides=dashed("B"),
    )


# ------------------------------------------------------------------ the exporter-health panel


def gap_panel(s: Settings) -> Panel:
    """How far the exporter's share of each activity is from Convoso's, per campaign."""
    mine, theirs = (sel(record_name("campaign", figure, s)) for figure in ("agents_status_seconds_share",
                                                                            "agent_seconds_share"))
    gap = f"{mine}\n- {theirs}"
    named = join(gap, ON_CAMPAIGN, sel("convoso_campaign_info"), ("campaign_name",))
    return timeseries(
        "Agent time by activity: the exporter's share minus Convoso's",
        "Per campaign and activity, over the last "
        f"{s.agent_time_window}: the exporter's share of talk + wait + pause + wrap time, "
        "reconstructed from agent statuses between polls (INCALL as talk, READY as wait, PAUSED as "
        "pause, WRAP as wrap), minus Convoso's own share from agent-performance. 0 is agreement; "
        "0.05 is five points more than Convoso counts. A steady gap in one activity means the "
        "statuses map differently on this account or the poll interval is too long to see short "
        "statuses (docs/metrics.md).",
        "percentunit",
        queries((named, "{{campaign_name}} {{activity}}")),
    )
