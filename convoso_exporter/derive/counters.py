"""Counters that survive midnight, accumulated from the API's "today" figures.

The API reports calls, answered and dropped *today*; they fall back to zero at the
account's local midnight. Prometheus documents `increase()` and `rate()` for counters
only, and over a resetting gauge any dip (a partial or glitched answer) becomes a spike
the size of the whole day. So the exporter keeps true counters (`*_total`):

- an increase adds the difference;
- a decrease at the account's day boundary is a new day: the new value adds. "At the
  boundary" allows for the two clocks disagreeing: the decrease may come up to
  EARLY seconds before the exporter's local midnight, or after it, as long as the value
  before it was seen no later than LATE seconds after that midnight; once the exporter is
  LATE past a midnight it has not polled across, the new day is certain and the first
  value seen adds whatever it is (within LATE, a figure that did not go down is taken
  as not reset yet, since it may well not be). One reset per midnight. A reset is confirmed by the
  next figure: if that one is back at the level before the reset, the "reset" was a
  glitch that happened near midnight, and it is undone;
- any other decrease is a glitch: it adds nothing and the counter keeps counting from
  the value before the dip, so the recovery adds nothing either. A dip still there after
  PATIENCE polls is taken as the new level (rebased, nothing added for the dip), so a
  lasting correction, or a day boundary in another time zone than configured, costs the
  dip and not the rest of the day. Both are counted by kind and logged once per episode.

Restarting the exporter starts every counter at 0 from the first value seen (which is
not added: it was counted before the restart, or before the exporter existed), so
Prometheus sees an ordinary counter reset; what happened while the exporter was down is
not counted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from convoso_exporter.api.model import SearchResult

EARLY = 300.0  # the account may reset up to 5 minutes before the exporter's midnight
LATE = 900.0  # ... or up to 15 minutes after it
PATIENCE = 3  # polls a dip may last before it is taken as the new level

# Glitch kinds (the `kind` label of convoso_exporter_day_figure_glitches_total).
DECREASE, REBASED = "decrease", "rebased"
GLITCH_KINDS = (DECREASE, REBASED)

# The day figures and the counters they feed: (counter name, reads the figure).
FIGURES: tuple[tuple[str, str], ...] = (
    ("convoso_queue_calls_total", "queue_calls_today"),
    ("convoso_queue_answered_total", "queue_answered"),
    ("convoso_queue_dropped_total", "queue_dropped"),
    ("convoso_calls_total", "call_data.total_calls"),
    ("convoso_calls_answered_total", "call_data.answered"),
    ("convoso_calls_dropped_total", "call_data.dropped"),
)


class Calendar:
    """The account's days: local midnights in its time zone (DST included)."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.zone = ZoneInfo(timezone)

    def midnight_before(self, wall: float) -> float:
        """The last local midnight at or before `wall` (Unix seconds)."""
        local = datetime.datetime.fromtimestamp(wall, self.zone)
        start = datetime.datetime.combine(local.date(), datetime.time(), tzinfo=self.zone)
        return start.timestamp()

    def midnight_after(self, wall: float) -> float:
        """The first local midnight after `wall`."""
        return self._end(datetime.datetime.fromtimestamp(wall, self.zone).date())

    def day(self, wall: float) -> str:
        """The account's day at `wall`, YYYY-MM-DD."""
        return datetime.datetime.fromtimestamp(wall, self.zone).date().isoformat()

    def end_of(self, day: str) -> float:
        """The local midnight that ends `day` (YYYY-MM-DD)."""
        return self._end(datetime.date.fromisoformat(day))

    def _end(self, date: datetime.date) -> float:
        """The local midnight that ends `date`: the next day's start, whatever DST does."""
        tomorrow = date + datetime.timedelta(days=1)
        return datetime.datetime.combine(tomorrow, datetime.time(), tzinfo=self.zone).timestamp()


@dataclass(frozen=True, slots=True)
class Tally:
    """One counter: its total and the day figure it counts from."""

    total: int = 0
    baseline: int | None = None  # the figure counted up to (None: nothing seen yet)
    seen_at: float | None = None  # wall time of the last figure seen
    created: float | None = None  # wall time the counter started (OpenMetrics _created)
    reset_for: float | None = None  # the midnight whose reset was last taken
    dips: int = 0  # consecutive polls below the baseline (a glitch episode)
    # (total, baseline, reset_for) before the last reset, until the next figure confirms it.
    unconfirmed: tuple[int, int, float | None] | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """What one new figure did to a tally: the new tally and the glitch it started, if any."""

    tally: Tally
    glitch: str | None = None


