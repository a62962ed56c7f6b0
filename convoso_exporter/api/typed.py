"""The client's path from body bytes to a `SearchResult`: decoded straight into typed
records (msgspec), then normalised column by column, with `api/parse.py` as the
reference for every answer this path does not take as it is.

Reading an answer of 50,000 agents with `json.loads` built a dict per agent and a string
per field, and the reference parser then called a converter per field: 14 + 17 µs per
agent. Here msgspec decodes the agents straight into `model.Agent` structs (no dict, the
fields the exporter does not read skipped unbuilt), checking on the way what each field
may be (api/model.py `Wire*`: text of at most MAX_LABEL_CHARS characters, counts of 0 to
MAX_COUNT or numeric text); the rest of the answer (root counts, `call_data`, the scope
lists, `success`) stays raw JSON and is decoded by the reference decoder, bounds and all.
What the reference parser does per field is then done per column, in C where it can:

- text and ids: "" and "-" (and "0" for ids) become None. Everything else a value may
  need (Unicode repair and NFC, the token's redaction, the cut to MAX_LABEL_CHARS) is
  needed only if the column is not plain: ASCII, no value padded with spaces, no form of
  the token in it. Checked on all text columns at once (one join), then column by
  column where they are not; a column that is not plain is converted through the
  reference converters, once per distinct value;
- counts sent as text, skills, the user_id of an agent keyed by it, and status_time_sec
  from status_time_mmss go through the reference converters, once per distinct value.

The bounds hold as in the reference: each Content-Encoding layer's bytes (decode.py,
before this); objects and arrays per answer (counted on the raw bytes before anything is
built; the values bound is the reference's alone, since this path builds one struct of
at most 21 fields per object and skips the rest); the digits of every number it reads
(a count beyond MAX_COUNT, or a number where text is expected, hands the answer to the
reference, which refuses it by the same words); text normalised and the token redacted.
Any answer that is not as expected in every respect (an error document, a wrong type
anywhere, invalid UTF-8, a lone surrogate escape, a count out of range...) is handed to
`decode_json` + `parse_search`, whose outcome, snapshot or error, is the answer's. A
test holds the two paths to the same snapshot on generated answers of every shape.
"""

from __future__ import annotations

from collections import deque
from itertools import chain, repeat
from operator import attrgetter
from typing import Any

import msgspec
from msgspec.structs import force_setattr

from convoso_exporter.api import parse as reference
from convoso_exporter.api.decode import Body, decode_json, loads
from convoso_exporter.api.errors import ConvosoError
from convoso_exporter.api.fields import EMPTY_ID, EMPTY_TEXT, mmss_seconds, to_count
from convoso_exporter.api.labels import LabelText
from convoso_exporter.api.limits import Limits
from convoso_exporter.api.model import Agent, SearchResult, WireText

_NONE = msgspec.Raw(b"")  # a level's field the answer does not have


class _Level(msgspec.Struct, gc=False):
    """One level of an answer (the root, `data`, `data.entries`): its agents typed, the
    rest raw (small, decoded by the reference decoder)."""

    agents: dict[str, Agent] | list[Agent] | None = None
    data: _Level | None = None
    entries: _Level | None = None
    success: msgspec.Raw = _NONE
    call_data: msgspec.Raw = _NONE
    campaigns: msgspec.Raw = _NONE
    queues: msgspec.Raw = _NONE
    queue_dialable_leads: msgspec.Raw = _NONE
    queue_calls_today: msgspec.Raw = _NONE
    queue_dropped: msgspec.Raw = _NONE
    queue_answered: msgspec.Raw = _NONE
    agent_total: msgspec.Raw = _NONE
    agent_incall: msgspec.Raw = _NONE
    agent_ready: msgspec.Raw = _NONE
    agent_paused: msgspec.Raw = _NONE


class _Labels(msgspec.Struct, gc=False):
    """What a discovered scope's answer is read for, of each agent: the labels whose
    distinct values are counted (api/labels.py `fold`), and who it is, so that its
    statuses are counted each agent once (`model.status_counts`). Their agents are all
    in the account answer too, and nothing else reads them."""

    user_id: WireText = None
    campaign_id: WireText = None
    queue_id: WireText = None
    status: WireText = None


