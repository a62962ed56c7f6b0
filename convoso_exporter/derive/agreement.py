"""The API's own agent counts against ours: how far apart they are, per figure.

A search answer carries its own `agent_total`, `agent_ready`, `agent_incall` and
`agent_paused`; the exporter counts the same agents from the answer's `agents` list
(each user_id once, as the breakdown and the pages count them). Where the two differ,
the service counts by another rule than ours (RINGING agents counted as ready, WRAP as
paused, LOGGED_OUT left out of the total...), and every figure drawn from the list
means something else than the service's own screens: this is where it shows.

What we count for each figure, once for the metrics and the pages (`COUNTED`), as the
vendor's reference and the simulator's documented answers read:

| figure | API field      | agents we count                          |
|--------|----------------|------------------------------------------|
| total  | `agent_total`  | every agent listed, LOGGED_OUT included  |
| ready  | `agent_ready`  | status READY                             |
| incall | `agent_incall` | status INCALL                            |
| paused | `agent_paused` | status PAUSED                            |

(The reference lists LOGGED_OUT among the statuses a search returns, and the
simulator's documented answers count it in agent_total.)

A figure the answer does not send is not compared (absent is not 0). A figure-only
answer (a discovered campaign's or queue's: its agents are not kept) is compared
through the statuses counted while it was read (`SearchResult.statuses`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from convoso_exporter.api.model import FOLDED, Agent, SearchResult, status_counts

# (figure, the answer's field, the statuses we count for it; None: every agent listed).
COUNTED: tuple[tuple[str, str, frozenset[str] | None], ...] = (
    ("total", "agent_total", None),
    ("ready", "agent_ready", frozenset({"READY"})),
    ("incall", "agent_incall", frozenset({"INCALL"})),
    ("paused", "agent_paused", frozenset({"PAUSED"})),
)
FIGURES: tuple[str, ...] = tuple(figure for figure, _, _ in COUNTED)
# How a page says each figure.
WORDS = {"total": "agents", "ready": "ready", "incall": "in call", "paused": "paused"}


@dataclass(frozen=True)
class Gap:
    """One figure of one answer: the API's value against ours."""

    figure: str  # total | ready | incall | paused
    api: int  # what the answer says
    counted: int  # what we count in its agents list
    # The one status that would explain the gap: outside the figure's rule with as many
    # agents as the API counts more, or inside it with as many as it counts fewer; None
    # when no status, or more than one, would. A hint, never proof.
    hint: str | None = None

    @property
    def difference(self) -> int:
        """API minus counted: 0 when they agree."""
        return self.api - self.counted


def compare(snapshot: SearchResult, counts: Mapping[str, int] | None = None) -> tuple[Gap, ...]:
    """Every figure the answer sends, against our count of its agents (`counts`: its
    `listed` statuses, when the caller already has them)."""
    if counts is None:
        counts = listed(snapshot)
    gaps = []
    for figure, field, statuses in COUNTED:
        api = getattr(snapshot, field)
        if api is None:
            continue
        counted = sum(n for status, n in counts.items() if statuses is None or status in statuses)
        gaps.append(Gap(figure, api, counted, _hint(api - counted, counts, statuses)))
    return tuple(gaps)


def listed(snapshot: SearchResult, agents: Sequence[Agent] | None = None) -> dict[str, int]:
    """The answer's agents per status ("" without one), each user_id once: those kept,
    or those counted as they were read (a figures-only answer's)."""
    if snapshot.statuses is not None:
        return dict(snapshot.statuses)
    return dict(status_counts(snapshot.agents if agents is None else agents))


def _hint(difference: int, counts: Mapping[str, int], statuses: frozenset[str] | None) -> str | None:
    if difference == 0:
        return None
    if difference > 0:  # the API counts more: a status it counts and we do not?
        pool = [s for s, n in counts.items() if (statuses is not None and s not in statuses) and n == difference]
    else:  # it counts fewer: a status we count and it does not?
        pool = [s for s, n in counts.items() if (statuses is None or s in statuses) and n == -difference]
    named = [s for s in pool if s not in ("", FOLDED)]
    return named[0] if len(named) == 1 else None


def describe(gap: Gap) -> str:
    """`Convoso counts 19 ready, we count 17 (counting RINGING?)`: plain words for a page."""
    words = f"Convoso counts {gap.api:,} {WORDS[gap.figure]}, we count {gap.counted:,}"
    if gap.hint:
        words += f" ({'counting' if gap.difference > 0 else 'leaving out'} {gap.hint}?)"
    return words
