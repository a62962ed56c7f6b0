"""Tolerant parsing of decoded Convoso JSON answers into `convoso_exporter.api.model` types.

The live service differs from its reference (see the API doc, "What the live
service is known to do differently"); this module absorbs every known difference:

- the record may sit at `data.entries`, `data` or the root; each field is taken
  from the innermost level that has it;
- numbers may be strings, empties may be "", "-" or "0" (the field converters in
  `api/fields.py` say how each is read);
- collections may be objects keyed by id (agents keyed by user_id); PHP-style
  `[]` stands for an empty object; non-object agent entries are skipped;
- unknown fields are ignored, unknown statuses are kept (normalised as every text is,
  `api/labels.py`: valid Unicode, NFC, bounded length; beyond 64 distinct statuses, or
  1,000 campaign or queue ids, in one answer the rest are folded into "(other)");
- the live service's `campaigns` / `queues` lists (`[{"value": 1234, "name": "..."}]`,
  or keyed by id) become `Scope`s; entries that name no id are skipped, and a list
  that is not a list or object is treated as absent: scopes are a hint for discovery,
  never a reason to refuse the agents;
- `success: false` documents become `AuthError` or `ApiError`.

It runs on every poll for up to ~50k agents, so agent fields are converted by a
per-field table of the small functions in `api/fields.py`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from msgspec.structs import fields

from convoso_exporter.api.decode import Body
from convoso_exporter.api.errors import ApiError, AuthError, ConvosoError, ProtocolError, ResponseTooLarge, one_line
from convoso_exporter.api.fields import json_kind, mmss_seconds, to_count
from convoso_exporter.api.labels import LabelText, fold
from convoso_exporter.api.limits import DEFAULT_LIMITS, Limits
from convoso_exporter.api.model import Agent, CallData, Scope, SearchResult

# The reference lists error texts without their codes; these map them to the
# documented codes so callers can tell "user not found" from "not logged in".
_KNOWN_ERROR_TEXTS: tuple[tuple[str, int], ...] = (
    ("user not found", 6006),
    ("invalid user", 6006),
    ("not logged in", 6012),
    ("campaign not found", 6026),
    ("invalid campaign", 6026),
    ("queue not found", 6041),
    ("invalid queue", 6041),
)

_ROOT_COUNTS: tuple[str, ...] = (
    "queue_dialable_leads",
    "queue_calls_today",
    "queue_dropped",
    "queue_answered",
    "agent_total",
    "agent_incall",
    "agent_ready",
    "agent_paused",
)

Level = tuple[str, dict]  # (path prefix such as "data.entries.", the object)


# How each agent field is read: a count (`fields.to_count`), or text, an id or skills,
# which `labels.LabelText` reads and normalises.
_AGENT_KINDS: dict[str, str] = {
    "user_id": "ident",
    "user_full_name": "text",
    "campaign_id": "ident",
    "campaign_name": "text",
    "queue_id": "ident",
    "queue_name": "text",
    "queue_assignment": "text",
    "list_id": "ident",
    "extension": "ident",
    "channel_type": "text",
    "call_type": "text",
    "lead_id": "ident",
    "call_log_id": "ident",
    "calls_today": "count",
    "total_calls": "count",
    "status": "text",
    "status_label": "text",
    "status_time_sec": "count",
    "status_time_mmss": "text",
    "connection_type": "text",
    "skill_options": "skills",
}

# In Agent's field order, so values can be passed positionally. A KeyError here at
# import means the model gained a field this table does not convert yet.
_AGENT_NAMES = tuple(f.name for f in fields(Agent))
_AGENT_FIELD_KINDS = tuple(_AGENT_KINDS[name] for name in _AGENT_NAMES)
_USER_ID = _AGENT_NAMES.index("user_id")
_STATUS_SEC = _AGENT_NAMES.index("status_time_sec")
_STATUS_MMSS = _AGENT_NAMES.index("status_time_mmss")

Converters = tuple[tuple[str, Callable[[Any], Any]], ...]


def _converters(label: LabelText) -> Converters:
    """The agent field table for one answer: its text read through `label`."""
    by_kind = {"count": to_count, "text": label.text, "ident": label.ident, "skills": label.skills}
    return tuple((name, by_kind[kind]) for name, kind in zip(_AGENT_NAMES, _AGENT_FIELD_KINDS))


def _agent(record: dict, key: str | None, table: Converters, label: LabelText) -> Agent:
    get = record.get
    values = [convert(get(name)) for name, convert in table]
    if values[_USER_ID] is None and key is not None:
        values[_USER_ID] = label.ident(key)  # keyed collection: the key is the user_id
    if values[_STATUS_SEC] is None:
        values[_STATUS_SEC] = mmss_seconds(values[_STATUS_MMSS])
    return Agent(*values)


def _count_at(path: str, value: Any) -> int | None:
    try:
        return to_count(value)
    except ProtocolError as err:
        raise ProtocolError(f"{path}: {err}") from None


def _agent_error(path: str, raw: list | dict, error: ProtocolError, table: Converters) -> ProtocolError:
    """`error` (a field out of range) located: "agents[17].calls_today: ...". Only runs
    once an answer is refused, so the agents are converted a second time to find it."""
    entries = enumerate(raw) if type(raw) is list else raw.items()
    for where, record in entries:
        if type(record) is not dict:
            continue
        for name, convert in table:
            try:
                convert(record.get(name))
            except ProtocolError:
                shown = where if type(where) is int else repr(where if len(where) <= 24 else where[:24] + "...")
                return ProtocolError(f"{path}[{shown}].{name}: {error}")
    return ProtocolError(f"{path}: {error}")


# --- document structure -------------------------------------------------------------


def _flag(value: Any) -> bool | None:
    """`success` as sent: true/false, 1/0, "true"/"false"/"1"/"0"; else None."""
    if value is True or value is False:
        return value
    if type(value) is int:
        return value != 0
    if type(value) is str:
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
    return None


def _failure(level: dict) -> ConvosoError:
    """The error a `success: false` object stands for."""
    raw_code = level.get("code")
    try:
        code = to_count(raw_code)
    except ProtocolError:
        code = None  # a code out of range is text like any other
    texts: list[str] = []
    candidates = [level.get("text"), level.get("error"), level.get("message")]
    if code is None:
        candidates.insert(0, raw_code)  # a non-numeric code is a message too
    for value in candidates:
        text = one_line(value) if type(value) is str else ""
        if text and text not in texts:
            texts.append(text)
    detail = "; ".join(texts) if texts else "no error message"
    lowered = detail.lower()
    if code in (401, 403) or "auth" in lowered or "token" in lowered:
        status = code if code in (401, 403) else None
        suffix = f" (code {code})" if code is not None else ""
        return AuthError(f"authentication failed{suffix}: {detail}", status=status)
    if code is None:
        code = next((known for text, known in _KNOWN_ERROR_TEXTS if text in lowered), None)
    label = f"Convoso error {code}" if code is not None else "Convoso error"
    return ApiError(f"{label}: {detail}", code=code)


def document_error(doc: Any) -> ConvosoError | None:
    """The error a decoded answer signals by `success: false` at its root, if any.

    For answers that are not HTTP 2xx, where only the error matters.
    """
    if type(doc) is dict and _flag(doc.get("success")) is False:
        return _failure(doc)
    return None


def _check(level: dict) -> dict:
    if _flag(level.get("success")) is False:
        raise _failure(level)
    return level


def _nested(parent: dict, key: str, path: str) -> dict | None:
    """An optional object member; None or PHP's `[]` for an empty object → None."""
    value = parent.get(key)
    if value is None or value == []:
        return None
    if type(value) is dict:
        return value
    raise ProtocolError(f"{path}: expected an object, got {json_kind(value)}")