class _FiguresLevel(_Level, gc=False):
    agents: dict[str, _Labels] | list[_Labels] | None = None
    data: _FiguresLevel | None = None
    entries: _FiguresLevel | None = None


_RAW_FIELDS = tuple(name for name in _Level.__struct_fields__ if name not in ("agents", "data", "entries"))
_DECODERS = {True: msgspec.json.Decoder(_Level), False: msgspec.json.Decoder(_FiguresLevel)}
_BOM = b"\xef\xbb\xbf"

_NAMES = Agent.__struct_fields__
_KIND = reference._AGENT_KINDS
_GETTERS = {name: attrgetter(name) for name in _NAMES}
_TEXT_NAMES = tuple(name for name in _NAMES if _KIND[name] in ("text", "ident"))
_COUNT_NAMES = tuple(name for name in _NAMES if _KIND[name] == "count")
# Exact empties per kind, as a table to look values up in (an empty maps to None).
_EMPTIES = {"text": dict.fromkeys(EMPTY_TEXT), "ident": dict.fromkeys(EMPTY_ID)}
_SEP = "\x00"  # between joined values: JSON text cannot hold a raw NUL, so it is never in one


class _NotTyped(Exception):
    """The answer is not one the typed path takes as it is: the reference decides."""


def parse_body(body: Body, limits: Limits, secret: str | None, agents: bool = True) -> SearchResult:
    """`body` → `SearchResult`, typed where the answer allows, else by the reference.
    Without `agents`, the agents are read for the counts of distinct labels only
    (`folded`) and not kept: the snapshot of a discovered campaign or queue."""
    try:
        return _typed(body, limits, secret, agents)
    except (_NotTyped, msgspec.MsgspecError, ConvosoError, ValueError, RecursionError):
        pass
    doc, problem = decode_json(body.raw, body.content_type, limits)
    if problem is not None:
        raise problem
    return reference.parse_search(doc, limits, secret, agents)


def _typed(body: Body, limits: Limits, secret: str | None, keep: bool) -> SearchResult:
    raw = body.raw
    if raw.startswith(_BOM) or "html" in body.content_type.lower():
        raise _NotTyped
    # What is built is one struct per object (and a tuple of skills in it) at most: the
    # objects are counted before anything is built. (The reference counts arrays too: it
    # builds every one; this path builds none but skills.)
    if raw.count(b"{") > limits.max_containers:
        raise _NotTyped
    # The decoder checks the text it reads; the reference refuses a body with invalid
    # UTF-8 anywhere, in fields it skips too.
    if not raw.isascii():
        raw.decode("utf-8")  # UnicodeDecodeError: the reference words it
    root = _DECODERS[keep].decode(raw)
    levels = [level for level in (root.data.entries if root.data else None, root.data, root) if level is not None]
    found = next((level.agents for level in levels if level.agents is not None), None)
    if found is not None and len(found) > limits.max_agents:
        raise _NotTyped
    doc = _small_doc(root)
    dict_levels = reference._levels(doc)  # success: false anywhere raises: the reference words it
    counts = {name: reference._count_at(*reference._find(dict_levels, name)) for name in reference._ROOT_COUNTS}
    label = LabelText(secret)
    normalise = _normalise if keep else _normalise_labels
    if found is None:
        agents: list = []
        columns: dict[str, list] = {}
    elif type(found) is dict:
        agents = list(found.values())
        columns = normalise(agents, list(found), label)
    else:
        agents = found
        columns = normalise(agents, None, label)
    result = reference.search_result(dict_levels, counts, tuple(agents), label, columns)
    return result if keep else reference.without_agents(result)


def _small_doc(level: _Level) -> dict[str, Any]:
    """The level as the reference parser reads it, agents left out (parsed here)."""
    doc: dict[str, Any] = {}
    for name in _RAW_FIELDS:
        value = getattr(level, name)
        if value:
            try:
                doc[name] = loads(bytes(value))  # the reference decoder, its number bounds included
            except Exception:
                raise _NotTyped from None
    if level.data is not None:
        doc["data"] = _small_doc(level.data)
    if level.entries is not None:
        doc["entries"] = _small_doc(level.entries)
    return doc


