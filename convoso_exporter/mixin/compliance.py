"""The 30-day drop rate per campaign: the legal measure, at a bounded query cost.

The US Telemarketing Sales Rule's safe harbour allows a campaign to abandon at most 3%
of its live-answered calls over each successive 30 days. Prometheus can only answer that
from the exporter's counters (`convoso_queue_dropped_total`, `_answered_total`: the
campaign's own target, the figures today's alerts judge), and a 30-day `increase()`
at a 15 s scrape reads 172,800 samples per series at every evaluation. So:

1. **Tiles.** A group evaluated every `tile_window` (15m) records each campaign's growth
   over that window. `now - value tile_window ago` is exact: consecutive tiles add up
   to the counter's growth to the call, with no extrapolation (`tile_expr` says what
   stands in where it cannot be taken).
   Tiles are kept per `job` and campaign target, not per exporter `instance`: an
   instance label changes with every restarted pod, which would cut the 30 days into
   pieces. They are summed over instances: the old and the new exporter of a restart
   count different minutes (docs/deploy.md: one exporter publishes a target at a time).
2. **Sums.** `sum_over_time` of the tiles over 30d (2,880 samples) and 1d, evaluated with
   the other rules, then the ratio, the headroom (drops left before the 30-day rate
   reaches the line) and the last day's drops over the line (the pace).
3. **Alerts** in the same group, after the sums they read: over 3% for 30 days
   (critical); over the warning level, or at the last day's pace crossing within
   `drop_pace_days` days (warning).

Names come from the campaign's `convoso_target_info` of the last hour (`topk` keeps one
per campaign when two exporters publish it), joined onto the sums, not the tiles, so a
renamed campaign keeps its 30 days. Prometheus must keep 31 days (docs/alerts.md).
"""

from __future__ import annotations

from convoso_exporter.mixin.alerting import CAMPAIGN_INFO, CAMPAIGN_NAME, Rule, alert
from convoso_exporter.mixin.settings import Settings, percent

# What the 30-day series are kept by (no `instance`: see the module notes). Arithmetic
# between them matches on these and keeps the left side's labels (`group_left`: with `on`
# alone PromQL would keep only these two).
ON_CAMPAIGN_TARGET = "on (job, target)"
KEEP_LEFT = f"{ON_CAMPAIGN_TARGET} group_left ()"
LAW_WINDOW, DAY = "30d", "1d"
RATE_30D = "convoso:campaign_drop_rate_30d:ratio"
HEADROOM = "convoso:campaign_drop_headroom_30d:calls"
EXCESS_1D = "convoso:campaign_drop_excess_1d:calls"
# The counters the tiles are cut from, by what they count.
COUNTERS = {"dropped": "convoso_queue_dropped_total", "answered": "convoso_queue_answered_total"}
CAMPAIGN_IN = "{{ with $labels.job }} in job {{ . }}{{ end }}"


def tile(what: str, s: Settings) -> str:
    """Recording rule name of a campaign's `what` (dropped, answered) in one tile."""
    return f"convoso:campaign_queue_{what}:increase{s.tile_window}"


def total(what: str, window: str) -> str:
    """Recording rule name of a campaign's `what` over `window` (30d, 1d), summed from tiles."""
    return f"convoso:campaign_queue_{what}:increase{window}"


def named(expr: str) -> str:
    """`expr` (by job and campaign target) with the campaign's name of the last hour."""
    info = f"topk by (job, target) (1, last_over_time({CAMPAIGN_INFO}[1h]))"
    return f"{expr}\n* {ON_CAMPAIGN_TARGET} group_left (campaign_name)\n{info}"


