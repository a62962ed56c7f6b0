"""Agent-performance search (`POST /agent-performance/search`): per agent, over a range of
the account's days, the calls delivered to agents, how many a live person answered and how
many a machine, and the agents' seconds by activity. The exporter asks for one day at a
time (`date_start` = `date_end`), one campaign at a time (`campaign_ids`).

The vendor's example (../shared API notes, "Two more real-time-friendly endpoints"):

    {"success": true, "code": 200, "total": 1,
     "data": {"100001": {"user_id": "100001", "name": "Jane Smith", "calls": 843,
       "human_answered": 708, "am": 135, "others": 708, "am_pt": 16.01, "others_pt": 83.99,
       "talk_sec": "03:24:51", "wait_sec": "01:02:10", "pause_sec": "00:41:03",
       "wrap_sec": "00:20:05", "total_time": "08:39:29", "talk_sec_pt": 39.43, ...}}}

Read as tolerantly as agent-monitor search, each difference noted in the answer's `Tally`
(api/drift.py) under the endpoint `performance`:
- `data` keyed by user id (the example: `keyed_by_id`) or an array (the parameter table);
  `[]` for none; an answer without `data` has no figures (not zeros);
- counts as integers or strings; `*_sec` and `total_time` as `"HH:MM:SS"` (hours past 24
  over a long range; a number of seconds is read too, `other_type`); `*_pt` percentages
  as numbers from 0 to 100 (checked, not kept);
- one row that is not an object is dropped, one value that cannot be read is cleared:
  that row's figure is left out of the sums, never the answer. Rows repeating a user id
  count once (the first), as agents do;
- `total` (rows over every page) says whether more pages follow (`all_pages`).

Per agent the exporter keeps its user id and, in `READ` order, the live answers
(`human_answered`), machine answers (`am`), calls delivered (`calls`) and the seconds of
talk, wait, pause and wrap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from convoso_exporter.api.drift import (
    INVALID_TEXT,
    KEYED_BY_ID,
    MISSING_FIELD,
    NUMBER_AS_TEXT,
    OTHER_TYPE,
    OUT_OF_BOUNDS,
    Tally,
    count_kind,
    ident_kind,
    note_records,
    number_kind,
    text_kind,
)
from convoso_exporter.api.errors import ProtocolError, ResponseTooLarge
from convoso_exporter.api.fields import json_kind, mmss_seconds, to_count
from convoso_exporter.api.labels import LabelText
from convoso_exporter.api.limits import DEFAULT_LIMITS, MAX_NUMBER_CHARS, Limits
from convoso_exporter.api.parse import answer_root, read_count
from convoso_exporter.api.shapes import COUNT, IDENT, STATUS_FIELDS, TEXT

# What the exporter reads of each row, in the order of `AgentDay.figures`.
READ = ("human_answered", "am", "calls", "talk_sec", "wait_sec", "pause_sec", "wrap_sec")
DURATION, PERCENT = "duration", "percent"  # beside shapes' COUNT, TEXT, IDENT
# Every documented field of a row and how it is read.
ROW_KINDS: dict[str, str] = {
    "user_id": IDENT, "name": TEXT, "calls": COUNT, "human_answered": COUNT, "am": COUNT, "others": COUNT,
    "am_pt": PERCENT, "others_pt": PERCENT, "talk_sec": DURATION, "wait_sec": DURATION, "pause_sec": DURATION,
    "wrap_sec": DURATION, "total_time": DURATION, "talk_sec_pt": PERCENT, "wait_sec_pt": PERCENT,
    "pause_sec_pt": PERCENT, "wrap_sec_pt": PERCENT, "call_type": TEXT,
}
ROOT_FIELDS = frozenset((*STATUS_FIELDS, "total", "data"))
# Pages read per answer at most: each is one more request.
MAX_PAGES = 20


def seconds(value: Any) -> int | None:
    """Seconds from `"HH:MM:SS"` (hours past 24 too) or `"MM:SS"`, or a number of seconds."""
    if type(value) is str and ":" in value:
        return mmss_seconds(value)
    return to_count(value)


def duration_kind(value: Any) -> str | None:
    """What reading `value` as a duration took, or None: `"HH:MM:SS"` as documented."""
    if type(value) is str and ":" in value:
        text = value.strip()
        if mmss_seconds(text) is not None:
            return None
        digits = all(part.isdigit() and part.isascii() for part in text.split(":"))
        return OUT_OF_BOUNDS if len(text) > MAX_NUMBER_CHARS or digits else INVALID_TEXT
    found = count_kind(value)
    return OTHER_TYPE if found in (None, NUMBER_AS_TEXT) else found


def percent_kind(value: Any) -> str | None:
    """What reading `value` as a percentage took, or None: a number from 0 to 100."""
    return number_kind(value, 100, fraction=True)


CLASSIFY: dict[str, Callable[[Any], str | None]] = {
    COUNT: count_kind, TEXT: text_kind, IDENT: ident_kind, DURATION: duration_kind, PERCENT: percent_kind,
}
_CONVERT: tuple[Callable[[Any], int | None], ...] = tuple(
    to_count if ROW_KINDS[name] == COUNT else seconds for name in READ
)


@dataclass(frozen=True, slots=True)
class AgentDay:
    """One agent's row: its user id (None: not sent) and the figures in `READ` order
    (None: not sent or not readable)."""

    user_id: str | None
    figures: tuple[int | None, ...]


@dataclass(frozen=True)
class PerformanceAnswer:
    """An agent-performance answer for one day (all its pages)."""

    day: str  # the account's day asked for, YYYY-MM-DD
    agents: tuple[AgentDay, ...] | None  # None: the answer held no `data`
    total: int | None = None  # rows over every page, as the answer says
    entries: int = 0  # rows in `data` as sent (those dropped included), over the pages read
    # The day before, asked once more by the first poll of a new day (poll/calls.py).
    closing: PerformanceAnswer | None = None

    def sums(self) -> tuple[int | None, ...]:
        """Per `READ` figure, the sum over the agents of the values sent; None where no
        agent sent one, or the answer held no `data`."""
        if self.agents is None:
            return (None,) * len(READ)
        if not self.agents:
            return (0,) * len(READ)
        return tuple(
            sum(found) if (found := [v for v in column if v is not None]) else None
            for column in zip(*(agent.figures for agent in self.agents))
        )


def parse_performance(doc: Any, tally: Tally, day: str, limits: Limits = DEFAULT_LIMITS,
                      secret: str | None = None) -> PerformanceAnswer:
    """A decoded answer → `PerformanceAnswer` of `day`, the token (`secret`) redacted from
    the user ids; AuthError/ApiError for `success: false`, ProtocolError when `data` is
    of a type that holds no rows, ResponseTooLarge beyond `limits.max_agents` rows."""
    doc = answer_root(doc, tally, ROOT_FIELDS)
    total = read_count("total", doc.get("total"), tally)
    raw = doc.get("data")
    if raw is None:
        tally.note("data", MISSING_FIELD)
        return PerformanceAnswer(day, None, total)
    if type(raw) is dict:
        if raw:
            tally.note("data", KEYED_BY_ID)
        entries: list[tuple[Any, Any]] = list(raw.items())
    elif type(raw) is list:
        entries = [(None, value) for value in raw]
    else:
        raise ProtocolError(f"data: expected an array or object, got {json_kind(raw)}")
    if len(entries) > limits.max_agents:
        raise ResponseTooLarge(f"data: {len(entries)} rows, more than max_agents {limits.max_agents}; not parsed")
    return PerformanceAnswer(day, _rows(entries, tally, LabelText(secret)), total, len(entries))


def _rows(entries: list[tuple[Any, Any]], tally: Tally, label: LabelText) -> tuple[AgentDay, ...]:
    records = note_records(tally, "data", entries, ROW_KINDS, CLASSIFY)
    agents: list[AgentDay] = []
    seen: set[str] = set()
    for key, row in records:
        user = label.ident(row.get("user_id"))
        if user is None and key is not None:
            user = label.ident(key)  # keyed by user id
        if user is not None:
            if user in seen:
                continue  # the first row of a user counts, as agents do
            seen.add(user)
        agents.append(AgentDay(user, tuple(convert(row.get(name)) for name, convert in zip(READ, _CONVERT))))
    return tuple(agents)


async def all_pages(page: Callable[[int], Awaitable[PerformanceAnswer]], limits: Limits = DEFAULT_LIMITS,
                    ) -> PerformanceAnswer:
    """Page 1, then, while its `total` says more rows than read, the next pages (at most
    MAX_PAGES). A page that adds nothing, or more pages than that, fail the answer
    (ProtocolError): a day's figures from part of its agents would count as a dip."""
    first = await page(1)
    answer, number = first, 1
    # The user ids read so far: an agent a later page repeats counts once.
    seen = {agent.user_id for agent in first.agents or () if agent.user_id is not None}
    while first.total is not None and answer.agents is not None and answer.entries < first.total:
        if number >= MAX_PAGES:
            raise ProtocolError(f"performance: total says {first.total} rows, {answer.entries} read in "
                                f"{MAX_PAGES} pages, the most read per poll")
        number += 1
        more = await page(number)
        new = tuple(agent for agent in more.agents or () if agent.user_id is None or agent.user_id not in seen)
        if not new:
            raise ProtocolError(f"performance: total says {first.total} rows, page {number} added none to the "
                                f"{answer.entries} read")
        answer = replace(answer, agents=answer.agents + new, entries=answer.entries + more.entries)
        seen.update(agent.user_id for agent in new if agent.user_id is not None)
        if len(answer.agents) > limits.max_agents:
            raise ResponseTooLarge(f"performance: more than max_agents {limits.max_agents} rows over {number} pages")
    return answer
