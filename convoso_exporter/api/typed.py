"""The client's fast path from body bytes to a `SearchResult`: decoded straight into typed
records (msgspec), then normalised column by column, with `api/parse.py` as the
reference for every record (or answer) this path does not take as it is.

Reading an answer of 50,000 agents with `json.loads` built a dict per agent and a string
per field, and the reference parser then called a converter per field: 14 + 17 µs per
agent. Here msgspec decodes the answer's levels (the root, `data`, `data.entries`) with
each agent left as raw JSON, then each agent straight into a `model.Agent` struct (no
dict, the fields the exporter does not read skipped unbuilt), checking on the way what
each field may be (api/model.py `Wire*`: text of at most MAX_LABEL_CHARS characters,
counts of 0 to MAX_COUNT or numeric text). An agent that is not as expected (a wrong
type, a text too long, a number too large, a byte that is not UTF-8, not an object) is
read by the reference parser alone, so one bad record costs that record's speed, not
the answer's. The rest of the answer (root counts, `call_data`, the scope lists,
`success`) stays raw JSON and is decoded by the reference decoder, bounds and all.
What the reference parser does per field is then done per column, in C where it can:

- text and ids: "" and "-" (and "0" for ids) become None. Everything else a value may
  need (NFC, the token's redaction) is needed only if the column is not plain: ASCII,
  no value padded with spaces, no form of the token in it. Checked on all text columns
  at once (one join), then column by column where they are not; a column that is not
  plain is converted through the reference converters, once per distinct value;
- counts sent as text, skills, the user_id of an agent keyed by it, and status_time_sec
  from status_time_mmss go through the reference converters, once per distinct value.

What reading took is noted in the answer's `drift.Tally` on the way, per column and per
distinct value (never per value in Python): missing fields (None in a column), empties,
numbers as text, other types. The fields the model does not know are learnt for the
levels (api/levels.py) and looked for in a sample of the agents (`_sample`).

The bounds hold as in the reference: each Content-Encoding layer's bytes (decode.py,
before this); objects per answer (counted on the raw bytes before anything is built;
the values bound is the reference's alone, since this path builds one struct of at
most 21 fields per object and skips the rest); the digits of every number it reads; text
normalised and the token redacted. An answer this path cannot take as it is (a BOM, an
HTML content type, a level of an unexpected type, nesting deeper than the decoder
reads...) raises `NotTyped`, and `api/read.py` hands it to the reference, counting it. A
test holds the two paths to the same snapshot on generated answers of every shape.
"""

from __future__ import annotations

import re
from collections import deque
from itertools import chain, repeat
from typing import Any, NamedTuple

import msgspec
from msgspec.structs import astuple, force_setattr

from convoso_exporter.api import parse as reference
from convoso_exporter.api.decode import Body, deeper_than, loads, too_deep
from convoso_exporter.api.drift import (
    EMPTY_AS_TEXT,
    KEYED_BY_ID,
    MISSING_FIELD,
    Tally,
    count_kind,
    skills_kind,
    text_kind,
)
from convoso_exporter.api.fields import EMPTY_ID, EMPTY_TEXT, Unreadable, mmss_seconds, to_count
from convoso_exporter.api.labels import LabelText
from convoso_exporter.api.levels import LEVELS, NotTyped, small_doc
from convoso_exporter.api.limits import Limits
from convoso_exporter.api.model import Agent, SearchResult, WireText
from convoso_exporter.api.shapes import AGENT_KINDS, AGENT_NAMES, COUNT, IDENT, TEXT

_BOM = b"\xef\xbb\xbf"


# --- the answer ------------------------------------------------------------------------


class _Labels(msgspec.Struct, gc=False):
    """What a discovered scope's answer is read for, of each agent: the labels whose
    distinct values are counted (api/labels.py `fold`), and who it is, so that its
    statuses are counted each agent once (`model.status_counts`). Their agents are all
    in the account answer too, and nothing else reads them."""

    user_id: WireText = None
    campaign_id: WireText = None
    queue_id: WireText = None
    status: WireText = None


