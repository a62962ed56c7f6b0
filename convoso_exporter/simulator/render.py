"""How the simulator writes a search answer: the documented flat shape, or the live
service's shape, optionally bent by a content fault.

Styles:
- `documented`: `{"agents": [...], "call_data": {...}, "queue_...": N, "agent_...": N}`,
  every number a JSON integer, every documented field filled in;
- `live`: wrapped as `{"success": true, "data": {"entries": {"success": true,
  "code": 200, "campaigns": [...], "queues": [...], "agents": ..., <root fields>}}}`,
  with the live service's habits: `calls_today` always a string, `status_time_sec`
  a string for every other agent, `call_data` and `queue_*` counts as strings;
  `call_type` "-", `lead_id` "0" and `call_log_id` "" while idle; `queue_id`/
  `queue_name` "" for every 20th agent; extra fields (`availability_id`,
  `inbound_only`, `queue_assignment_ids`, `last_state_change`), `channel_type`
  "VOICE"; agents keyed by user_id when the search has no campaign filter.

Scope lists (live style only; the documented answer has none): `campaigns` and
`queues` list the scopes the search covers (the whole account's for an unfiltered
search) as the vendor's help-centre example shows them, `{"value": 1001, "name":
"..."}`, ids as JSON numbers, nothing else: no counters, no campaign of a queue, since
the example has none and a client must not count on more.

Content faults (search only): `agents_null`, `keyed_by_id`, `strings` (every number
a string), `unknown_status` (every 5th agent shows LUNCH or ACW_CUSTOM),
`hostile_names` (agents' and the scope lists' campaign names too), `scopes_keyed`
(the live scope lists as objects keyed by id, `{"1001": {"value": 1001, ...}}`;
nothing changes in the documented style), `glitch` (a partial answer: every day
counter, i.e. `call_data`, `queue_calls_today`/`queue_answered`/`queue_dropped` and
each agent's `calls_today`, is half the truth, rounded down; the next answer without
the fault is whole again).

Count styles (`--count-style`): how the answer's own `agent_*` counts are made.
`documented` (the default) counts as the reference reads: `agent_total` every agent
listed (LOGGED_OUT included), `agent_ready` READY, `agent_incall` INCALL, `agent_paused`
PAUSED. The others follow a different rule, as a live account might, so that tests
can prove the exporter notices (its `convoso_exporter_count_disagreement`):
`ringing-as-ready` (RINGING agents counted as ready too), `wrap-as-paused` (WRAP
counted as paused too), `logged-in-total` (LOGGED_OUT left out of the total). The
agents list is the same in every count style.

Speed: encoding thousands of agents is the main cost of the simulator, and only two
fields of an agent change as time passes. Each agent's JSON is cached as text around
`status_time_sec`/`status_time_mmss` (rebuilt when the agent changes), and each whole
answer is cached until the simulation moves (every tick, logout, surge and change of
campaigns or queues bumps `ContactCenter.version`), so concurrent identical searches
share one encoding.
"""

from __future__ import annotations

import json

from collections import Counter

from convoso_exporter.simulator.center import ContactCenter
from convoso_exporter.simulator.model import LOGGED_OUT, RINGING, WRAP, AgentState, Selection

STYLES = ("documented", "live")
# Per count style, how its counts differ from the documented ones: (field, the agents
# of this status, added (1) or taken out (-1)).
COUNT_STYLES: dict[str, tuple[tuple[str, str, int], ...]] = {
    "documented": (),
    "ringing-as-ready": (("agent_ready", RINGING, 1),),
    "wrap-as-paused": (("agent_paused", WRAP, 1),),
    "logged-in-total": (("agent_total", LOGGED_OUT, -1),),
}
CONTENT_FAULTS = (
    "agents_null", "keyed_by_id", "strings", "unknown_status", "hostile_names", "scopes_keyed", "glitch",
)

# Values that break naive label escaping, CSV, logs and terminals.
HOSTILE_NAMES = (
    'Dwayne "The Closer" O\'Brien',
    "Back\\slash \\n Not-A-Newline",
    "Two\nLines\r\nAnd\ttab",
    "Emoji 😀📞 Agent",
    "مرحبا بالعالم עברית",
    '</script><b>x</b> {a="b"} ,=',
)
HOSTILE_CAMPAIGN = 'Q4 "Push" \\ north\n☎️ إعلان — '
CUSTOM_STATUSES = {"LUNCH": "Lunch break", "ACW_CUSTOM": "After-call work (custom)"}

