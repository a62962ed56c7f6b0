"""A simulated month and a half of one contact center, as Prometheus would have stored it.

The simulator's contact center runs on a fake clock in a real time zone; every
`POLL_EVERY` simulated seconds the exporter's own path polls each campaign target:
the simulator's live-style answer (`Renderer`, the wire bytes) ▶ `json.loads` ▶
`parse_search` ▶ `Deriver.advance` ▶ `TargetState.succeeded` ▶ `target_families`. The
families the rules read are written as OpenMetrics text with the poll's timestamp, as if
Prometheus had scraped the exporter right after each poll, and the ground truth
(`ContactCenter.truth()`) is written down at the same moments.

The poll grid is local midnight − 1 s + k × POLL_EVERY, so the last poll of every local
day sees the day's final figures: then each day's counts can be held to the truth
exactly. (A real exporter, at a random phase, misses the calls of the last part of a
poll interval before midnight: about POLL_EVERY / 2 of the day's calls, dropped and
answered alike.) The campaign targets come from `Discovery` on a first account answer.

With `Month.performance` the exporter also polls each campaign's agent-performance search
as it does (poll/endpoints.py): the simulator's answer on the wire ▶ `read_performance`
(the day before closed first at the first poll of a day, `closing_day`) ▶ `Deriver` ▶
`target_families`, whose `PERFORMANCE_FAMILIES` (the live-human basis, agent seconds) are
written beside the others, and `Run.truth_performance` keeps the simulator's
`truth()["performance"]` (per local day and campaign: machine, live_handled, seconds).

Faults a month can carry: a surge (the drop ratio for some days), content glitches
(one answer's day figures halved, as the simulator's `glitch` fault does on the wire;
the wire itself is tested elsewhere and would double the run's time), and an exporter restart
that comes back under another `instance` (a rescheduled pod): fresh states and counters,
the calls of the poll interval it was away lost, as docs/metrics.md says.
"""

from __future__ import annotations

import bisect
import datetime
import json
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field, replace

from convoso_exporter.api.decode import Body
from convoso_exporter.api.parse import parse_search
from convoso_exporter.api.read import read_performance
from convoso_exporter.config.schema import ACCOUNT, Config, DiscoverySettings, PerformanceSettings, Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.expose.exposition import escape_label_value, format_value
from convoso_exporter.expose.families import FamilyOptions, target_families
from convoso_exporter.poll.calls import closing_day
from convoso_exporter.poll.discovery import Discovery
from convoso_exporter.poll.endpoints import endpoint_targets
from convoso_exporter.poll.state import TargetState
from convoso_exporter.simulator import performance as simulated_performance
from convoso_exporter.simulator.center import ContactCenter, FakeClock

TIMEZONE = "America/New_York"  # DST ends on 1 November 2026: one 25-hour day inside
ZONE = zoneinfo.ZoneInfo(TIMEZONE)
START = datetime.datetime(2026, 10, 5, 9, 0, tzinfo=ZONE).timestamp()
DAYS = 45
POLL_EVERY = 300  # seconds: within Prometheus's 5m lookback, so `offset` always finds a sample
AGENTS, CAMPAIGNS = 30, 3
# What the rules read, as the exporter publishes it.
FAMILIES = (
    "convoso_queue_answered_total",
    "convoso_queue_dropped_total",
    "convoso_queue_answered_today",
    "convoso_queue_dropped_today",
    "convoso_target_info",
)
# With Month.performance: a campaign's agent-performance figures, as the exporter publishes them.
PERFORMANCE_FAMILIES = (
    "convoso_exporter_endpoint_enabled",  # the live-human tiles count only while it says 1 (mixin LIVE_POLLED)
    "convoso_campaign_live_answered_total",
    "convoso_campaign_machine_answered_total",
    "convoso_campaign_agent_calls_total",
    "convoso_campaign_agent_seconds_total",
)
OPTIONS = FamilyOptions(agent_metrics=False)
DAY_FIGURES = ("queue_calls_today", "queue_answered", "queue_dropped")


def local(day: int, hour: int, minute: int, second: int = 0) -> float:
    """Unix time of `hour:minute:second` local time, `day` days after START's date."""
    date = datetime.date(2026, 10, 5) + datetime.timedelta(days=day)
    return datetime.datetime(date.year, date.month, date.day, hour, minute, second, tzinfo=ZONE).timestamp()


@dataclass(frozen=True)
class Month:
    """One simulated period: its job label, drop ratio, and the faults it carries."""

    job: str
    drop_ratio: float = 0.02
    surge: tuple[float, float, float] | None = None  # (from, until, drop ratio), Unix times
    glitches: tuple[tuple[float, int], ...] = ()  # (poll time, campaign index): that answer halved
    restart: float | None = None  # the exporter restarts (new instance) just before this poll
    seed: int = 11
    performance: bool = False  # also poll each campaign's agent-performance search (PERFORMANCE_FAMILIES)