_RECORDS = {True: msgspec.json.Decoder(Agent), False: msgspec.json.Decoder(_Labels)}
_KEYS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_SAMPLE = 32  # agents whose fields are looked at for unknown ones, per answer


def read_typed(body: Body, limits: Limits, secret: str | None, keep: bool, tally: Tally) -> SearchResult:
    """`body` → `SearchResult`, or NotTyped. Without `keep`, the agents are read for the
    counts of distinct labels only (`folded`) and not kept."""
    raw = body.raw
    if raw.startswith(_BOM) or "html" in body.content_type.lower():
        raise NotTyped("a byte-order mark or an HTML content type")
    # What is built is one struct per object (and a tuple of skills in it) at most: the
    # objects are counted before anything is built. (The reference counts arrays too: it
    # builds every one; this path builds none but skills.)
    if raw.count(b"{") > limits.max_containers:
        raise NotTyped("more objects than the bound: the reference words it")
    try:
        root, extras = LEVELS.decode(raw, tally)
        doc = small_doc(root, extras, tally)
    except (msgspec.MsgspecError, RecursionError, ValueError) as err:
        raise NotTyped(f"{type(err).__name__}: {err}") from None
    levels = [level for level in (root.data.entries if root.data else None, root.data, root) if level is not None]
    found = next((level.agents for level in levels if level.agents is not None), None)
    if found is not None and len(found) > limits.max_agents:
        raise NotTyped("more agents than max_agents: the reference words it")
    dict_levels = reference.levels(doc, tally)  # success: false anywhere raises the error it stands for
    counts = reference.root_counts(dict_levels, tally)
    label = LabelText(secret)
    if found is None:
        tally.note("agents", MISSING_FIELD)
        agents, columns = (), {}
    else:
        keys = list(found) if type(found) is dict else None
        if keys:
            tally.note("agents", KEYED_BY_ID)
        raws = list(found.values()) if keys is not None else found
        _sample(raws, len(raw), tally)
        # Text can hold a control character only through an escape: without a backslash
        # in the body, padding other than spaces need not be looked for.
        reading = _Reading(label, tally, b"\\" in raw)
        agents, columns = _records(raws, keys, keep, reading)
    result = reference.search_result(dict_levels, counts, tuple(agents), label, tally, columns)
    return result if keep else reference.without_agents(result)


