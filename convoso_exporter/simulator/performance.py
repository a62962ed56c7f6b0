"""Agent Performance search (`POST /v1/agent-performance/search`), answered from the
center's day book (`daybook.py`), the rows `truth()["performance"]` sums.

Parameters (form or query):
- `date_start`, `date_end`: `YYYY-MM-DD`, both required, inclusive, the account's local
  days (`ContactCenter.timezone`); days before the `DAYS_KEPT` kept have no rows;
- `campaign_ids`, `queue_ids`, `list_ids`, `user_ids`, `status_ids`: comma-separated.
  An unknown campaign, queue or user answers the agent-monitor search's errors (6026,
  6041, 6006); a removed campaign or queue is known (its days stay). Lists and statuses
  only narrow: the simulator's call statuses are `AM` (the agent marked an answering
  machine) and `HUMAN` (a live person); with `status_ids` an agent's figures are those
  of its calls with those statuses (talk, wrap, ringing; no wait or pause, which belong
  to no call);
- `page` (from 1) and `limit`: without `limit` every agent in one page; `total` is the
  number of agents over all pages. Bad values answer `{"success": false, "code": 400,
  "error": ...}`.

An agent is listed when the range has logged-in time or calls of it; agents in user id
order. Per agent: `calls` = `am` + `others`, `human_answered` = `others` (live people
it spoke to), `am_pt`/`others_pt` their shares of `calls` in percent; `talk_sec`
(INCALL + TRANSFER), `wait_sec` (READY), `pause_sec` (PAUSED), `wrap_sec` (WRAP) and
`total_time` (logged in: those and RINGING) as `"HH:MM:SS"`, hours past 24 if need be;
`*_sec_pt` their shares of `total_time`; `call_type` "" (as the vendor's example).

Styles: `documented` (the parameter table: `data` an array) `{"success": true,
"total": N, "data": [...]}`; `live` (the help centre's example) `{"success": true,
"code": 200, "total": N, "data": {"<user_id>": {...}}}`, counts as integers like the
example for even agents and as strings for odd ones (the vendor says either happens),
and an empty `data` as `[]` (what PHP's json_encode makes of an empty array). Content
faults: `strings` (every number a string), `keyed_by_id` (`data` keyed by user id).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass

from convoso_exporter.simulator.daybook import OUT, OUTCOME_SLOTS, WIDTH, column_sums, figures
from convoso_exporter.simulator.model import NotFound
from convoso_exporter.simulator.render import all_strings
from convoso_exporter.web.vendor_http import CAMPAIGN_NOT_FOUND, QUEUE_NOT_FOUND, USER_NOT_FOUND

BAD_REQUEST = 400
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_IDS = 1000  # per filter: what one request can make the simulator look up
ID_FILTERS = ("campaign_ids", "queue_ids", "list_ids", "user_ids", "status_ids")
CONTENT_FAULTS = ("strings", "keyed_by_id")


@dataclass(frozen=True)
class Query:
    start: str
    end: str
    filters: tuple[frozenset[str] | None, ...]  # in ID_FILTERS order; None: not filtered
    page: int = 1
    limit: int | None = None


def search(center, params: Mapping[str, str], style: str, fault: str | None = None) -> dict:
    """The answer to one request (a `success: false` dict for a bad one)."""
    try:
        query = parse_query(params, center)
    except NotFound as bad:
        return bad.as_dict()
    sums = agent_sums(center, query)
    names = {agent.user_id: agent.user_full_name for agent in center.select().agents}
    listed = [(user_id, sums[user_id]) for user_id in names if user_id in sums]
    first = (query.page - 1) * (query.limit or len(listed))
    shown = listed[first:] if query.limit is None else listed[first : first + query.limit]
    entries = [entry(user_id, names[user_id], row) for user_id, row in shown]
    answer = _envelope(entries, len(listed), style, fault)
    return all_strings(answer) if fault == "strings" else answer


def agent_sums(center, query: Query) -> dict[str, list[int]]:
    """user id -> the day-book slots summed over the range and the filters (agents with
    neither logged-in time nor calls left out)."""
    campaigns, queues, lists, users, statuses = query.filters
    mask = _mask(statuses)
    groups: dict[str, list[list[int]]] = {}
    for day in center.kept_days():
        if not query.start <= day <= query.end:
            continue
        for (campaign_id, queue_id, list_id, user_id), row in center.day_rows(day).items():
            if (
                (campaigns is None or campaign_id in campaigns)
                and (queues is None or queue_id in queues)
                and (lists is None or list_id in lists)
                and (users is None or user_id in users)
            ):
                groups.setdefault(user_id, []).append(row if mask is None else [v * m for v, m in zip(row, mask)])
    sums = {user_id: column_sums(group) for user_id, group in groups.items()}
    return {user_id: row for user_id, row in sums.items() if any(v for slot, v in enumerate(row) if slot != OUT)}


def entry(user_id: str, name: str, row: list[int]) -> dict:
    """One agent's figures, in the vendor's field order and formats."""
    # daybook.figures: the answer and truth() count by one formula
    sums = figures(row)
    am, live = sums["machine"], sums["live_handled"]
    calls = am + live
    talk, wrap, wait, pause, total = sums["talk"], sums["wrap"], sums["wait"], sums["pause"], sums["logged_in"]
    return {
        "user_id": user_id, "name": name, "calls": calls, "human_answered": live, "am": am, "others": live,
        "am_pt": percent(am, calls), "others_pt": percent(live, calls),
        "talk_sec": hms(talk), "wait_sec": hms(wait), "pause_sec": hms(pause), "wrap_sec": hms(wrap),
        "total_time": hms(total),
        "talk_sec_pt": percent(talk, total), "wait_sec_pt": percent(wait, total),
        "pause_sec_pt": percent(pause, total), "wrap_sec_pt": percent(wrap, total),
        "call_type": "",
    }


def hms(seconds: int) -> str:
    """"HH:MM:SS"; hours keep counting past 24 ("49:03:07")."""
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def parse_query(params: Mapping[str, str], center) -> Query:
    """The request's range, filters and page; NotFound (400, 6026, 6041, 6006) if bad."""
    start, end = _date(params, "date_start"), _date(params, "date_end")
    if end < start:
        raise NotFound(BAD_REQUEST, f"date_end {end} is before date_start {start}")
    filters = tuple(_ids(params, name) for name in ID_FILTERS)
    removed_campaigns, removed_queues = center.removed_ids()
    for wanted, known, not_found in (
        (filters[0], {*center.campaign_ids(), *removed_campaigns}, CAMPAIGN_NOT_FOUND),
        (filters[1], {*center.queue_ids(), *removed_queues}, QUEUE_NOT_FOUND),
        (filters[3], set(center.agent_ids()), USER_NOT_FOUND),
    ):
        if wanted is not None and not wanted <= known:
            raise NotFound(*not_found)
    return Query(start, end, filters, _count(params, "page", 1), _count(params, "limit", None))