def _levels(doc: Any) -> list[Level]:
    """Where the record may be, innermost first: data.entries, data, root.

    Each level is checked for `success: false` on the way down, so an error
    document is reported as the error it is even if the rest is malformed.
    """
    if type(doc) is not dict:
        raise ProtocolError(f"response: expected a JSON object, got {json_kind(doc)}")
    levels: list[Level] = [("", _check(doc))]
    data = _nested(doc, "data", "data")
    if data is not None:
        levels.insert(0, ("data.", _check(data)))
        entries = _nested(data, "entries", "data.entries")
        if entries is not None:
            levels.insert(0, ("data.entries.", _check(entries)))
    return levels


def _find(levels: list[Level], key: str) -> tuple[str, Any]:
    """(path, value) of `key` at the innermost level that has it non-null."""
    for prefix, level in levels:
        value = level.get(key)
        if value is not None:
            return prefix + key, value
    return key, None


def _agents(levels: list[Level], limits: Limits, label: LabelText) -> tuple[Agent, ...]:
    path, raw = _find(levels, "agents")
    if raw is None:
        return ()
    if type(raw) in (list, dict) and len(raw) > limits.max_agents:
        raise ResponseTooLarge(f"{path}: {len(raw)} entries, more than max_agents {limits.max_agents}; not parsed")
    table = _converters(label)
    try:
        if type(raw) is list:
            return tuple([_agent(record, None, table, label) for record in raw if type(record) is dict])
        if type(raw) is dict:
            return tuple([_agent(record, key, table, label) for key, record in raw.items() if type(record) is dict])
    except ProtocolError as err:
        raise _agent_error(path, raw, err, table) from None
    raise ProtocolError(f"{path}: expected an array or object, got {json_kind(raw)}")