_AVAILABILITY_IDS = {"READY": "1", "RINGING": "2", "INCALL": "2", "TRANSFER": "2", "WRAP": "3", "PAUSED": "4", "LOGGED_OUT": "0"}
_LIVE_STRING_COUNTS = ("queue_dialable_leads", "queue_calls_today", "queue_dropped", "queue_answered")
_DAY_COUNTS = ("queue_calls_today", "queue_dropped", "queue_answered")
# Stands in for an agent's two time fields while its JSON is encoded (see _fragment):
# an int no agent has, and a string JSON always escapes.
_TIME_MARK = -7_777_777_777
_TIME_FIELDS = f'"status_time_sec": {_TIME_MARK}, "status_time_mmss": "\\u0000"'

# (`"user_id": ` for keyed collections, head, status_time_sec quoted?, tail):
# an agent's JSON minus its two time fields.
Fragment = tuple[str, str, bool, str]


class Renderer:
    """Search answers as bytes, cached by (selection, style, fault, count style) until the center moves."""

    def __init__(self, center: ContactCenter) -> None:
        self._center = center
        # Per (style, fault), per agent: [version, key, head, quoted, tail, tick, text]
        # (the text of that tick: the account's answer and a campaign's share it).
        self._fragments: dict[tuple[str, str | None], dict[int, list]] = {}
        self._answers: dict[tuple, bytes] = {}
        self._answers_version = -1

    def search(self, selection: Selection, style: str, fault: str | None = None, counts: str = "documented") -> bytes:
        now = self._center.now()
        if self._center.version != self._answers_version:
            self._answers.clear()
            self._answers_version = self._center.version
        key = (selection.key, style, fault, counts)
        body = self._answers.get(key)
        if body is None:
            body = self._answers[key] = self._build(selection, style, fault, now, counts)
        return body

    def _build(self, selection: Selection, style: str, fault: str | None, now: int, counts: str) -> bytes:
        # Pieces joined once: answers run to megabytes, each concatenation is a copy.
        agents = self._agents_json(selection, style, fault, now)
        totals = self._center.totals(selection)
        _recount(totals, selection, counts)
        if fault == "glitch":
            totals["call_data"] = {name: value // 2 for name, value in totals["call_data"].items()}
            totals.update((name, totals[name] // 2) for name in _DAY_COUNTS)
        if fault == "strings":
            totals = all_strings(totals)
        if style == "documented":
            pieces = ['{"agents": ', *agents, ", ", _dumps(totals)[1:]]
        else:
            totals["call_data"] = all_strings(totals["call_data"])
            for name in _LIVE_STRING_COUNTS:
                totals[name] = str(totals[name])
            lists = _scope_lists(selection, fault)
            pieces = [
                '{"success": true, "data": {"entries": {"success": true, "code": 200, ',
                _dumps(lists)[1:-1],
                ', "agents": ',
                *agents,
                ", ",
                _dumps(totals)[1:],
                "}}",
            ]
        return "".join(pieces).encode()

    def _agents_json(self, selection: Selection, style: str, fault: str | None, now: int) -> list[str]:
        """The agents collection as text pieces."""
        if fault == "agents_null":
            return ["null"]
        keyed = fault == "keyed_by_id" or (style == "live" and selection.campaign_id is None)
        texts = self._agent_texts(selection, style, fault, now, keyed)
        return ["{" if keyed else "[", ", ".join(texts), "}" if keyed else "]"]

    def _agent_texts(self, selection: Selection, style: str, fault: str | None, now: int, keyed: bool) -> list[str]:
        """Each agent's JSON (`"user_id": {...}` when keyed): cached text around its
        two time fields, so only those are formatted, once per tick (the hot loop)."""
        cache = self._fragments.setdefault((style, fault), {})
        texts = []
        for agent in selection.agents:
            entry = cache.get(agent.index)
            if entry is None or entry[0] != agent.version:
                record = self._agent_record(agent, style, fault, now)
                entry = cache[agent.index] = [agent.version, *_fragment(record), -1, ""]
            if entry[5] != now:
                _, _, head, quoted, tail, _, _ = entry
                seconds = now - agent.since
                minutes, secs = divmod(seconds, 60)
                value = f'"{seconds}"' if quoted else seconds
                entry[5:] = now, f'{head}{value}, "status_time_mmss": "{minutes:02d}:{secs:02d}"{tail}'
            texts.append(entry[1] + entry[6] if keyed else entry[6])
        return texts

    def _agent_record(self, agent: AgentState, style: str, fault: str | None, now: int) -> dict:
        record = agent.record(now)
        if fault == "glitch":
            record["calls_today"] //= 2
        if style == "live":
            record = self._live_record(agent, record)
        if fault == "unknown_status" and agent.index % 5 == 0:
            status = "ACW_CUSTOM" if agent.on_call else "LUNCH"
            record["status"], record["status_label"] = status, CUSTOM_STATUSES[status]
        elif fault == "hostile_names":
            record["campaign_name"] = HOSTILE_CAMPAIGN + record["campaign_name"]
            if agent.index % 3 == 0:
                record["user_full_name"] = HOSTILE_NAMES[agent.index // 3 % len(HOSTILE_NAMES)]
        elif fault == "strings":
            record = all_strings(record)
        # Marks which encoding status_time_sec gets; removed by _fragment.
        record["status_time_sec"] = _quoted_time(style, fault, agent)
        return record

    def _live_record(self, agent: AgentState, record: dict) -> dict:
        record["channel_type"] = "VOICE"
        record["calls_today"] = str(record["calls_today"])
        if not agent.on_call:
            record.update(call_type="-", lead_id="0", call_log_id="")
        if agent.index % 20 == 7:
            record.update(queue_id="", queue_name="")
        record.update(
            availability_id=_AVAILABILITY_IDS[agent.status],
            inbound_only="1" if agent.inbound_only else "0",
            queue_assignment_ids=[agent.queue.queue_id],
            last_state_change=self._center.wall_text(agent.since),
        )
        return record


def _recount(totals: dict, selection: Selection, counts: str) -> None:
    """The answer's agent_* counts by the count style's rule (module docstring)."""
    rule = COUNT_STYLES[counts]
    if rule:
        statuses = Counter(agent.status for agent in selection.agents)
        for field, status, sign in rule:
            totals[field] += sign * statuses[status]


def _quoted_time(style: str, fault: str | None, agent: AgentState) -> bool:
    return fault == "strings" or (style == "live" and agent.index % 2 == 1)


def _fragment(record: dict) -> Fragment:
    """Split an agent's JSON around its two time fields (adjacent, in that order),
    encoded in one go with a mark in their place."""
    quoted = record["status_time_sec"]
    record["status_time_sec"], record["status_time_mmss"] = _TIME_MARK, "\0"
    head, mark, tail = _dumps(record).partition(_TIME_FIELDS)
    assert mark, "an agent's time fields are not where the renderer cuts"
    return _dumps(record["user_id"]) + ": ", head + '"status_time_sec": ', quoted, tail


def _scope_lists(selection: Selection, fault: str | None) -> dict:
    """The live answer's `campaigns` and `queues`: the scopes the search covers."""
    campaigns = [
        (c.campaign_id, HOSTILE_CAMPAIGN + c.campaign_name if fault == "hostile_names" else c.campaign_name)
        for c in selection.campaigns
    ]
    queues = [(q.queue_id, q.queue_name) for q in selection.queues]
    if fault == "scopes_keyed":
        return {
            "campaigns": {ident: _scope(ident, name) for ident, name in campaigns},
            "queues": {ident: _scope(ident, name) for ident, name in queues},
        }
    return {"campaigns": [_scope(*item) for item in campaigns], "queues": [_scope(*item) for item in queues]}


def _scope(ident: str, name: str) -> dict:
    return {"value": int(ident) if ident.isdecimal() else ident, "name": name}


def all_strings(value):
    """Every number in a JSON value as a string (booleans stay booleans)."""
    if isinstance(value, dict):
        return {name: all_strings(item) for name, item in value.items()}
    if isinstance(value, list):
        return [all_strings(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


# Raw UTF-8 like the live service, not \\u escapes; one encoder, built once.
_dumps = json.JSONEncoder(ensure_ascii=False).encode
