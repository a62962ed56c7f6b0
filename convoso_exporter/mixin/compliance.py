"""The 30-day drop rate per campaign: the legal measure, on two bases, at a bounded query cost.

The US Telemarketing Sales Rule's safe harbour allows a campaign to abandon at most 3%
of its live-answered calls over each successive 30 days. Prometheus can only answer that
from the exporter's counters, on two bases (docs/alerts.md, "Two bases"):

- **answered**: dropped ÷ answered queue calls (`convoso_queue_dropped_total`,
  `_answered_total`: the campaign's own target, the figures today's alerts judge).
  Convoso does not document whether its `answered` counts live people only.
- **live-human**: dropped ÷ (live-human answered + dropped), the live-human calls the
  campaign's agents handled coming from agent-performance
  (`convoso_campaign_live_answered_total`): a dropped call was answered by a person who
  never reached an agent, so it is added back. This basis covers only the tiles where
  the exporter polled live-human figures (`LIVE_POLLED`), its drops included, so a
  campaign whose figures began a week ago is judged on that week, never on 30 days of
  drops over one week of calls.

A 30-day `increase()` at a 15 s scrape reads 172,800 samples per series at every
evaluation. So:

1. **Tiles.** A group evaluated every `tile_window` (15m) records each campaign's growth
   over that window. `now - value tile_window ago` is exact: consecutive tiles add up
   to the counter's growth to the call, with no extrapolation (`tile_expr` says what
   stands in where it cannot be taken).
   Tiles are kept per `job` and campaign target, not per exporter `instance`: an
   instance label changes with every restarted pod, which would cut the 30 days into
   pieces. They are summed over instances: the old and the new exporter of a restart
   count different minutes (docs/deploy.md: one exporter publishes a target at a time).
2. **Sums.** `sum_over_time` of the tiles over 30d (2,880 samples) and 1d, evaluated with
   the other rules: four 30-day sums per campaign (dropped, answered, live-human
   answered, dropped on the live-human basis), 11,520 samples per evaluation. Then per
   basis the ratio, the headroom (drops left before the 30-day rate reaches the line)
   and the last day's drops over the line (the pace).
3. **Alerts** (`judging.py`) in the same group, after the sums they read.

Names come from the campaign's `convoso_target_info` of the last hour (`topk` keeps one
per campaign when two exporters publish it), joined onto the sums, not the tiles, so a
renamed campaign keeps its 30 days. Prometheus must keep 31 days (docs/alerts.md).
"""

from __future__ import annotations

from typing import NamedTuple

from convoso_exporter.mixin.alerting import CAMPAIGN_INFO, Rule
from convoso_exporter.mixin.settings import Settings

# What the 30-day series are kept by (no `instance`: see the module notes). Arithmetic
# between them matches on these and keeps the left side's labels (`group_left`: with `on`
# alone PromQL would keep only these two).
ON_CAMPAIGN_TARGET = "on (job, target)"
KEEP_LEFT = f"{ON_CAMPAIGN_TARGET} group_left ()"
LAW_WINDOW, DAY = "30d", "1d"
RATE_30D = "convoso:campaign_drop_rate_30d:ratio"
HEADROOM = "convoso:campaign_drop_headroom_30d:calls"
EXCESS_1D = "convoso:campaign_drop_excess_1d:calls"
RATE_30D_LIVE = "convoso:campaign_drop_rate_30d_live:ratio"
HEADROOM_LIVE = "convoso:campaign_drop_headroom_30d_live:calls"
EXCESS_1D_LIVE = "convoso:campaign_drop_excess_1d_live:calls"
LIVE_COUNTER = "convoso_campaign_live_answered_total"
# The campaign targets whose live-human figures the exporter polls now: the counter, while
# the exporter says the endpoint is on (an exporter that kept a frozen counter while the
# endpoint is off must not count as 0 live calls beside real drops).
LIVE_POLLED = (
    f"(\n    {LIVE_COUNTER}\n    and on (job, instance)\n"
    '    convoso_exporter_endpoint_enabled{endpoint="performance"} == 1\n  )'
)


class Tile(NamedTuple):
    """What one tile record counts: its name's stem, the counter it is cut from, and the
    series it is kept to (None: wherever the counter is)."""

    stem: str
    counter: str
    kept_to: str | None = None


TILES = {
    "dropped": Tile("queue_dropped", "convoso_queue_dropped_total"),
    "answered": Tile("queue_answered", "convoso_queue_answered_total"),
    "live_answered": Tile("live_answered", LIVE_COUNTER, LIVE_POLLED),
    "dropped_live": Tile("queue_dropped_live", "convoso_queue_dropped_total", LIVE_POLLED),
}


