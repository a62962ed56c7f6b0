"""Tolerant parsing of decoded Convoso JSON answers into `convoso_exporter.api.model` types.

The live service differs from its reference (see the API doc, "What the live
service is known to do differently"); this module absorbs every known difference:

- the record may sit at `data.entries`, `data` or the root; each field is taken
  from the innermost level that has it;
- numbers may be strings ("123", " 12.0 "); booleans are not numbers; text that
  is not a number becomes None, never 0; negative counts become None;
- empties: "" and "-" mean "not sent" everywhere; "0" (and 0) also means "not
  sent" for ids, but is a real 0 for counts;
- collections may be objects keyed by id (agents keyed by user_id); PHP-style
  `[]` stands for an empty object; non-object agent entries are skipped;
- unknown fields are ignored, unknown statuses are kept verbatim;
- the live service's `campaigns` / `queues` lists (`[{"value": 1234, "name": "..."}]`,
  or keyed by id) become `Scope`s; entries that name no id are skipped, and a list
  that is not a list or object is treated as absent: scopes are a hint for discovery,
  never a reason to refuse the agents;
- `success: false` documents become `AuthError` or `ApiError`.

It runs on every poll for up to ~50k agents, so agent fields are converted by a
per-field table of small functions rather than try/except chains.
"""

from __future__ import annotations

import math
from dataclasses import fields
from functools import lru_cache
from typing import Any, Callable

from convoso_exporter.api.errors import ApiError, AuthError, ConvosoError, ProtocolError
from convoso_exporter.api.model import Agent, CallData, Scope, SearchResult

_EMPTY_TEXT = frozenset(("", "-"))
_EMPTY_ID = frozenset(("", "-", "0"))

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


def one_line(text: str) -> str:
    """Collapse every whitespace run (newlines included) into one space.

    No truncation here: the client cuts messages only after redacting the token,
    so a cut can never leave part of the token behind.
    """
    return " ".join(text.split())


