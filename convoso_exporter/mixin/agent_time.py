"""Where agents' time goes: occupancy, pause share and handle time per campaign and per
queue, recorded from the exporter's agent-time counters, and the overview's panels that
draw them.

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
"""

from __future__ import annotations

from convoso_exporter.mixin.alerting import Rule
from convoso_exporter.mixin.layout import Line
from convoso_exporter.mixin.panels import Panel, queries, timeseries
from convoso_exporter.mixin.promql import CAMPAIGN, campaign_names, queue_names, scoped, sel
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


# ------------------------------------------------------------------ the overview's panels


def recorded(level: str, figure: str, s: Settings) -> str:
    """A figure's recording rule on the dashboard: filtered on the scope variables, named."""
    name = record_name(level, figure, s)
    if level == "campaign":
        return campaign_names(sel(name, CAMPAIGN))
    return queue_names(scoped(name))


def figure_panel(title: str, description: str, unit: str, figure: str, s: Settings, **extra) -> Panel:
    """One figure per selected campaign and per selected queue, over time."""
    return timeseries(
        title,
        description,
        unit,
        queries(
            (recorded("campaign", figure, s), "{{campaign_name}}"),
            (recorded("queue", figure, s), "queue {{queue_name}}"),
        ),
        **extra,
    )


def agent_time_row(s: Settings) -> Line:
    """Occupancy, pause share and handle time: where the selected agents' time goes."""
    window = s.agent_time_window
    source = (
        f"over the last {window}, from the exporter's agent-time counters (the account's answer, each "
        "agent once; how exact they are depends on the poll interval: docs/metrics.md)."
    )
    return [
        (
            figure_panel(
                "Occupancy",
                "Time on calls and in wrap-up (INCALL + WRAP) ÷ logged-in time (every status but "
                f"LOGGED_OUT, pauses included), per selected campaign and queue, {source}",
                "percentunit",
                "occupancy",
                s,
                defaults={"min": 0, "max": 1},
            ),
            8,
            8,
        ),
        (
            figure_panel(
                "Pause share",
                f"PAUSED time ÷ logged-in time, per selected campaign and queue, {source}",
                "percentunit",
                "pause_share",
                s,
                defaults={"min": 0, "max": 1},
            ),
            8,
            8,
        ),
        (
            figure_panel(
                "Average handle time",
                "(INCALL + WRAP) seconds ÷ calls that reached an agent (INCALL entries), per "
                f"selected campaign and queue, {source}",
                "s",
                "handle_time_seconds",
                s,
            ),
            8,
            8,
        ),
    ]