def tile_expr(counter: str, window: str) -> str:
    """A campaign's counter growth over `window`, exact wherever it can be:

    - it has a value `window` ago and did not go down: the difference;
    - it went down (the exporter restarted under the same instance label): `increase()`,
      which adds what was counted before and after the reset;
    - it has no value that old (a new exporter instance, a new campaign, back from being
      stale): its growth since its first sample in the window, without `increase()`'s
      extrapolation (the exporter's counters start at 0 at their first figure).
    """
    return (
        "sum by (job, target, campaign_id) (\n"
        "  (\n"
        f"    ({counter} - {counter} offset {window}) >= 0\n"
        f"    or\n    increase({counter}[{window}]) and {counter} offset {window}\n"
        f"    or\n    {counter} - min_over_time({counter}[{window}])\n"
        "  )\n"
        f"  * on (job, instance, target) group_left (campaign_id) {CAMPAIGN_INFO}\n)"
    )


def tile_rules(s: Settings) -> list[Rule]:
    """The tiles, in a group of their own evaluated every tile_window."""
    return [{"record": tile(what, s), "expr": tile_expr(counter, s.tile_window)} for what, counter in COUNTERS.items()]


def sum_rules(s: Settings) -> list[Rule]:
    """30-day and 1-day sums of the tiles, the ratio, the headroom and the last day's pace."""
    line = f"{s.drop_rate_30d_critical:g}"
    sums = [
        {"record": total(what, window), "expr": named(f"sum_over_time({tile(what, s)}[{window}])")}
        for window in (LAW_WINDOW, DAY)
        for what in COUNTERS
    ]
    dropped, answered = total("dropped", LAW_WINDOW), total("answered", LAW_WINDOW)
    return sums + [
        # Nothing answered gives no sample rather than +Inf or NaN.
        {"record": RATE_30D, "expr": f"{dropped}\n/ {KEEP_LEFT}\n({answered} > 0)"},
        # Negative: that many drops over the line already.
        {"record": HEADROOM, "expr": f"{line} * {answered}\n- {KEEP_LEFT}\n{dropped}"},
        # Negative: under the line over the last 24 hours.
        {
            "record": EXCESS_1D,
            "expr": f"{total('dropped', DAY)}\n- {KEEP_LEFT}\n{line} * {total('answered', DAY)}",
        },
    ]


def alerts(s: Settings) -> list[Rule]:
    """Over the line for 30 days (critical); near it, or heading there at the last day's pace (warning)."""
    guard = f"and {ON_CAMPAIGN_TARGET}\n{total('answered', LAW_WINDOW)} >= {s.min_answered_30d}"
    critical, warning = percent(s.drop_rate_30d_critical), percent(s.drop_rate_30d_warning)
    who = (
        f"{CAMPAIGN_NAME}{CAMPAIGN_IN} has dropped {{{{ $value | humanizePercentage }}}} "
        "of the calls answered in the last 30 days"
    )
    pace = (
        f"{RATE_30D}\nand {ON_CAMPAIGN_TARGET}\n"
        f"{EXCESS_1D} * {s.drop_pace_days} > {ON_CAMPAIGN_TARGET} {HEADROOM}"
    )
    return [
        alert(
            s,
            "ConvosoDropRate30dCritical",
            f"{RATE_30D} > {s.drop_rate_30d_critical:g}\n{guard}",
            s.drop_rate_30d_for,
            "critical",
            f"A campaign has dropped over {critical} of its answered calls in the last 30 days.",
            f"{who} (or since the rules were deployed, if less), over the limit of {critical}.",
        ),
        alert(
            s,
            "ConvosoDropRate30dWarning",
            f"(\n{RATE_30D} > {s.drop_rate_30d_warning:g}\nor {ON_CAMPAIGN_TARGET}\n{pace}\n)\n{guard}",
            s.drop_rate_30d_for,
            "warning",
            f"A campaign's 30-day drop rate is close to {critical}, or heading there.",
            f"{who}: over the warning level of {warning}, or the last 24 hours' drops over "
            f"{critical} would use up what the 30 days have left within {s.drop_pace_days} days.",
        ),
    ]


def compliance_rules(s: Settings) -> list[Rule]:
    """The sums first, then the alerts that read them (a group evaluates in order)."""
    return sum_rules(s) + alerts(s)