# --- columns ---------------------------------------------------------------------------


def _normalise(agents: list[Agent], keys: list[str] | None, label: LabelText) -> dict[str, list]:
    """Convert the decoded agents' fields as the reference parser does (module docstring)
    and return the label columns `fold` counts. The agents are new and not yet
    published: their fields are set in place."""
    if not agents:
        return {}
    columns = {name: list(map(_GETTERS[name], agents)) for name in _NAMES}
    plain = _plain(chain.from_iterable(columns[name] for name in _TEXT_NAMES), label)
    for name in _TEXT_NAMES:
        new = _text_column(columns[name], _KIND[name], plain, label)
        if new is not None:
            _set(agents, name, new)
            columns[name] = new
    for name in _COUNT_NAMES:
        new = _converted(columns[name], to_count, skip=int)
        if new is not None:
            _set(agents, name, new)
            columns[name] = new
    new = _converted(columns["skill_options"], lambda value: label.skills(list(value) if type(value) is tuple else value))
    if new is not None:
        _set(agents, "skill_options", new)
    _keyed_users(agents, keys, columns, label)
    seconds = columns["status_time_sec"]
    if None in seconds:
        mmss = columns["status_time_mmss"]
        _set(agents, "status_time_sec", [mmss_seconds(m) if sec is None else sec for sec, m in zip(seconds, mmss)])
    return columns


_LABEL_KINDS = tuple(_KIND[name] for name in _Labels.__struct_fields__)


def _normalise_labels(agents: list[_Labels], keys: list[str] | None, label: LabelText) -> dict[str, list]:
    """`_normalise` for the label fields alone (figures-only answers)."""
    if not agents:
        return {}
    columns = {name: list(map(_GETTERS[name], agents)) for name in _Labels.__struct_fields__}
    plain = _plain(chain.from_iterable(columns.values()), label)
    for name, kind in zip(_Labels.__struct_fields__, _LABEL_KINDS):
        new = _text_column(columns[name], kind, plain, label)
        if new is not None:
            _set(agents, name, new)
            columns[name] = new
    _keyed_users(agents, keys, columns, label)
    return columns


def _keyed_users(agents: list, keys: list[str] | None, columns: dict[str, list], label: LabelText) -> None:
    """In a collection keyed by user_id, an agent without one is the key's."""
    users = columns["user_id"]
    if keys is not None and None in users:
        users = [label.ident(key) if user is None else user for user, key in zip(users, keys)]
        _set(agents, "user_id", users)
        columns["user_id"] = users


def _text_column(column: list, kind: str, plain: bool, label: LabelText) -> list | None:
    """A text or id column as the reference reads it, or None when nothing changes."""
    if plain or _plain(column, label):
        empties = _EMPTIES[kind]
        if empties.keys().isdisjoint(column):
            return None
        return list(map(empties.get, column, column))
    return _converted(column, label.ident if kind == "ident" else label.text)


def _plain(values, label: LabelText) -> bool:
    """Whether these texts need no normalisation: ASCII, none padded with spaces (" -"
    is an empty), no form of the token in them. Lengths are held by the decoder."""
    joined = _SEP + _SEP.join(filter(None, values)) + _SEP
    if not joined.isascii() or " " + _SEP in joined or _SEP + " " in joined:
        return False
    return not any(form in joined for form in label.forms)


def _converted(column: list, convert, skip: type | None = None) -> list | None:
    """The column through `convert`, once per distinct value (None when nothing changes;
    values of type `skip` are kept as they are)."""
    table = {}
    for value in set(column):
        if value is None or type(value) is skip:
            continue
        new = convert(value)
        if new is not value:
            table[value] = new
    if not table:
        return None
    return list(map(table.get, column, column))


def _set(agents: list, name: str, values: list) -> None:
    deque(map(force_setattr, agents, repeat(name), values), maxlen=0)

