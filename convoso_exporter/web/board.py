"""What a supervisor sees, computed from the target states the exporter already holds.

No API call is made for a page: every figure here comes from the last answers.
- A scope's own figures (dialable leads, calls, answered, dropped today, the drop rate)
  come from its target's answer: `account` for the whole account, `campaign:<id>` and
  `queue:<id>` for one campaign or queue.
- Agents come from the account answer only, each `user_id` once (as `convoso_agents`
  counts them), and are narrowed to a scope by the fields they carry.
- Convoso's own count of logged-in and available agents in a scope comes from its
  user-activity target (`user_activity:<scope>`, poll/endpoints.py), shown beside ours.

The drop rate is dropped ÷ answered today, as the alert rules compute it. Whether
Convoso's `answered` counts live humans only is not documented: pages say so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convoso_exporter.api.drift import DriftReport
from convoso_exporter.api.endpoints.activity import UserActivity
from convoso_exporter.api.model import COMMON_STATUSES, Agent, SearchResult, id_order
from convoso_exporter.config.schema import ACCOUNT, CAMPAIGN, ENDPOINT_KINDS, USER_ACTIVITY
from convoso_exporter.derive.agreement import Gap, compare
from convoso_exporter.derive.breakdown import distinct_agents
from convoso_exporter.poll.discovery import target_name
from convoso_exporter.poll.endpoints import EndpointStatus
from convoso_exporter.poll.state import TargetState
from convoso_exporter.statuses import status_rank

# Today's drop rate turns red here: the legal line (the mixin's `drop_rate_critical`).
DROP_RATE_RED = 0.03
DROP_NOTE = (
    "Drop rate = dropped ÷ answered today. Whether Convoso's “answered” counts live humans "
    "only is not documented, so this may differ from the 3% rule's measure."
)
LOGGED_OUT = "LOGGED_OUT"


@dataclass(frozen=True)
class View:
    """Everything a page or the JSON reads, taken once per request (the states mapping is
    swapped whole by the poller, never edited)."""

    states: Mapping[str, TargetState]
    generation: int = 0  # finished polls since start: changes whenever any data may have
    poll_interval: float = 15.0
    api_calls_per_minute: float = 0.0
    agent_metrics: bool = True
    agent_names: bool = True
    banner: str | None = None  # e.g. the demo's "simulated data"
    # What the answers held that the model did not expect (ApiStats.drift.report());
    # None: not tracked here (the pages then leave it out).
    drift: DriftReport | None = None
    # Whether each endpoint is polled, and why not (Endpoints.statuses()); () when not told.
    endpoints: tuple[EndpointStatus, ...] = ()

    def account(self) -> TargetState | None:
        """The account target's state (the source of every agent), if it is polled."""
        return next((s for s in self.states.values() if s.target.kind == ACCOUNT), None)

    def searches(self) -> list[TargetState]:
        """The search targets' states (the optional endpoints' left out)."""
        return [state for state in self.states.values() if state.target.kind not in ENDPOINT_KINDS]

    def activity(self, scope: str) -> TargetState | None:
        """The user-activity target beside the target named `scope`, if it is polled."""
        return self.states.get(target_name(USER_ACTIVITY, scope))

    def scope_target(self, kind: str, ident: str) -> TargetState | None:
        """The discovered `campaign:<id>` / `queue:<id>` target, if it is polled."""
        state = self.states.get(target_name(kind, ident))
        return state if state is not None and state.target.kind == kind else None


@dataclass(frozen=True)
class Figures:
    """A target's own figures for today, as its last answer gave them (None: not sent)."""

    dialable_leads: int | None
    calls_today: int | None
    answered_today: int | None
    dropped_today: int | None
    drop_rate: float | None  # dropped ÷ answered; None without answered calls

    @property
    def drop_red(self) -> bool:
        return self.drop_rate is not None and self.drop_rate >= DROP_RATE_RED


def figures(answer: SearchResult) -> Figures:
    """The queue figures the drop-rate alert reads (`convoso_queue_*_today`)."""
    return Figures(
        dialable_leads=answer.queue_dialable_leads,
        calls_today=answer.queue_calls_today,
        answered_today=answer.queue_answered,
        dropped_today=answer.queue_dropped,
        drop_rate=drop_rate(answer.queue_dropped, answer.queue_answered),
    )


def drop_rate(dropped: int | None, answered: int | None) -> float | None:
    if dropped is None or not answered or answered <= 0:
        return None
    return dropped / answered


