"""Tolerant parsing of decoded Convoso JSON answers into `convoso_exporter.api.model` types:
the reference parser, for decoded documents. The client reads answers through
`api/read.py`, which takes the typed path (api/typed.py) where it can and this one
otherwise; the typed path calls into this module for what it shares.

The live service differs from its reference (see the API doc, "What the live
service is known to do differently"); this module absorbs every known difference, and
notes each in the answer's `drift.Tally` (api/drift.py):

- the record may sit at `data.entries`, `data` or the root; each field is taken
  from the innermost level that has it;
- numbers may be strings, empties may be "", "-" or "0" (the field converters in
  `api/fields.py` say how each is read);
- collections may be objects keyed by id (agents keyed by user_id); PHP-style
  `[]` stands for an empty object;
- unknown fields are ignored, unknown statuses are kept (normalised as every text is,
  `api/labels.py`: valid Unicode, NFC, bounded length; beyond 64 distinct statuses, or
  1,000 campaign or queue ids, in one answer the rest are folded into "(other)");
- the live service's `campaigns` / `queues` lists (`[{"value": 1234, "name": "..."}]`,
  or keyed by id) become `Scope`s; entries that name no id are skipped, and a list
  that is not a list or object is treated as absent: scopes are a hint for discovery,
  never a reason to refuse the agents;
- `success: false` documents become `AuthError` or `ApiError` (api/refusals.py).

One bad value or record never costs the answer: a value that cannot be read (wrong type,
out of bounds) is cleared, an entry of `agents` that is not an object (or could not be
decoded) is dropped, each noted. Only a payload the parser cannot find its way in (the
answer, `data` or `agents` of a type that holds nothing) is a ProtocolError.

It runs on every poll for up to ~50k agents, so agent fields are converted by a
per-field table of the small functions in `api/fields.py`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from convoso_exporter.api.drift import (
    KEYED_BY_ID,
    MISSING_FIELD,
    OTHER_TYPE,
    WRAPPED,
    WRONG_TYPE,
    Tally,
    count_kind,
    ident_kind,
    note_records,
    skills_kind,
    text_kind,
)
from convoso_exporter.api.errors import ProtocolError, ResponseTooLarge
from convoso_exporter.api.fields import json_kind, mmss_seconds, to_count
from convoso_exporter.api.labels import LabelText, fold
from convoso_exporter.api.limits import DEFAULT_LIMITS, Limits
from convoso_exporter.api.model import Agent, CallData, Scope, SearchResult, status_counts
from convoso_exporter.api.refusals import check, document_error, flag  # noqa: F401  (document_error: re-exported)
from convoso_exporter.api.shapes import (
    AGENT_FIELD_KINDS,
    AGENT_KINDS,
    AGENT_NAMES,
    CALL_DATA_FIELDS,
    COUNT,
    IDENT,
    LOGOUT_LEVEL_FIELDS,
    ROOT_COUNTS,
    SCOPE_ID_KEYS,
    SCOPE_NAME_KEYS,
    SEARCH_LEVEL_FIELDS,
    SKILLS,
    TEXT,
    level_fields,
)

Level = tuple[str, dict]  # (path prefix such as "data.entries.", the object)

_USER_ID = AGENT_NAMES.index("user_id")
_STATUS_SEC = AGENT_NAMES.index("status_time_sec")
_STATUS_MMSS = AGENT_NAMES.index("status_time_mmss")
# What reading each kind of field took (api/drift.py), by the field's kind.
CLASSIFY: dict[str, Callable[[Any], str | None]] = {
    COUNT: count_kind, TEXT: text_kind, IDENT: ident_kind, SKILLS: skills_kind,
}

Converters = tuple[tuple[str, Callable[[Any], Any]], ...]


def _converters(label: LabelText) -> Converters:
    """The agent field table for one answer: its text read through `label`."""
    by_kind = {COUNT: to_count, TEXT: label.text, IDENT: label.ident, SKILLS: label.skills}
    return tuple((name, by_kind[kind]) for name, kind in zip(AGENT_NAMES, AGENT_FIELD_KINDS))


def _agent(record: dict, key: str | None, table: Converters, label: LabelText) -> Agent:
    get = record.get
    values = [convert(get(name)) for name, convert in table]
    if values[_USER_ID] is None and key is not None:
        values[_USER_ID] = label.ident(key)  # keyed collection: the key is the user_id
    if values[_STATUS_SEC] is None:
        values[_STATUS_SEC] = mmss_seconds(values[_STATUS_MMSS])
    return Agent(*values)


# --- document structure -------------------------------------------------------------


def _nested(parent: dict, key: str, path: str, tally: Tally) -> dict | None:
    """An optional object member; None or PHP's `[]` for an empty object → None."""
    value = parent.get(key)
    if value is None:
        return None
    if value == []:
        tally.note(path, OTHER_TYPE, value)
        return None
    if type(value) is dict:
        return value
    raise ProtocolError(f"{path}: expected an object, got {json_kind(value)}")