def _sample(raws: list[msgspec.Raw], seed: int, tally: Tally) -> None:
    """Note the fields the model does not know, looked for in up to _SAMPLE agents spread
    over the answer (where they start moves with `seed`, so over answers all are seen)."""
    step = max(1, len(raws) // _SAMPLE)
    found: dict[str, msgspec.Raw] = {}
    for raw in raws[seed % step :: step][:_SAMPLE]:
        try:
            fields = _KEYS.decode(raw)
        except (msgspec.MsgspecError, RecursionError, ValueError):  # ValueError: bytes not UTF-8 (3.13)
            continue  # not an object, or not readable: the record's own reading notes it
        for name in fields.keys() - AGENT_KINDS.keys() - found.keys():
            found[name] = fields[name]
    for name in sorted(found):
        tally.unknown("agents.", name, found[name])


class _Reading(NamedTuple):
    """One answer's reading: its text normaliser, its tally, whether it holds escapes."""

    label: LabelText
    tally: Tally
    escapes: bool


def _records(raws: list, keys: list[str] | None, keep: bool,
             reading: _Reading) -> tuple[list, dict[str, list] | None]:
    """The agents, and the columns `fold` counts (None when some were read by the reference)."""
    decode = _RECORDS[keep].decode
    try:
        agents = list(map(decode, raws))
    except (msgspec.MsgspecError, RecursionError, ValueError):  # ValueError: bytes not UTF-8 (3.13)
        pass
    else:
        return agents, (_normalise if keep else _normalise_labels)(agents, keys, reading)
    # Some agent is not as this path reads it: each is decoded alone, and those that do
    # not decode are read by the reference, in their place (the answer's order holds).
    decoded: list = []
    bad: list[tuple[int, str | None, Any]] = []
    for i, raw in enumerate(raws):
        try:
            decoded.append(decode(raw))
        except (msgspec.MsgspecError, RecursionError, ValueError):  # ValueError: bytes not UTF-8 (3.13)
            decoded.append(None)
            bad.append((i, keys[i] if keys is not None else None, _value(raw)))
    typed = [i for i, agent in enumerate(decoded) if agent is not None]
    (_normalise if keep else _normalise_labels)(
        [decoded[i] for i in typed], None if keys is None else [keys[i] for i in typed], reading)
    read = iter(reference.read_entries([(key, value) for _, key, value in bad], reading.label, reading.tally))
    for i, _, value in bad:
        decoded[i] = next(read) if type(value) is dict else None  # what is not an object is dropped
    return [agent for agent in decoded if agent is not None], None


def _value(raw: msgspec.Raw) -> Any:
    """One agent as the reference decoder reads it: bytes that are not UTF-8 kept as lone
    surrogates, a number out of bounds an Unreadable, too deep an Unreadable."""
    text = bytes(raw)
    try:
        value = loads(text)
    except RecursionError:
        return too_deep()
    except ValueError:  # msgspec read it as JSON; a guard, should the two decoders ever disagree
        return Unreadable(text.decode("utf-8", "replace"), "not JSON")
    return too_deep() if deeper_than(value) else value  # the bound decode.capped holds entries to


# --- columns ---------------------------------------------------------------------------

_KIND = AGENT_KINDS
_TEXT_NAMES = tuple(name for name in AGENT_NAMES if _KIND[name] in (TEXT, IDENT))
_COUNT_NAMES = tuple(name for name in AGENT_NAMES if _KIND[name] == COUNT)
# Exact empties per kind, as a table to look values up in (an empty maps to None; so
# does None, so that one look tells a column with neither from the rest).
_EMPTIES = {TEXT: dict.fromkeys((*sorted(EMPTY_TEXT), None)), IDENT: dict.fromkeys((*sorted(EMPTY_ID), None))}
# Between joined values. A value can hold a NUL only through an escape ("\\u0000"): it
# can only make a column look less plain than it is (read by the converters), never more.
_SEP = "\x00"


def _normalise(agents: list[Agent], keys: list[str] | None, reading: _Reading) -> dict[str, list]:
    """Convert the decoded agents' fields as the reference parser does (module docstring)
    and return the label columns `fold` counts. The agents are new and not yet
    published: their fields are set in place."""
    if not agents:
        return {}
    label, tally = reading.label, reading.tally
    columns = _columns(agents, AGENT_NAMES)
    plain = _plain(chain.from_iterable(columns[name] for name in _TEXT_NAMES), reading)
    for name in _TEXT_NAMES:
        new = _text_column(columns[name], name, plain, reading)
        if new is not None:
            _set(agents, name, new)
            columns[name] = new
    for name in _COUNT_NAMES:
        new = _converted(columns[name], to_count, "agents." + name, count_kind, tally, skip=int)
        if new is not None:
            _set(agents, name, new)
            columns[name] = new
    read_skills = lambda value: label.skills(list(value) if type(value) is tuple else value)  # noqa: E731
    new = _converted(columns["skill_options"], read_skills, "agents.skill_options", skills_kind, tally)
    if new is not None:
        _set(agents, "skill_options", new)
    _keyed_users(agents, keys, columns, label)
    seconds = columns["status_time_sec"]
    if None in seconds:
        mmss = columns["status_time_mmss"]
        _set(agents, "status_time_sec", [mmss_seconds(m) if sec is None else sec for sec, m in zip(seconds, mmss)])
    return columns


_LABEL_NAMES = _Labels.__struct_fields__


def _normalise_labels(agents: list[_Labels], keys: list[str] | None, reading: _Reading) -> dict[str, list]:
    """`_normalise` for the label fields alone (figures-only answers)."""
    if not agents:
        return {}
    columns = _columns(agents, _LABEL_NAMES)
    plain = _plain(chain.from_iterable(columns.values()), reading)
    for name in _LABEL_NAMES:
        new = _text_column(columns[name], name, plain, reading)
        if new is not None:
            _set(agents, name, new)
            columns[name] = new
    _keyed_users(agents, keys, columns, reading.label)
    return columns


def _keyed_users(agents: list, keys: list[str] | None, columns: dict[str, list], label: LabelText) -> None:
    """In a collection keyed by user_id, an agent without one is the key's."""
    users = columns["user_id"]
    if keys is not None and None in users:
        users = [label.ident(key) if user is None else user for user, key in zip(users, keys)]
        _set(agents, "user_id", users)
        columns["user_id"] = users


def _text_column(column: list, name: str, plain: bool, reading: _Reading) -> list | None:
    """A text or id column as the reference reads it, or None when nothing changes."""
    kind = _KIND[name]
    label, tally = reading.label, reading.tally
    if plain or _plain(column, reading):
        empties = _EMPTIES[kind]
        if empties.keys().isdisjoint(column):  # no empty, and no None: nearly every column
            return None
        if _has_none(column):
            tally.note("agents." + name, MISSING_FIELD)
        found = [empty for empty in empties if empty is not None and empty in column]
        for empty in found:
            if empty:  # "" is an empty text, not a placeholder: not noted
                tally.note("agents." + name, EMPTY_AS_TEXT, empty)
        return list(map(empties.get, column, column)) if found else None
    ident = kind == IDENT
    return _converted(column, label.ident if ident else label.text, "agents." + name,
                      lambda value: text_kind(value, ident), tally)


def _columns(agents: list, names: tuple[str, ...]) -> dict[str, tuple]:
    """Each field's values in the agents' order: every struct as a tuple, transposed (in C;
    twice as fast as a pass per field)."""
    return dict(zip(names, zip(*map(astuple, agents))))


def _has_none(column: list) -> bool:
    """Whether a column of text holds None (a field missing or null): one truthiness pass
    where it holds neither None nor "" (`None in column` compares each text with None,
    five times as long)."""
    if all(column):
        return False
    return column.count("") + len(list(filter(None, column))) < len(column)


def _plain(values, reading: _Reading) -> bool:
    """Whether these texts need no normalisation: ASCII, none padded with whitespace
    (" -" and "\\t-" are empties, as str.strip reads them), no form of the token in
    them. Lengths are held by the decoder."""
    joined = _SEP + _SEP.join(filter(None, values)) + _SEP
    if not joined.isascii() or " " + _SEP in joined or _SEP + " " in joined:
        return False
    if reading.escapes and _PADDED.search(joined):
        return False
    return not any(form in joined for form in reading.label.forms)


# ASCII whitespace but the space (str.strip's) next to a separator: a value padded with it.
_PADDED = re.compile("\x00[\t\n\x0b\x0c\r\x1c-\x1f]|[\t\n\x0b\x0c\r\x1c-\x1f]\x00")


def _converted(column: list, convert, name: str, classify, tally: Tally, skip: type | None = None) -> list | None:
    """The column through `convert`, once per distinct value (None when nothing changes;
    values of type `skip` are kept as they are). What reading took is noted: `classify`
    runs for a value read as None, and for the first value of each type read as
    something (all of one type are read the same way: "12" is number_as_text as "13" is),
    so a column of thousands of distinct counts as text costs one classification."""
    table = {}
    distinct = set(column)
    if None in distinct:
        tally.note(name, MISSING_FIELD)
    read_types: set[type] = set()
    for value in distinct:
        kind = type(value)
        if value is None or kind is skip:
            continue
        new = convert(value)
        if new is None or kind not in read_types:
            if new is not None:
                read_types.add(kind)
            found = classify(value)
            if found is not None:
                tally.note(name, found, value)
        if new is not value:
            table[value] = new
    if not table:
        return None
    return list(map(table.get, column, column))


def _set(agents: list, name: str, values: list) -> None:
    deque(map(force_setattr, agents, repeat(name), values), maxlen=0)