def advance(tally: Tally, value: int | None, wall: float, calendar: Calendar) -> Step:
    """Count the day figure `value` seen at wall-clock `wall`."""
    if value is None:
        return Step(tally)
    if tally.baseline is None:
        return Step(Tally(baseline=value, seen_at=wall, created=wall))
    if tally.unconfirmed is not None:
        total, baseline, reset_for = tally.unconfirmed
        if value >= baseline and tally.reset_for is not None and wall < tally.reset_for + 2 * LATE:
            # Back at the level before the "reset", soon after it: it was a dip.
            undone = replace(tally, total=total + value - baseline, baseline=value, seen_at=wall,
                             reset_for=reset_for, unconfirmed=None)
            return Step(undone, DECREASE)
        tally = replace(tally, unconfirmed=None)
    midnight, certain = _new_day(tally, value, wall, calendar)
    if midnight is not None:
        # A reset seen near midnight is confirmed by the next figure; one long past it is certain.
        before = None if certain else (tally.total, tally.baseline, tally.reset_for)
        return Step(replace(tally, total=tally.total + value, baseline=value, seen_at=wall, reset_for=midnight,
                            dips=0, unconfirmed=before))
    if value >= tally.baseline:
        return Step(replace(tally, total=tally.total + value - tally.baseline, baseline=value, seen_at=wall, dips=0))
    if tally.dips + 1 >= PATIENCE:
        return Step(replace(tally, baseline=value, seen_at=wall, dips=0), REBASED)
    # A dip: keep counting from the value before it (so its recovery adds nothing).
    return Step(replace(tally, seen_at=wall, dips=tally.dips + 1), DECREASE if tally.dips == 0 else None)


def _new_day(tally: Tally, value: int, wall: float, calendar: Calendar) -> tuple[float | None, bool]:
    """(the midnight this figure starts a new day after, whether that is certain), or (None, False)."""
    assert tally.baseline is not None and tally.seen_at is not None
    midnight = calendar.midnight_before(wall + EARLY)
    if midnight == tally.reset_for:
        return None, False  # this midnight's reset is already counted
    if tally.seen_at < midnight and wall >= midnight + LATE:
        return midnight, True  # polled across it long ago: a new day, whatever the value
    if value < tally.baseline and tally.seen_at <= midnight + LATE and wall >= midnight - EARLY:
        return midnight, False
    return None, False


@dataclass(frozen=True, slots=True)
class DayCounters:
    """A target's counters, and its glitches by (counter, kind)."""

    tallies: tuple[Tally, ...] = field(default_factory=lambda: tuple(Tally() for _ in FIGURES))
    glitches: tuple[tuple[str, str, int], ...] = ()  # (counter, kind, episodes)

    def glitch_count(self, counter: str, kind: str) -> int:
        return next((n for name, k, n in self.glitches if (name, k) == (counter, kind)), 0)


def figure(result: SearchResult, path: str) -> int | None:
    """A day figure by its path in the answer (`queue_dropped`, `call_data.answered`)."""
    if path.startswith("call_data."):
        return getattr(result.call_data, path[10:]) if result.call_data is not None else None
    return getattr(result, path)


def count_day(counters: DayCounters, result: SearchResult, wall: float, calendar: Calendar) -> tuple[DayCounters, list[tuple[str, str]]]:
    """Every counter advanced by one answer; also the glitches that started (counter, kind)."""
    return count_figures(counters, [(name, figure(result, path)) for name, path in FIGURES], wall, calendar)


def count_figures(counters: DayCounters, figures: list[tuple[str, int | None]], wall: float,
                  calendar: Calendar) -> tuple[DayCounters, list[tuple[str, str]]]:
    """Each counter advanced by its day figure ((counter name, value), in the order of
    `counters.tallies`); also the glitches that started (counter, kind)."""
    tallies = []
    started: list[tuple[str, str]] = []
    for (name, value), tally in zip(figures, counters.tallies):
        step = advance(tally, value, wall, calendar)
        tallies.append(step.tally)
        if step.glitch is not None:
            started.append((name, step.glitch))
    glitches = counters.glitches
    for name, kind in started:
        glitches = _bump(glitches, name, kind)
    return DayCounters(tuple(tallies), glitches), started


def _bump(glitches: tuple[tuple[str, str, int], ...], name: str, kind: str) -> tuple[tuple[str, str, int], ...]:
    counts = {(n, k): c for n, k, c in glitches}
    counts[(name, kind)] = counts.get((name, kind), 0) + 1
    return tuple((n, k, c) for (n, k), c in sorted(counts.items()))