def _call_data(levels: list[Level]) -> CallData | None:
    path, raw = _find(levels, "call_data")
    if raw is None or raw == []:
        return None
    if type(raw) is not dict:
        raise ProtocolError(f"{path}: expected an object, got {json_kind(raw)}")
    return CallData(
        total_calls=_count_at(f"{path}.total_calls", raw.get("total_calls")),
        answered=_count_at(f"{path}.answered", raw.get("answered")),
        dropped=_count_at(f"{path}.dropped", raw.get("dropped")),
    )


# Where a scope entry may carry its id and its name, in order of preference.
_SCOPE_ID_KEYS = {"campaigns": ("value", "id", "campaign_id"), "queues": ("value", "id", "queue_id")}
_SCOPE_NAME_KEYS = {"campaigns": ("name", "campaign_name", "label"), "queues": ("name", "queue_name", "label")}


def _scope(kind: str, entry: Any, key: str | None, label: LabelText) -> Scope | None:
    """One entry of a `campaigns`/`queues` list: an object, or a bare id."""
    if type(entry) is not dict:
        ident = label.ident(entry) if type(entry) in (str, int, float) else None
        return Scope(ident) if ident is not None else None
    ident = next((i for i in map(label.ident, map(entry.get, _SCOPE_ID_KEYS[kind])) if i is not None), None)
    if ident is None and key is not None:
        ident = label.ident(key)  # keyed by id
    if ident is None:
        return None
    name = next((n for n in map(label.text, map(entry.get, _SCOPE_NAME_KEYS[kind])) if n is not None), None)
    return Scope(ident, name)


def _scopes(levels: list[Level], kind: str, label: LabelText) -> tuple[Scope, ...] | None:
    raw = _find(levels, kind)[1]
    if type(raw) is list:
        entries = [(entry, None) for entry in raw]
    elif type(raw) is dict:
        entries = [(entry, key) for key, entry in raw.items()]
    else:
        return None
    scopes = (_scope(kind, entry, key, label) for entry, key in entries)
    return tuple(dict.fromkeys(scope for scope in scopes if scope is not None))


def parse_search(doc: Any, limits: Limits = DEFAULT_LIMITS, secret: str | None = None,
                 agents: bool = True) -> SearchResult:
    """A decoded /agent-monitor/search answer → `SearchResult`, with `secret` (the
    client's token) redacted from every text it holds.

    `doc` may also be the undecoded `decode.Body` (what the client passes): it is then
    decoded straight into typed records (api/typed.py), with this parser as the
    reference for any answer the typed path does not take as it is.

    Without `agents` the snapshot keeps no agents (what was folded is still counted):
    a discovered campaign or queue publishes its own figures only, and its agents are
    all in the account answer.

    Raises AuthError/ApiError for `success: false`, ProtocolError for a wrong shape,
    ResponseTooLarge for more agents than `limits` allow.
    """
    if type(doc) is Body:
        return parse_body(doc, limits, secret, agents)
    levels = _levels(doc)
    counts = {name: _count_at(*_find(levels, name)) for name in _ROOT_COUNTS}
    label = LabelText(secret)  # every text value normalised once, before anything groups them
    result = search_result(levels, counts, _agents(levels, limits, label), label)
    return result if agents else without_agents(result)


def without_agents(result: SearchResult) -> SearchResult:
    return replace(result, agents=())


def search_result(levels: list[Level], counts: dict[str, int | None], agents: tuple[Agent, ...],
                  label: LabelText, columns: dict[str, list] | None = None) -> SearchResult:
    """The snapshot of an answer's levels, root counts and (parsed) agents: the scope
    lists and call_data read, distinct values folded (from `columns` of the agents'
    fields, by name, where the caller has them)."""
    agents, campaigns, queues, folded = fold(agents, _scopes(levels, "campaigns", label),
                                             _scopes(levels, "queues", label), columns)
    return SearchResult(
        agents=agents, call_data=_call_data(levels), campaigns=campaigns, queues=queues, folded=folded, **counts
    )


def parse_logout(doc: Any) -> None:
    """Check a decoded /agent-monitor/logout answer; returns None on success.

    An answer that says neither success nor failure is a ProtocolError: the
    caller cannot know whether the agent was logged out.
    """
    levels = _levels(doc)
    if not any(_flag(level.get("success")) for _, level in levels):
        raise ProtocolError("success: missing from the logout answer")


from convoso_exporter.api.typed import parse_body  # noqa: E402  (it builds on this module's reference)
