"""The levels of a search answer (the root, `data`, `data.entries`) decoded by msgspec for
the typed path (api/typed.py): each agent left raw, the other fields the parser reads raw
(small: decoded by the reference decoder, bounds and all), and the fields the model does
not read learnt as answers send them, so the shape telemetry sees them (api/drift.py).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import msgspec

from convoso_exporter.api.decode import loads
from convoso_exporter.api.drift import MAX_UNKNOWN_NAMES, Tally
from convoso_exporter.api.shapes import SEARCH_SMALL_FIELDS, WRAPPERS


class NotTyped(Exception):
    """The answer is not one the typed path takes as it is: the reference decides."""


_NONE = msgspec.Raw(b"")  # a level's field the answer does not have
_AGENTS = dict[str, msgspec.Raw] | list[msgspec.Raw] | None
# msgspec's words for an unknown field: below the root they end with where ("- at `$.data`").
_UNKNOWN = (re.compile(r"Object contains unknown field `(.*)` - at `[^`]*`", re.DOTALL),
            re.compile(r"Object contains unknown field `(.*)`", re.DOTALL))


def _level_decoder(extras: tuple[str, ...], forbid: bool) -> msgspec.json.Decoder:
    """A decoder of the root, `data` and `data.entries` (each level reads the next one),
    their agents raw, the fields in `extras` (known not to be the model's) raw too."""

    def level(name: str, inner: tuple[str, Any] | None) -> type:
        # An extra is `_<its index>` renamed, unless it is the level this one reads.
        rename = {f"_{i}": extra for i, extra in enumerate(extras) if inner is None or extra != inner[0]}
        fields = [(field, msgspec.Raw, _NONE) for field in (*SEARCH_SMALL_FIELDS, *rename)]
        fields.append(("agents", _AGENTS, None))
        if inner is not None:
            fields.append((inner[0], inner[1] | None, None))
        return msgspec.defstruct(name, fields, forbid_unknown_fields=forbid, gc=False, rename=rename or None)

    data = level("Data", ("entries", level("Entries", None)))
    return msgspec.json.Decoder(level("Root", ("data", data)))


class Levels:
    """Decodes a search answer's levels, learning the fields they hold that the model does
    not read: a level with one not learnt yet fails to decode (forbid_unknown_fields), its
    name is learnt and the answer decoded again. An unknown field costs one more decode
    the first time it is seen (process-wide), and is seen in every answer afterwards.
    Beyond MAX_UNKNOWN_NAMES learnt, the levels are decoded without looking for more."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: tuple[tuple[str, ...], msgspec.json.Decoder] = ((), _level_decoder((), True))

    def decode(self, raw: bytes, tally: Tally) -> tuple[Any, tuple[str, ...]]:
        """(the root, the extras its decoder knows)."""
        for _ in range(MAX_UNKNOWN_NAMES + 2):
            extras, decoder = self._state
            try:
                return decoder.decode(raw), extras
            except msgspec.ValidationError as err:
                found = next(filter(None, (words.fullmatch(str(err)) for words in _UNKNOWN)), None)
                if found is None:
                    raise NotTyped(f"a level does not decode: {err}") from None
                self._learn(found.group(1), extras, tally)
        raise NotTyped("the levels' unknown fields keep changing")

    def _learn(self, name: str, seen: tuple[str, ...], tally: Tally) -> None:
        with self._lock:
            extras = self._state[0]
            if extras != seen or name in extras:
                return  # learnt meanwhile
            if len(extras) < MAX_UNKNOWN_NAMES:
                self._state = ((*extras, name), _level_decoder((*extras, name), True))
            else:
                tally.unknown("", name)
                self._state = (extras, _level_decoder(extras, False))


LEVELS = Levels()


def small_doc(level: Any, extras: tuple[str, ...], tally: Tally) -> dict[str, Any]:
    """The level as the reference parser reads it, agents left out (parsed here); the
    unknown fields it holds noted."""
    doc: dict[str, Any] = {}
    for name in SEARCH_SMALL_FIELDS:
        value = getattr(level, name)
        if value:
            doc[name] = loads(bytes(value))  # the reference decoder, its number bounds included
    for i, name in enumerate(extras):
        value = getattr(level, f"_{i}", None)
        if value:
            tally.unknown("", name, value)
    for key in WRAPPERS:
        inner = getattr(level, key, None)
        if inner is not None:
            doc[key] = small_doc(inner, extras, tally)
    return doc