def _json_kind(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- scalar converters: each takes any decoded JSON value, never raises -----------


def _count_from_float(value: float) -> int | None:
    if not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _count(value: Any) -> int | None:
    """A non-negative count from an int, float or numeric string; else None."""
    kind = type(value)
    if kind is int:  # bool is its own type, so True/False never get here
        return value if value >= 0 else None
    if kind is str:
        text = value.strip()
        if text.isdigit() and text.isascii():  # the common case: "123"
            return int(text)
        try:
            return _count_from_float(float(text))
        except ValueError:
            return None
    if kind is float:
        return _count_from_float(value)
    return None


def _number_text(value: Any) -> str | None:
    """Text for an id/name the API sent as a JSON number (bools and containers: None)."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _text(value: Any) -> str | None:
    """Free text kept verbatim; "" and "-" mean not sent."""
    if type(value) is str:
        return None if value.strip() in _EMPTY_TEXT else value
    return _number_text(value)


def _ident(value: Any) -> str | None:
    """An id; "", "-", "0" and 0 mean not sent."""
    if type(value) is str:
        return None if value.strip() in _EMPTY_ID else value
    text = _number_text(value)
    return None if text == "0" else text


@lru_cache(maxsize=4096)
def _split_skills(text: str) -> tuple[str, ...] | None:
    # Cached: thousands of agents share a handful of skill strings.
    if text.strip() in _EMPTY_TEXT:
        return None
    return _skill_tuple(text.split(","))


def _skill_tuple(items: list[Any]) -> tuple[str, ...]:
    skills = (_text(item.strip() if type(item) is str else item) for item in items)
    return tuple(skill for skill in skills if skill is not None)


def _skills(value: Any) -> tuple[str, ...] | None:
    """"english, sales" or ["english", "sales"] -> ("english", "sales")."""
    if type(value) is str:
        return _split_skills(value)
    if type(value) is list:
        return _skill_tuple(value)
    return None


def mmss_seconds(text: str | None) -> int | None:
    """Seconds from "05:00" (mm:ss) or "1:02:03" (h:mm:ss); None if it is neither."""
    if text is None:
        return None
    parts = text.strip().split(":")
    if not 2 <= len(parts) <= 3:
        return None
    seconds = 0
    for part in parts:
        if not (part.isdigit() and part.isascii()):
            return None
        seconds = seconds * 60 + int(part)
    return seconds


_AGENT_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "user_id": _ident,
    "user_full_name": _text,
    "campaign_id": _ident,
    "campaign_name": _text,
    "queue_id": _ident,
    "queue_name": _text,
    "queue_assignment": _text,
    "list_id": _ident,
    "extension": _ident,
    "channel_type": _text,
    "call_type": _text,
    "lead_id": _ident,
    "call_log_id": _ident,
    "calls_today": _count,
    "total_calls": _count,
    "status": _text,
    "status_label": _text,
    "status_time_sec": _count,
    "status_time_mmss": _text,
    "connection_type": _text,
    "skill_options": _skills,
}

# In Agent's field order, so values can be passed positionally. A KeyError here at
# import means the model gained a field this table does not convert yet.
_AGENT_FIELDS = tuple((f.name, _AGENT_CONVERTERS[f.name]) for f in fields(Agent))
_AGENT_NAMES = [name for name, _ in _AGENT_FIELDS]
_USER_ID = _AGENT_NAMES.index("user_id")
_STATUS_SEC = _AGENT_NAMES.index("status_time_sec")
_STATUS_MMSS = _AGENT_NAMES.index("status_time_mmss")


def _agent(record: dict, key: str | None) -> Agent:
    get = record.get
    values = [convert(get(name)) for name, convert in _AGENT_FIELDS]
    if values[_USER_ID] is None and key is not None:
        values[_USER_ID] = _ident(key)  # keyed collection: the key is the user_id
    if values[_STATUS_SEC] is None:
        values[_STATUS_SEC] = mmss_seconds(values[_STATUS_MMSS])
    return Agent(*values)


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
    code = _count(raw_code)
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
    raise ProtocolError(f"{path}: expected an object, got {_json_kind(value)}")


def _levels(doc: Any) -> list[Level]:
    """Where the record may be, innermost first: data.entries, data, root.

    Each level is checked for `success: false` on the way down, so an error
    document is reported as the error it is even if the rest is malformed.
    """
    if type(doc) is not dict:
        raise ProtocolError(f"response: expected a JSON object, got {_json_kind(doc)}")
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


def _agents(levels: list[Level]) -> tuple[Agent, ...]:
    path, raw = _find(levels, "agents")
    if raw is None:
        return ()
    if type(raw) is list:
        return tuple([_agent(record, None) for record in raw if type(record) is dict])
    if type(raw) is dict:
        return tuple([_agent(record, key) for key, record in raw.items() if type(record) is dict])
    raise ProtocolError(f"{path}: expected an array or object, got {_json_kind(raw)}")


def _call_data(levels: list[Level]) -> CallData | None:
    path, raw = _find(levels, "call_data")
    if raw is None or raw == []:
        return None
    if type(raw) is not dict:
        raise ProtocolError(f"{path}: expected an object, got {_json_kind(raw)}")
    return CallData(
        total_calls=_count(raw.get("total_calls")),
        answered=_count(raw.get("answered")),
        dropped=_count(raw.get("dropped")),
    )


# Where a scope entry may carry its id and its name, in order of preference.
_SCOPE_ID_KEYS = {"campaigns": ("value", "id", "campaign_id"), "queues": ("value", "id", "queue_id")}
_SCOPE_NAME_KEYS = {"campaigns": ("name", "campaign_name", "label"), "queues": ("name", "queue_name", "label")}


def _scope(kind: str, entry: Any, key: str | None) -> Scope | None:
    """One entry of a `campaigns`/`queues` list: an object, or a bare id."""
    if type(entry) is not dict:
        ident = _ident(entry) if type(entry) in (str, int, float) else None
        return Scope(ident) if ident is not None else None
    ident = next((i for i in map(_ident, map(entry.get, _SCOPE_ID_KEYS[kind])) if i is not None), None)
    if ident is None and key is not None:
        ident = _ident(key)  # keyed by id
    if ident is None:
        return None
    name = next((n for n in map(_text, map(entry.get, _SCOPE_NAME_KEYS[kind])) if n is not None), None)
    return Scope(ident, name)


def _scopes(levels: list[Level], kind: str) -> tuple[Scope, ...] | None:
    raw = _find(levels, kind)[1]
    if type(raw) is list:
        entries = [(entry, None) for entry in raw]
    elif type(raw) is dict:
        entries = [(entry, key) for key, entry in raw.items()]
    else:
        return None
    scopes = (_scope(kind, entry, key) for entry, key in entries)
    return tuple(dict.fromkeys(scope for scope in scopes if scope is not None))


def parse_search(doc: Any) -> SearchResult:
    """A decoded /agent-monitor/search answer → `SearchResult`.

    Raises AuthError/ApiError for `success: false`, ProtocolError for a wrong shape.
    """
    levels = _levels(doc)
    counts = {name: _count(_find(levels, name)[1]) for name in _ROOT_COUNTS}
    return SearchResult(
        agents=_agents(levels),
        call_data=_call_data(levels),
        campaigns=_scopes(levels, "campaigns"),
        queues=_scopes(levels, "queues"),
        **counts,
    )


def parse_logout(doc: Any) -> None:
    """Check a decoded /agent-monitor/logout answer; returns None on success.

    An answer that says neither success nor failure is a ProtocolError: the
    caller cannot know whether the agent was logged out.
    """
    levels = _levels(doc)
    if not any(_flag(level.get("success")) for _, level in levels):
        raise ProtocolError("success: missing from the logout answer")