def levels(doc: Any, tally: Tally, known: frozenset[str] = SEARCH_LEVEL_FIELDS) -> list[Level]:
    """Where the record may be, innermost first: data.entries, data, root. Each level is
    checked for `success: false` on the way down, so an error document is reported as
    the error it is even if the rest is malformed. Notes in `tally` where the payload
    was (`wrapped`) and the fields of each level outside `known`."""
    if type(doc) is not dict:
        raise ProtocolError(f"response: expected a JSON object, got {json_kind(doc)}")
    found: list[Level] = [("", check(doc))]
    data = _nested(doc, "data", "data", tally)
    if data is not None:
        found.insert(0, ("data.", check(data)))
        entries = _nested(data, "entries", "data.entries", tally)
        if entries is not None:
            found.insert(0, ("data.entries.", check(entries)))
    if len(found) > 1:
        tally.note(found[0][0].rstrip("."), WRAPPED)
    for depth, (_, level) in enumerate(reversed(found)):
        for name in sorted(level.keys() - level_fields(known, depth), key=str):
            tally.unknown("", name, level[name])
    return found


def find(levels: list[Level], key: str) -> tuple[str, Any]:
    """(path, value) of `key` at the innermost level that has it non-null."""
    for prefix, level in levels:
        value = level.get(key)
        if value is not None:
            return prefix + key, value
    return key, None


def answer_root(doc: Any, tally: Tally, known: frozenset[str]) -> dict:
    """The root of an optional endpoint's answer (api/endpoints/): a JSON object, checked
    for `success: false`, the fields outside `known` noted."""
    if type(doc) is not dict:
        raise ProtocolError(f"response: expected a JSON object, got {json_kind(doc)}")
    check(doc)
    for name in sorted(doc.keys() - known, key=str):
        tally.unknown("", name, doc[name])
    return doc


def read_count(name: str, value: Any, tally: Tally) -> int | None:
    """`value` as a count (None: not one, or out of bounds), what reading it took noted
    under `name`."""
    kind = count_kind(value)
    if kind is not None:
        tally.note(name, kind, value)
    return to_count(value)


def root_counts(levels: list[Level], tally: Tally) -> dict[str, int | None]:
    """The root's counts, each from the innermost level that has it; one out of bounds or
    of the wrong type is None (noted)."""
    return {name: read_count(name, find(levels, name)[1], tally) for name in ROOT_COUNTS}


def _agents(levels: list[Level], limits: Limits, label: LabelText, tally: Tally) -> tuple[Agent, ...]:
    path, raw = find(levels, "agents")
    if raw is None:
        tally.note("agents", MISSING_FIELD)
        return ()
    if type(raw) not in (list, dict):
        raise ProtocolError(f"{path}: expected an array or object, got {json_kind(raw)}")
    if len(raw) > limits.max_agents:
        raise ResponseTooLarge(f"{path}: {len(raw)} entries, more than max_agents {limits.max_agents}; not parsed")
    if type(raw) is dict:
        if raw:
            tally.note("agents", KEYED_BY_ID)
        return tuple(read_entries(raw.items(), label, tally))
    return tuple(read_entries(zip([None] * len(raw), raw), label, tally))


def read_entries(entries, label: LabelText, tally: Tally) -> list[Agent]:
    """The entries of `agents` ((key, value): the key of a keyed collection, else None)
    as Agents: those that are not objects dropped, what reading the rest took noted."""
    records = note_records(tally, "agents", entries, AGENT_KINDS, CLASSIFY)
    table = _converters(label)
    return [_agent(record, key, table, label) for key, record in records]