class Basis(NamedTuple):
    """One way to judge the 30 days: its `basis` label, the tiles it divides (`dropped`,
    `answered`: TILES keys), whether the denominator adds the dropped calls back, and
    the records it makes."""

    name: str
    dropped: str
    answered: str
    adds_dropped: bool
    rate: str
    headroom: str
    excess: str


ANSWERED = Basis("answered", "dropped", "answered", False, RATE_30D, HEADROOM, EXCESS_1D)
LIVE = Basis("live", "dropped_live", "live_answered", True, RATE_30D_LIVE, HEADROOM_LIVE, EXCESS_1D_LIVE)


def tile(what: str, s: Settings) -> str:
    """Recording rule name of a campaign's `what` (a TILES key) in one tile."""
    return f"convoso:campaign_{TILES[what].stem}:increase{s.tile_window}"


def total(what: str, window: str) -> str:
    """Recording rule name of a campaign's `what` over `window` (30d, 1d), summed from tiles."""
    return f"convoso:campaign_{TILES[what].stem}:increase{window}"


def named(expr: str) -> str:
    """`expr` (by job and campaign target) with the campaign's name of the last hour."""
    info = f"topk by (job, target) (1, last_over_time({CAMPAIGN_INFO}[1h]))"
    return f"{expr}\n* {ON_CAMPAIGN_TARGET} group_left (campaign_name)\n{info}"


def tile_expr(counter: str, window: str, kept_to: str | None = None) -> str:
    """A campaign's counter growth over `window`, exact wherever it can be:

    - it has a value `window` ago and did not go down: the difference;
    - it went down (the exporter restarted under the same instance label): `increase()`,
      which adds what was counted before and after the reset;
    - it has no value that old (a new exporter instance, a new campaign, back from being
      stale): its growth since its first sample in the window, without `increase()`'s
      extrapolation (the exporter's counters start at 0 at their first figure).

    With `kept_to`, only the targets (of each instance) that selector has now count.
    """
    where = f"  and on (job, instance, target)\n  {kept_to}\n" if kept_to else ""
    return (
        "sum by (job, target, campaign_id) (\n"
        "  (\n"
        f"    ({counter} - {counter} offset {window}) >= 0\n"
        f"    or\n    increase({counter}[{window}]) and {counter} offset {window}\n"
        f"    or\n    {counter} - min_over_time({counter}[{window}])\n"
        "  )\n"
        f"  * on (job, instance, target) group_left (campaign_id) {CAMPAIGN_INFO}\n{where})"
    )


def tile_rules(s: Settings) -> list[Rule]:
    """The tiles, in a group of their own evaluated every tile_window."""
    return [
        {"record": tile(what, s), "expr": tile_expr(counter, s.tile_window, kept_to)}
        for what, (_, counter, kept_to) in TILES.items()
    ]


def line_per_live_call(s: Settings) -> str:
    """Drops the line allows per live-human call: x drops over L live calls stay within the
    line c while x / (L + x) <= c, that is x <= c / (1 - c) * L."""
    return f"{s.drop_rate_30d_critical:g} / {1 - s.drop_rate_30d_critical:g}"


def basis_rules(basis: Basis, s: Settings) -> list[Rule]:
    """One basis's ratio, headroom and pace, from the sums."""
    dropped, answered = total(basis.dropped, LAW_WINDOW), total(basis.answered, LAW_WINDOW)
    day_dropped, day_answered = total(basis.dropped, DAY), total(basis.answered, DAY)
    denominator = f"({answered} + {KEEP_LEFT} {dropped})" if basis.adds_dropped else answered
    # Drops the line allows per call of the denominator (which grows with each drop on the live basis).
    per_call = line_per_live_call(s) if basis.adds_dropped else f"{s.drop_rate_30d_critical:g}"
    return [
        # Nothing answered gives no sample rather than +Inf or NaN.
        {"record": basis.rate, "expr": f"{dropped}\n/ {KEEP_LEFT}\n({denominator} > 0)"},
        # Negative: that many drops over the line already.
        {"record": basis.headroom, "expr": f"{per_call} * {answered}\n- {KEEP_LEFT}\n{dropped}"},
        # Negative: under the line over the last 24 hours.
        {"record": basis.excess, "expr": f"{day_dropped}\n- {KEEP_LEFT}\n{per_call} * {day_answered}"},
    ]


def sum_rules(s: Settings) -> list[Rule]:
    """30-day and 1-day sums of the tiles, then each basis's ratio, headroom and pace."""
    sums = [
        {"record": total(what, window), "expr": named(f"sum_over_time({tile(what, s)}[{window}])")}
        for window in (LAW_WINDOW, DAY)
        for what in TILES
    ]
    return sums + basis_rules(ANSWERED, s) + basis_rules(LIVE, s)