def matches(agent: Agent, filters: Mapping[str, Any]) -> bool:
    """Whether an agent of the account answer falls in a target's filters (`Target.filters()`):
    equal campaign, queue and user ids; for skills, any one of them."""
    for key, wanted in filters.items():
        if key == "skills":
            if not set(wanted) & set(agent.skill_options or ()):
                return False
        elif getattr(agent, key) != wanted:
            return False
    return True


def scoped_agents(answer: SearchResult | None, filters: Mapping[str, Any]) -> list[Agent]:
    """The account answer's agents (each user_id once) within `filters`."""
    if answer is None:
        return []
    return [agent for agent in distinct_agents(answer.agents) if matches(agent, filters)]


def by_status(agents: Iterable[Agent]) -> dict[str, int]:
    """Agents per status in floor order: every common status (0 when empty), then the
    others seen. An agent without a status counts under ""."""
    counts = Counter(agent.status or "" for agent in agents)
    statuses = sorted(set(COMMON_STATUSES) | set(counts), key=status_rank)
    return {status: counts.get(status, 0) for status in statuses}


def logged_in(counts: Mapping[str, int]) -> int:
    return sum(n for status, n in counts.items() if status != LOGGED_OUT)


def floor_order(agents: Sequence[Agent]) -> list[Agent]:
    """By status (floor order), then longest in that status first, then user_id."""
    return sorted(
        agents,
        key=lambda a: (status_rank(a.status), -(a.status_time_sec if a.status_time_sec is not None else -1),
                       a.user_id or ""),
    )


@dataclass(frozen=True)
class ScopeLine:
    """One campaign (or the whole account) as the landing page lists it."""

    kind: str  # account | campaign
    ident: str | None
    name: str | None
    by_status: dict[str, int]
    state: TargetState | None  # the target its figures come from; None when not polled

    @property
    def figures(self) -> Figures | None:
        snapshot = self.state.snapshot if self.state is not None else None
        return figures(snapshot) if snapshot is not None else None

    @property
    def wallboard_query(self) -> str:
        return "" if self.kind == ACCOUNT else f"?{self.kind}={self.ident}"


def campaign_lines(view: View) -> list[ScopeLine]:
    """The whole account, then each campaign the account answer names or a target polls."""
    account = view.account()
    answer = account.snapshot if account is not None else None
    agents = distinct_agents(answer.agents) if answer is not None else []
    lines = [ScopeLine(ACCOUNT, None, None, by_status(agents), account)]
    for ident, name in scope_names(answer, view, CAMPAIGN).items():
        mine = [agent for agent in agents if agent.campaign_id == ident]
        lines.append(ScopeLine(CAMPAIGN, ident, name, by_status(mine), view.scope_target(CAMPAIGN, ident)))
    return lines


def scope_names(answer: SearchResult | None, view: View, kind: str) -> dict[str, str | None]:
    """id → name of every campaign or queue the account answer or a polled target names."""
    names = dict(answer.scope_names(kind)) if answer is not None else {}
    for state in view.states.values():
        target = state.target
        ident = target.campaign_id if kind == CAMPAIGN else target.queue_id
        if target.kind == kind and ident:
            name = target.campaign_name if kind == CAMPAIGN else target.queue_name
            if names.get(ident) is None:
                names[ident] = name
    return {ident: names[ident] for ident in sorted(names, key=id_order)}



@dataclass(frozen=True)
class CountCheck:
    """The API's own agent counts against ours, over every target that has answered."""

    compared: int  # targets with an answer
    gaps: tuple[tuple[str, tuple[Gap, ...]], ...]  # (target, the figures that differ), for those with any

    @property
    def agree(self) -> bool:
        return not self.gaps


def count_check(view: View) -> CountCheck:
    """Each target's last answer (`derive/agreement.py`): which figures Convoso counts otherwise."""
    compared, gaps = 0, []
    for state in view.searches():
        name = state.target.name
        if state.snapshot is None:
            continue
        compared += 1
        differ = tuple(gap for gap in compare(state.snapshot) if gap.difference)
        if differ:
            gaps.append((name, differ))
    return CountCheck(compared, tuple(gaps))


@dataclass(frozen=True)
class ServiceCounts:
    """Agents as Convoso counts them in a scope (user-activity search), beside ours."""

    logged_in: int | None
    available: int | None
    last_success: float | None
    fresh: bool


def service_counts(view: View, scope: str, now: float) -> ServiceCounts | None:
    """Convoso's own count of the scope's agents, from its last user-activity answer;
    None when the scope has no user-activity target or it has not answered yet."""
    state = view.activity(scope)
    answer: UserActivity | None = state.snapshot if state is not None else None
    if state is None or answer is None:
        return None
    return ServiceCounts(answer.logged_in, answer.available, state.last_success, state.fresh(now))

