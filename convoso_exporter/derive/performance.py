"""A campaign's agent-performance day figures as counters that survive midnight.

Agent-performance search answers per day (the account's), so its figures for today fall
back to 0 when the day turns, like agent-monitor's "today" figures; they are counted by
the same machinery (`counters.advance`: increases add, a decrease at the day boundary is a
new day, any other is a glitch, counted and logged once per episode). Each answer's
figures are the sums over the campaign's agents (`PerformanceAnswer.sums`): live answered
(`human_answered`), machine answered (`am`), calls delivered to agents, and the seconds
of talk, wait, pause and wrap.

The close: the first poll of a new day asks for the day before once more (poll/calls.py)
and its figures are counted first, as of that day's end (EARLY + 1 s before its midnight,
so they can only add the minutes since the last poll, or be a dip, never a new day); then
today's, at the poll's time, start the new day as the machinery takes any reset. So no
day's last minutes are lost, whatever the phase of the poll against midnight.
"""

from __future__ import annotations

from convoso_exporter.api.endpoints.performance import READ, PerformanceAnswer
from convoso_exporter.derive.counters import EARLY, Calendar, DayCounters, Tally, count_figures

# The figures, in `performance.READ` order, by the names the glitches are counted under.
ACTIVITIES = ("talk", "wait", "pause", "wrap")
FIGURES = ("live_answered", "machine_answered", "agent_calls", *(f"agent_seconds_{a}" for a in ACTIVITIES))
assert len(FIGURES) == len(READ)


def new_counters() -> DayCounters:
    return DayCounters(tuple(Tally() for _ in FIGURES))


def count_performance(counters: DayCounters, answer: PerformanceAnswer, wall: float,
                      calendar: Calendar) -> tuple[DayCounters, list[tuple[str, str]]]:
    """The counters advanced by one poll's answer (the day before's close first, if it
    carries one); the glitches that started, (figure, kind)."""
    started: list[tuple[str, str]] = []
    if answer.closing is not None:
        end = calendar.end_of(answer.closing.day) - EARLY - 1
        counters, glitches = count_figures(counters, list(zip(FIGURES, answer.closing.sums())), end, calendar)
        started += glitches
    counters, glitches = count_figures(counters, list(zip(FIGURES, answer.sums())), wall, calendar)
    return counters, started + glitches
