"""The typed snapshot the client produces and the metrics module consumes.

Every field the API may omit is Optional: None means "the API did not send it",
which is different from 0. The exporter never invents zeros (issue #2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, make_dataclass
from operator import attrgetter
from typing import Annotated, Protocol, TypeVar

import msgspec

from convoso_exporter.api.limits import MAX_COUNT, MAX_LABEL_CHARS

# Status codes most accounts use. Others are carried through verbatim.
COMMON_STATUSES: tuple[str, ...] = (
    "READY",
    "INCALL",
    "PAUSED",
    "WRAP",
    "RINGING",
    "TRANSFER",
    "LOGGED_OUT",
)

# The value a status, campaign_id or queue_id takes when its answer had more distinct
# ones than the exporter keeps (api/limits.py): its agents are still counted, under it.
FOLDED = "(other)"


# What the typed decoder (api/typed.py) takes from the wire for an agent's fields; any
# other value (an id sent as a number, a text over MAX_LABEL_CHARS, a negative count...)
# sends the whole answer to the reference parser (api/parse.py), which reads everything.
WireText = Annotated[str, msgspec.Meta(max_length=MAX_LABEL_CHARS)] | None
WireCount = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)] | str | None
WireSkills = str | tuple[str, ...] | None


class Agent(msgspec.Struct, frozen=True, gc=False):
    """One entry of the `agents` collection.

    A msgspec Struct, so an answer decodes straight into Agents (api/typed.py) with no
    dict per agent, and untracked by the garbage collector (its fields are strings,
    numbers and tuples of strings: no cycles). The annotations say what the decoder
    accepts from the wire; once parsed, ids and text are `str | None` (normalised, see
    api/labels.py), counts `int | None` and `skill_options` a `tuple[str, ...] | None`.
    Built whole by the parser and never changed once published.
    """

    user_id: WireText = None
    user_full_name: WireText = None
    campaign_id: WireText = None
    campaign_name: WireText = None
    queue_id: WireText = None
    queue_name: WireText = None
    queue_assignment: WireText = None
    list_id: WireText = None
    extension: WireText = None
    channel_type: WireText = None
    call_type: WireText = None
    lead_id: WireText = None
    call_log_id: WireText = None
    calls_today: WireCount = None
    total_calls: WireCount = None
    status: WireText = None
    status_label: WireText = None
    status_time_sec: WireCount = None
    status_time_mmss: WireText = None
    connection_type: WireText = None
    skill_options: WireSkills = None


@dataclass(frozen=True, slots=True)
class CallData:
    """The `call_data` object: aggregated call statistics for the selected scope."""

    total_calls: int | None = None
    answered: int | None = None
    dropped: int | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """A campaign or queue the account answer lists (`campaigns` / `queues`)."""

    id: str
    name: str | None = None


def id_order(ident: str) -> tuple[bool, int, str, str]:
    """A sort key for campaign and queue ids: numeric ids (ASCII digits) in numeric order,
    then the others as text. Never int(): an id may be hundreds of hostile digits, and
    "²".isdigit() is true where int("²") fails. Leading zeros compare as the number does."""
    if ident.isascii() and ident.isdigit():
        digits = ident.lstrip("0")
        return (False, len(digits), digits, ident)
    return (True, 0, "", ident)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One answer of POST /agent-monitor/search, parsed."""

    agents: tuple[Agent, ...] = ()
    call_data: CallData | None = None
    queue_dialable_leads: int | None = None
    queue_calls_today: int | None = None
    queue_dropped: int | None = None
    queue_answered: int | None = None
    agent_total: int | None = None
    agent_incall: int | None = None
    agent_ready: int | None = None
    agent_paused: int | None = None
    # The account's scopes, as the live service lists them beside the agents;
    # None when the answer has no such list (the documented shape).
    campaigns: tuple[Scope, ...] | None = None
    queues: tuple[Scope, ...] | None = None
    # Distinct values of a label beyond the per-answer caps, folded into FOLDED:
    # ((label, how many), ...) for those of status, campaign_id and queue_id that had some.
    folded: tuple[tuple[str, int], ...] = ()
    # A figures-only answer's agents (a discovered scope's: `agents` is empty) per
    # status, counted as `status_counts` counts them before they were let go; None when
    # the agents are kept (count those). Compared with the answer's own agent_* figures
    # (derive/agreement.py).
    statuses: tuple[tuple[str, int], ...] | None = None

    def scope_names(self, kind: str) -> dict[str, str | None]:
        """id -> name of every campaign (`kind` "campaign") or queue ("queue") this answer
        mentions: its list if it has one, and the ids its agents carry. A name from the
        list wins over one from an agent; the first agent naming a scope wins. The fold
        value of ids beyond the cap (FOLDED) is not a scope."""
        listed = (self.campaigns if kind == "campaign" else self.queues) or ()
        id_field, name_field = f"{kind}_id", f"{kind}_name"
        found: dict[str, str | None] = {}
        for agent in self.agents:
            ident = getattr(agent, id_field)
            if ident is not None and ident != FOLDED and found.get(ident) is None:
                found[ident] = getattr(agent, name_field)
        for scope in listed:
            if scope.name is not None or scope.id not in found:
                found[scope.id] = scope.name
        return found


class _Listed(Protocol):
    """What counting needs of an agent (an `Agent`, or api/typed.py's labels of one)."""

    @property
    def user_id(self) -> str | None: ...

    @property
    def status(self) -> str | None: ...


Listed = TypeVar("Listed", bound=_Listed)


def distinct_agents(agents: Sequence[Listed]) -> list[Listed]:
    """The agents, without repeats of a user_id (the first wins). Agents without a
    user_id cannot be told apart, so they all stay."""
    seen: set[str] = set()
    result: list[Listed] = []
    for agent in agents:
        if agent.user_id:
            if agent.user_id in seen:
                continue
            seen.add(agent.user_id)
        result.append(agent)
    return result


_USER_ID, _STATUS = attrgetter("user_id"), attrgetter("status")


def status_counts(agents: Sequence[_Listed]) -> tuple[tuple[str, int], ...]:
    """Agents per status, each user_id once, by status ("" for an agent without one).
    Counted in C: the repeats are looked for only when there are some."""
    users = list(filter(None, map(_USER_ID, agents)))
    if len(set(users)) < len(users):
        agents = distinct_agents(agents)
    counts = Counter(map(_STATUS, agents))
    if None in counts:
        counts[""] += counts.pop(None)
    return tuple(sorted(counts.items()))


# Agent was a dataclass; `dataclasses.fields`, `replace` and `asdict` still work on it
# (they read only `__dataclass_fields__`), so code and tests written for it go on working.
Agent.__dataclass_fields__ = make_dataclass(  # type: ignore[attr-defined]
    "Agent", [(name, object, None) for name in Agent.__struct_fields__], frozen=True
).__dataclass_fields__