def _call_data(levels: list[Level], tally: Tally) -> CallData | None:
    path, raw = find(levels, "call_data")
    if raw is None or raw == [] or type(raw) is not dict:
        tally.note("call_data", MISSING_FIELD if raw is None else OTHER_TYPE if raw == [] else WRONG_TYPE, raw)
        return None
    return CallData(*(read_count(f"call_data.{name}", raw.get(name), tally) for name in CALL_DATA_FIELDS))


def _scope(kind: str, entry: Any, key: str | None, label: LabelText) -> Scope | None:
    """One entry of a `campaigns`/`queues` list: an object, or a bare id."""
    if type(entry) is not dict:
        ident = label.ident(entry) if type(entry) in (str, int, float) else None
        return Scope(ident) if ident is not None else None
    ident = next((i for i in map(label.ident, map(entry.get, SCOPE_ID_KEYS[kind])) if i is not None), None)
    if ident is None and key is not None:
        ident = label.ident(key)  # keyed by id
    if ident is None:
        return None
    name = next((n for n in map(label.text, map(entry.get, SCOPE_NAME_KEYS[kind])) if n is not None), None)
    return Scope(ident, name)


def _scopes(levels: list[Level], kind: str, label: LabelText, tally: Tally) -> tuple[Scope, ...] | None:
    raw = find(levels, kind)[1]
    if type(raw) is list:
        entries = [(entry, None) for entry in raw]
    elif type(raw) is dict:
        entries = [(entry, key) for key, entry in raw.items()]
        if raw:
            tally.note(kind, KEYED_BY_ID)
    else:
        if raw is not None:
            tally.note(kind, WRONG_TYPE, raw)
        return None
    scopes = [_scope(kind, entry, key, label) for entry, key in entries]
    if None in scopes:
        tally.note(kind, WRONG_TYPE, entries[scopes.index(None)][0])  # an entry naming no id: skipped
    return tuple(dict.fromkeys(scope for scope in scopes if scope is not None))


def parse_search(doc: Any, limits: Limits = DEFAULT_LIMITS, secret: str | None = None,
                 agents: bool = True, tally: Tally | None = None) -> SearchResult:
    """A decoded /agent-monitor/search answer → `SearchResult`, with `secret` (the
    client's token) redacted from every text it holds, and what reading it took noted
    in `tally`.

    Without `agents` the snapshot keeps no agents (what was folded is still counted):
    a discovered campaign or queue publishes its own figures only, and its agents are
    all in the account answer.

    Raises AuthError/ApiError for `success: false`, ProtocolError for a payload it
    cannot find its way in, ResponseTooLarge for more agents than `limits` allow.
    """
    tally = Tally("search") if tally is None else tally  # noted and let go: the caller keeps no notes
    found = levels(doc, tally)
    counts = root_counts(found, tally)
    label = LabelText(secret)  # every text value normalised once, before anything groups them
    result = search_result(found, counts, _agents(found, limits, label, tally), label, tally)
    return result if agents else without_agents(result)


def without_agents(result: SearchResult) -> SearchResult:
    """The snapshot of a figures-only answer: its agents let go, their statuses counted."""
    return replace(result, agents=(), statuses=status_counts(result.agents))


def search_result(levels: list[Level], counts: dict[str, int | None], agents: tuple[Agent, ...],
                  label: LabelText, tally: Tally, columns: dict[str, list] | None = None) -> SearchResult:
    """The snapshot of an answer's levels, root counts and (parsed) agents: the scope
    lists and call_data read, distinct values folded (from `columns` of the agents'
    fields, by name, where the caller has them)."""
    agents, campaigns, queues, folded = fold(agents, _scopes(levels, "campaigns", label, tally),
                                             _scopes(levels, "queues", label, tally), columns)
    return SearchResult(
        agents=agents, call_data=_call_data(levels, tally), campaigns=campaigns, queues=queues, folded=folded,
        **counts
    )


def parse_logout(doc: Any, tally: Tally | None = None) -> None:
    """Check a decoded /agent-monitor/logout answer; returns None on success.

    An answer that says neither success nor failure is a ProtocolError: the
    caller cannot know whether the agent was logged out.
    """
    tally = Tally("logout") if tally is None else tally
    found = levels(doc, tally, LOGOUT_LEVEL_FIELDS)
    succeeded = [level["success"] for _, level in found if flag(level.get("success"))]
    if not succeeded:
        raise ProtocolError("success: missing from the logout answer")
    if succeeded[0] is not True:
        tally.note("success", OTHER_TYPE, succeeded[0])