@dataclass
class Run:
    """What a month produced: OpenMetrics sample lines per family, and the truth."""

    month: Month
    polls: list[float] = field(default_factory=list)
    campaigns: dict[str, str] = field(default_factory=dict)  # id -> name
    lines: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # campaign id -> [(poll time, answered, dropped)], cumulative since the first poll
    truth: dict[str, list[tuple[float, int, int]]] = field(default_factory=lambda: defaultdict(list))
    truth_days: dict[str, dict] = field(default_factory=dict)  # truth()["days"] at the end
    first_figures: dict[str, dict[str, int]] = field(default_factory=dict)  # at the first poll
    lost: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # restart: id -> (day, answered, dropped)
    # Every exporter's glitch counts (as it ended): target -> {(counter, kind): episodes}
    glitches: dict[str, dict[tuple[str, str], int]] = field(default_factory=lambda: defaultdict(dict))
    instances: list[str] = field(default_factory=list)
    truth_performance: dict[str, dict] = field(default_factory=dict)  # truth()["performance"] at the end
    # With Month.performance: campaign id -> [(poll time, live answers handled)], cumulative
    # since the first poll, as `truth` holds answered and dropped.
    truth_live: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))


def poll_times() -> list[float]:
    """The grid: local midnight − 1 s + k × POLL_EVERY, from START, for DAYS days."""
    first = local(0, 0, 0) - 1
    while first <= START:
        first += POLL_EVERY
    return [first + k * POLL_EVERY for k in range(DAYS * 86400 // POLL_EVERY)]


def sample_lines(families, labels: str, at: float) -> list[tuple[str, str]]:
    """(family name, OpenMetrics sample line) for the wanted families, stamped `at`."""
    found = []
    for family in families:
        wanted = (*FAMILIES, *PERFORMANCE_FAMILIES)
        if family.name not in wanted and f"{family.name}_total" not in wanted:
            continue
        name = f"{family.name}_total" if family.type == "counter" else family.name
        for values, value in family.metrics:
            pairs = "".join(
                f',{label}="{escape_label_value(text)}"' for label, text in zip(family.labelnames, values) if text
            )
            found.append((name, f"{name}{{{labels}{pairs}}} {format_value(value)} {at:.0f}"))
    return found


class Exporter:
    """The exporter's poll path for the campaign targets, as one process would run it."""

    def __init__(self, center: ContactCenter, instance: str, at: float, performance: bool = False) -> None:
        self.center, self.instance = center, instance
        self.deriver = Deriver(TIMEZONE)
        account = self.answer(Target("account", kind=ACCOUNT), False)
        found = Discovery(DiscoverySettings(queues=False, interval=POLL_EVERY)).update(account, at)
        targets = list(found.targets)
        if performance:  # the campaigns' agent-performance targets, as the exporter plans them
            config = Config(agent_metrics=False, performance=PerformanceSettings(interval=POLL_EVERY))
            targets += [t for t in endpoint_targets(config, found.targets, {"performance": True})]
        self.states = {target.name: TargetState(target) for target in targets}
        self.performance_on = performance

    def performance(self, state: TargetState, at: float):
        """A campaign's agent-performance answer for the account's day at `at`, read from
        the simulator's live-style bytes, with the day before closed at a new day's first poll."""
        today = self.deriver.calendar.day(at)

        def day_of(day: str):
            params = {"date_start": day, "date_end": day, "campaign_ids": state.target.campaign_id}
            wire = json.dumps(simulated_performance.search(self.center, params, "live")).encode()
            return read_performance(Body(wire, "application/json"), day)

        closing = closing_day(state, today)
        answer = day_of(today)
        return answer if closing is None else replace(answer, closing=day_of(closing))

    def answer(self, target: Target, glitch: bool):
        """The target's answer, parsed: the simulator's documented dict (a glitch halves its
        day figures, as the simulator's `glitch` content fault does on the wire)."""
        doc = self.center.search(**target.filters())
        if glitch:
            doc["call_data"] = {name: value // 2 for name, value in doc["call_data"].items()}
            doc.update((name, doc[name] // 2) for name in DAY_FIGURES)
        return parse_search(doc)

    def count_glitches(self, into: dict[str, dict[tuple[str, str], int]]) -> None:
        """Add this exporter's glitch episodes, by target, counter and kind, to `into`."""
        for name, state in self.states.items():
            for counter, kind, episodes in state.derived.counters.glitches if state.derived else ():
                into[name][(counter, kind)] = into[name].get((counter, kind), 0) + episodes

    def poll(self, at: float, job: str, faulty: set[str]) -> list[tuple[str, str]]:
        """Every target polled at `at` (the names in `faulty` get a glitched answer); their samples."""
        labels = f'job="{job}",instance="{self.instance}"'
        lines = []
        if self.performance_on:  # as the exporter's own family says it, once per exporter
            name = "convoso_exporter_endpoint_enabled"
            lines.append((name, f'{name}{{{labels},endpoint="performance"}} 1 {at:.0f}'))
        for name, state in self.states.items():
            if state.target.kind == "performance":
                result = self.performance(state, at)
            else:
                result = self.answer(state.target, name in faulty)
            derived = self.deriver.advance(state.target, state.derived, result, at)
            state = self.states[name] = state.succeeded(result, wall=at, duration=0.05, derived=derived)
            lines += sample_lines(target_families(state, at, OPTIONS), labels, at)
        return lines


def simulate(month: Month) -> Run:
    """Run the month: the center on its fake clock, polled on the grid, truth alongside."""
    clock = FakeClock(0.0)
    center = ContactCenter(
        agents=AGENTS, campaigns=CAMPAIGNS, queues=CAMPAIGNS, seed=month.seed, clock=clock,
        start_wall=START, timezone=TIMEZONE, drop_ratio=month.drop_ratio,
    )
    run = Run(month, poll_times())
    run.campaigns = {c["campaign_id"]: c["campaign_name"] for c in center.campaigns()}
    ids = sorted(run.campaigns)
    glitches = defaultdict(set)
    for at, index in month.glitches:
        glitches[at].add(f"campaign:{ids[index]}")
    closed: dict[str, list[int]] = {cid: [0, 0, 0] for cid in ids}  # answered, dropped, live of closed days
    exporter: Exporter | None = None
    live_base: dict[str, int] = {}
    surging, last_day = False, ""
    for at in run.polls:
        clock.now = at - START
        if month.surge and surging != (month.surge[0] <= at < month.surge[1]):
            surging = not surging
            center.set_drop_ratio(month.surge[2] if surging else None)
        truth = center.truth()
        today = truth["days"][truth["today"]]["campaigns"]
        if run.truth and truth["today"] != last_day:
            for cid in ids:  # the day that just closed
                day = truth["days"][last_day]["campaigns"][cid]
                closed[cid][0] += day["answered"]
                closed[cid][1] += day["dropped"]
                if month.performance:
                    closed[cid][2] += truth["performance"][last_day]["campaigns"][cid]["live_handled"]
        last_day = truth["today"]
        if month.performance:
            for cid in ids:
                live = closed[cid][2] + truth["performance"][last_day]["campaigns"][cid]["live_handled"]
                base = live_base.setdefault(cid, live)  # what the first poll saw: before the exporter
                run.truth_live[cid].append((at, live - base))
        cumulative = {
            cid: (closed[cid][0] + today[cid]["answered"], closed[cid][1] + today[cid]["dropped"]) for cid in ids
        }
        if not run.truth:
            run.first_figures = {cid: {"answered": a, "dropped": d} for cid, (a, d) in cumulative.items()}
        for cid in ids:
            answered, dropped = cumulative[cid]
            base = run.first_figures[cid]
            run.truth[cid].append((at, answered - base["answered"], dropped - base["dropped"]))
        if exporter is None or at == month.restart:
            if exporter is not None:  # the calls since its last poll are nobody's
                for cid in ids:
                    (_, a0, d0), (_, a1, d1) = run.truth[cid][-2:]
                    run.lost[cid] = (truth["today"], a1 - a0, d1 - d0)
            if exporter is not None:
                exporter.count_glitches(run.glitches)
            exporter = Exporter(center, f"exporter-{len(run.instances)}:10717", at, month.performance)
            run.instances.append(exporter.instance)
        for name, line in exporter.poll(at, month.job, glitches.get(at, set())):
            run.lines[name].append(line)
    run.truth_days = center.truth()["days"]
    run.truth_performance = center.truth()["performance"] if month.performance else {}
    assert exporter is not None
    exporter.count_glitches(run.glitches)
    return run


def openmetrics(runs: list[Run]) -> str:
    """Every run's samples as one OpenMetrics document: one block per family, `# EOF`."""
    kinds = {"convoso_target_info": "gauge"}
    parts = []
    for name in (*FAMILIES, *(f for f in PERFORMANCE_FAMILIES if any(run.lines[f] for run in runs))):
        family = name.removesuffix("_total")
        kind = "counter" if name.endswith("_total") else kinds.get(name, "gauge")
        parts.append(f"# TYPE {family} {kind}")
        for run in runs:
            parts.extend(run.lines[name])
    parts.append("# EOF")
    return "\n".join(parts) + "\n"


def truth_at(run: Run, campaign: str, at: float) -> tuple[int, int]:
    """(answered, dropped) since the first poll, as of the last poll at or before `at`."""
    points = run.truth[campaign]
    low, high = 0, len(points)
    while low < high:  # the first point after `at`
        middle = (low + high) // 2
        if points[middle][0] <= at:
            low = middle + 1
        else:
            high = middle
    if low == 0:
        return 0, 0
    return points[low - 1][1], points[low - 1][2]


def live_at(run: Run, campaign: str, at: float) -> int:
    """Live answers handled since the first poll, as of the last poll at or before `at`."""
    points = run.truth_live[campaign]
    index = bisect.bisect_right(points, (at, float("inf")))
    return points[index - 1][1] if index else 0


def truth_30d(run: Run, campaign: str, at: float) -> tuple[int, int]:
    """(answered, dropped) in the 30 days up to the last poll at or before `at` (the
    campaign's life so far, from the first poll, while that is shorter)."""
    answered, dropped = truth_at(run, campaign, at)
    before_answered, before_dropped = truth_at(run, campaign, at - 30 * 86400)
    return answered - before_answered, dropped - before_dropped