def _date(params: Mapping[str, str], name: str) -> str:
    text = (params.get(name) or "").strip()
    if not text:
        raise NotFound(BAD_REQUEST, f"{name} is required (YYYY-MM-DD, the account's day)")
    try:
        if not DATE.fullmatch(text):
            raise ValueError
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise NotFound(BAD_REQUEST, f"{name} must be a date like 2026-01-31, got {text[:40]!r}") from None


def _ids(params: Mapping[str, str], name: str) -> frozenset[str] | None:
    ids = frozenset(item.strip() for item in (params.get(name) or "").split(",") if item.strip())
    if len(ids) > MAX_IDS:
        raise NotFound(BAD_REQUEST, f"{name} lists {len(ids)} ids, at most {MAX_IDS}")
    return ids or None


def _count(params: Mapping[str, str], name: str, default: int | None) -> int | None:
    text = (params.get(name) or "").strip()
    if not text:
        return default
    if not text.isdecimal() or len(text) > 9 or int(text) < 1:
        raise NotFound(BAD_REQUEST, f"{name} must be a whole number from 1, got {text[:40]!r}")
    return int(text)


def _mask(statuses: frozenset[str] | None) -> list[int] | None:
    """Which slots count under a status filter (None: all)."""
    if statuses is None:
        return None
    mask = [0] * WIDTH
    for status in statuses:
        for slot in OUTCOME_SLOTS.get(status, ()):
            mask[slot] = 1
    return mask


def _envelope(entries: list[dict], total: int, style: str, fault: str | None) -> dict:
    if style == "documented":
        data = {item["user_id"]: item for item in entries} if fault == "keyed_by_id" else entries
        return {"success": True, "total": total, "data": data}
    for item in entries:
        if int(item["user_id"]) % 2:
            item.update((name, str(item[name])) for name in ("calls", "human_answered", "am", "others"))
    data = {item["user_id"]: item for item in entries} if entries else []
    return {"success": True, "code": 200, "total": total, "data": data}
