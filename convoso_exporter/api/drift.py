"""Shape telemetry: what an answer sent that the model did not expect.

The exporter was built against the vendor's reference and the simulator; a real account
will differ somewhere. Every answer the client parses is compared with the model as it
is read, and each difference is noted by field and kind:

- `unknown_field`: a field the model does not know (ignored); its name is the field;
- `missing_field`: a documented field absent (or null);
- coerced, read as the model's type: `wrapped` (the payload under `data` or
  `data.entries`; the field says which), `keyed_by_id` (a collection sent as an object
  keyed by id), `number_as_text` (a count sent as text, "12"), `empty_as_text` ("-", or
  "0" for an id, standing for "not sent"; "" is an empty text, not counted),
  `other_type` (another JSON type the field can be read from: an id sent as a number, a
  count as 12.0, skills as an array, PHP's `[]` for an empty object);
- refused or repaired: `wrong_type` (a value the field cannot be read from: cleared; an
  entry of `agents` that is not an object: dropped), `invalid_text` (text a count cannot
  be read from: "abc", "NaN": cleared), `out_of_bounds` (a number beyond 2**53 or longer
  than 32 characters, a negative count: cleared; text over 256 characters: cut; an
  entry nested deeper than the decoder reads: dropped), `invalid_unicode` (bytes that
  are not UTF-8, or escapes of lone surrogates: replaced with U+FFFD).

A `Tally` holds what one answer showed: written by that answer's parse alone, on the
parse thread. The client hands it to `Drift` (in `ApiStats`) once parsed; `Drift`
counts, per endpoint, field and kind, the answers that showed it (so the count is
comparable with `convoso_exporter_api_requests_total`, whatever the account's size),
keeps one example value, and logs each new (endpoint, field, kind) once at warn.
Labels stay bounded: the kinds are fixed, the documented fields are fixed, and of the
unknown field names only the first MAX_UNKNOWN_NAMES per endpoint are kept, the rest
counted under "(other)". Examples are cut short after the token is redacted from them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from typing import Any

from convoso_exporter.api.errors import REDACTED, escaped, one_line, secret_forms
from convoso_exporter.api.fields import Unreadable, has_surrogate, is_number_text
from convoso_exporter.api.limits import MAX_COUNT, MAX_LABEL_CHARS

log = logging.getLogger(__name__)

UNKNOWN_FIELD = "unknown_field"
MISSING_FIELD = "missing_field"
WRAPPED = "wrapped"
KEYED_BY_ID = "keyed_by_id"
NUMBER_AS_TEXT = "number_as_text"
EMPTY_AS_TEXT = "empty_as_text"
OTHER_TYPE = "other_type"
WRONG_TYPE = "wrong_type"
INVALID_TEXT = "invalid_text"
OUT_OF_BOUNDS = "out_of_bounds"
INVALID_UNICODE = "invalid_unicode"
# Every kind, in the order the docs and the landing page list them, with what was done.
KINDS: dict[str, str] = {
    UNKNOWN_FIELD: "ignored",
    MISSING_FIELD: "not sent",
    WRAPPED: "read inside",
    KEYED_BY_ID: "read as a list",
    NUMBER_AS_TEXT: "read as the number",
    EMPTY_AS_TEXT: "read as not sent",
    OTHER_TYPE: "converted",
    WRONG_TYPE: "cleared (a record: dropped)",
    INVALID_TEXT: "cleared",
    OUT_OF_BOUNDS: "cleared (text: cut; a record: dropped)",
    INVALID_UNICODE: "replaced with U+FFFD",
}

OTHER = "(other)"
MAX_UNKNOWN_NAMES = 32  # distinct unknown field names kept per endpoint
MAX_EXAMPLE_CHARS = 40
_MAX_NAME_CHARS = 64
_NONE: Any = object()  # no example (a missing field)


class Tally:
    """What one answer showed: (field, kind) → one example value as sent. Written by
    that answer's parse alone; read once it is done (`Drift.add`), which makes the
    example safe to show (`shown`) only for what it had not seen before."""

    __slots__ = ("endpoint", "notes", "fallback", "_forms", "_names")

    def __init__(self, endpoint: str, secret: str | None = None) -> None:
        self.endpoint = endpoint
        self.notes: dict[tuple[str, str], Any] = {}
        self.fallback: str | None = None  # why the typed path handed the answer to the reference
        self._forms = _forms_of(secret)
        self._names: dict[tuple[str, Any], str] = {}  # (prefix, unknown name as sent) → its label

    def note(self, name: str, kind: str, example: Any = _NONE) -> None:
        self.notes.setdefault((name, kind), example)

    def shown(self, example: Any) -> str:
        """An example of this answer as one short line, safe to log and show."""
        return _shown(example, self._forms)

    def unknown(self, prefix: str, name: Any, example: Any = _NONE) -> None:
        """A field the model does not know, at `prefix` ("" for the payload's level,
        "agents." for an agent's). At most MAX_UNKNOWN_NAMES names per answer."""
        label = self._names.get((prefix, name))
        if label is None:
            label = prefix + (_field_name(name, self._forms) if len(self._names) < MAX_UNKNOWN_NAMES else OTHER)
            self._names[(prefix, name)] = label
            self.note(label, UNKNOWN_FIELD, example)

    def fell_back(self, reason: str) -> None:
        """The typed path could not take the answer as it is: what it noted is dropped,
        the reference parser notes everything again."""
        self.fallback = _safe(one_line(reason), self._forms, 200)  # it may quote the answer
        self.notes.clear()
        self._names.clear()


@lru_cache(maxsize=8)
def _forms_of(secret: str | None) -> tuple[str, ...]:
    return secret_forms(secret) if secret else ()


def shown(value: Any, secret: str | None) -> str:
    """`value` as one short line, safe to log and show: the token redacted before the cut."""
    return _shown(value, _forms_of(secret))


def _field_name(name: Any, forms: tuple[str, ...]) -> str:
    return _safe(escaped(str(name)[: _MAX_NAME_CHARS + _longest(forms)]), forms, _MAX_NAME_CHARS)


def _shown(value: Any, forms: tuple[str, ...]) -> str:
    if value is _NONE:
        return ""
    return _safe(escaped(_text(value, MAX_EXAMPLE_CHARS + _longest(forms))), forms, MAX_EXAMPLE_CHARS)


def _safe(text: str, forms: tuple[str, ...], most: int) -> str:
    """`text` with every form of the token redacted, then cut to `most` characters (in
    that order, so a cut never leaves part of the token)."""
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text if len(text) <= most else text[: most - 3] + "..."


def _longest(forms: tuple[str, ...]) -> int:
    return max(map(len, forms), default=0)


def _text(value: Any, limit: int) -> str:
    """JSON-like text of at most about `limit` characters, at a cost bounded by it."""
    kind = type(value)
    if kind is str:
        return json.dumps(value[:limit], ensure_ascii=False)
    if value is None or kind is bool:
        return json.dumps(value)
    if kind is int:
        return str(value) if value.bit_length() < 128 else f"a number of about {value.bit_length() * 3 // 10} digits"
    if kind is float:
        return repr(value)
    if kind is Unreadable:
        text = value.text
        if len(text) <= limit:
            return f"{text} ({value.why})"
        return f"{text[:limit]}... ({len(text)} characters, {value.why})"
    if kind in (list, tuple):
        return f"an array of {len(value)} items"
    if kind is dict:
        return f"an object of {len(value)} fields"
    try:  # msgspec.Raw and other buffers: JSON text as sent
        return bytes(memoryview(value)[: limit * 4]).decode("utf-8", "replace")
    except TypeError:
        return type(value).__name__


# --- what reading a value took --------------------------------------------------------


def count_kind(value: Any) -> str | None:
    """What reading `value` as a count took (a kind), or None: an integer of 0 to 2**53."""
    return number_kind(value, MAX_COUNT)


def number_kind(value: Any, most: float, fraction: bool = False) -> str | None:
    """What reading `value` as a number from 0 to `most` took (a kind), or None: an
    integer in range (with `fraction`, any number in range: a percentage)."""
    kind = type(value)
    if kind is int or (fraction and kind is float):
        return None if 0 <= value <= most else OUT_OF_BOUNDS
    if value is None:
        return MISSING_FIELD
    if kind is str:
        text = value.strip()
        if text in ("", "-"):
            return EMPTY_AS_TEXT
        number = is_number_text(text)
        if number is None:
            return INVALID_TEXT
        return NUMBER_AS_TEXT if 0 <= number <= most else OUT_OF_BOUNDS
    if kind is float:
        return OTHER_TYPE if 0 <= value <= most else OUT_OF_BOUNDS
    if kind is Unreadable:
        return OUT_OF_BOUNDS
    return WRONG_TYPE


def text_kind(value: Any, ident: bool = False) -> str | None:
    """What reading `value` as text (an id with `ident`) took, or None: text as sent."""
    kind = type(value)
    if kind is str:
        if not value.isascii() and has_surrogate(value):
            return INVALID_UNICODE
        if len(value) > MAX_LABEL_CHARS:
            return OUT_OF_BOUNDS
        text = value.strip()
        return EMPTY_AS_TEXT if text == "-" or (ident and text == "0") else None
    if value is None:
        return MISSING_FIELD
    if kind is int or kind is float:
        return OTHER_TYPE
    if kind is Unreadable:
        return OUT_OF_BOUNDS
    return WRONG_TYPE


def ident_kind(value: Any) -> str | None:
    return text_kind(value, True)


def skills_kind(value: Any) -> str | None:
    """What reading `value` as skills took, or None: comma-separated text."""
    kind = type(value)
    if kind is str:
        found = text_kind(value)
        if found == OUT_OF_BOUNDS:  # the whole is not one label: each skill is
            return OUT_OF_BOUNDS if any(len(part) > MAX_LABEL_CHARS for part in value.split(",")) else None
        return found
    if kind in (list, tuple):
        return OTHER_TYPE
    if value is None:
        return MISSING_FIELD
    return WRONG_TYPE


def note_column(tally: Tally, name: str, column: Iterable[Any], classify: Callable[[Any], str | None]) -> None:
    """Note what reading each distinct value of `column` took (the reference path's
    columns: any JSON value; containers are classified by type alone)."""
    seen: set[type] = set()
    distinct: dict[Any, None] = {}
    for value in column:
        kind = type(value)
        if kind in (list, dict, Unreadable):
            if kind not in seen:
                seen.add(kind)
                found = classify(value)
                if found is not None:
                    tally.note(name, found, value)
        else:
            distinct[value] = None
    for value in distinct:
        found = classify(value)
        if found is not None:
            tally.note(name, found, value)


def note_records(tally: Tally, collection: str, entries: Iterable[tuple[Any, Any]], kinds: Mapping[str, str],
                 classify: Mapping[str, Callable[[Any], str | None]]) -> list[tuple[Any, dict]]:
    """The entries of a collection of records ((key, value): the key of a keyed collection,
    else None) that are objects. Noted, in this order: each entry that is not (dropped),
    what reading each field of `kinds` took (column by column, through `classify` of its
    kind), and the fields outside `kinds` (one example each)."""
    records: list[tuple[Any, dict]] = []
    for key, value in entries:
        if type(value) is dict:
            records.append((key, value))
        else:
            tally.note(collection, OUT_OF_BOUNDS if type(value) is Unreadable else WRONG_TYPE, value)
    if records:
        rows = [record for _, record in records]
        prefix = collection + "."
        for name, kind in kinds.items():
            note_column(tally, prefix + name, [row.get(name) for row in rows], classify[kind])
        for name in sorted(set(chain.from_iterable(rows)).difference(kinds), key=str):
            tally.unknown(prefix, name, next(row[name] for row in rows if name in row))
    return records


# --- accumulated over answers ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One (endpoint, field, kind) seen since the exporter started."""

    endpoint: str
    field: str
    kind: str
    answers: int  # answers that showed it
    example: str  # one value, from the first answer that showed it (safe to show)
    first_seen: float  # Unix time
    last_seen: float


@dataclass(frozen=True)
class DriftReport:
    """What every answer read so far showed: the entries (by endpoint, field, kind), the
    answers read and those that fell back to the reference parser, per endpoint."""

    entries: tuple[Entry, ...] = ()
    answers: Mapping[str, int] = field(default_factory=dict)
    fallbacks: Mapping[str, int] = field(default_factory=dict)


class Drift:
    """The shape telemetry of every answer parsed since start. `add` and `report` may be
    called from any thread."""

    def __init__(self, *, max_names: int = MAX_UNKNOWN_NAMES, clock: Callable[[], float] = time.time) -> None:
        self._max_names = max_names
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], Entry] = {}
        self._names: dict[str, set[str]] = {}  # endpoint → unknown field names kept
        self._answers: dict[str, int] = {}
        self._fallbacks: dict[str, int] = {}

    def add(self, tally: Tally) -> None:
        """Count one parsed answer's tally; log each (endpoint, field, kind) seen for the first time."""
        now = self._clock()
        endpoint = tally.endpoint
        new: list[Entry] = []
        with self._lock:
            self._answers[endpoint] = self._answers.get(endpoint, 0) + 1
            if tally.fallback is not None:
                self._fallbacks[endpoint] = self._fallbacks.get(endpoint, 0) + 1
            for (name, kind), example in tally.notes.items():
                if kind == UNKNOWN_FIELD:
                    name = self._bounded(endpoint, name)
                key = (endpoint, name, kind)
                old = self._entries.get(key)
                if old is None:
                    entry = self._entries[key] = Entry(endpoint, name, kind, 1, tally.shown(example), now, now)
                    new.append(entry)
                else:
                    self._entries[key] = Entry(endpoint, name, kind, old.answers + 1, old.example, old.first_seen, now)
        for entry in new:
            _log_new(entry)
        if tally.fallback is not None:
            log.debug("%s answer read by the reference parser: %s", endpoint, tally.fallback)

    def _bounded(self, endpoint: str, name: str) -> str:
        """`name`, or its prefix + "(other)" once MAX_UNKNOWN_NAMES others were kept."""
        kept = self._names.setdefault(endpoint, set())
        if name in kept or name.endswith(OTHER):
            return name
        if len(kept) < self._max_names:
            kept.add(name)
            return name
        return name[: name.rfind(".") + 1] + OTHER

    def copy(self) -> Drift:
        """A copy later answers do not change (for a render in another thread)."""
        copy = Drift(max_names=self._max_names, clock=self._clock)
        with self._lock:
            copy._entries, copy._answers, copy._fallbacks = dict(self._entries), dict(self._answers), dict(
                self._fallbacks)
            copy._names = {endpoint: set(names) for endpoint, names in self._names.items()}
        return copy

    def report(self) -> DriftReport:
        """A copy, in a stable order: endpoint, field, kind."""
        with self._lock:
            entries = tuple(sorted(self._entries.values(), key=lambda e: (e.endpoint, e.field, e.kind)))
            return DriftReport(entries, dict(self._answers), dict(self._fallbacks))


def _log_new(entry: Entry) -> None:
    example = f" (e.g. {entry.example})" if entry.example else ""
    log.warning("the API sent what the model did not expect: %s answer, field %s: %s, %s%s; counted in "
                "convoso_exporter_api_drift_total and listed on the landing page", entry.endpoint, entry.field,
                entry.kind, KINDS[entry.kind], example)
