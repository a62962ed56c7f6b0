"""Converters of decoded JSON values into the model's fields, tolerant of the live service.

Each takes any decoded JSON value and never raises: numbers may be strings ("123",
" 12.0 "); booleans are not numbers; text that is not a number becomes None, never 0;
negative counts and counts beyond MAX_COUNT become None (a value out of bounds clears
that value, never the answer: api/drift.py counts it); "" and "-" mean "not sent"
everywhere, and "0" (and 0) also for ids, but is a real 0 for counts. They run for every
field of every agent (up to ~50k agents per poll), so they are small functions, not
try/except chains. Text and ids, as the parser reads them, are `labels.LabelText.text`
and `.ident`: these rules, with the text normalised.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from convoso_exporter.api.limits import MAX_COUNT, MAX_NUMBER_CHARS

EMPTY_TEXT = frozenset(("", "-"))
EMPTY_ID = frozenset(("", "-", "0"))


def json_kind(value: object) -> str:
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


class Unreadable:
    """A value the decoder did not build: a number token longer than MAX_NUMBER_CHARS or
    beyond float range, an entry nested deeper than the decoder reads. It stands in the
    decoded document where the value was, so that the value alone is cleared (every
    converter reads it as not sent) and counted (api/drift.py), never the answer."""

    __slots__ = ("text", "why")

    def __init__(self, text: str, why: str) -> None:
        self.text = text  # what was sent (cut only once the token is redacted from it: api/drift.py)
        self.why = why

    def __repr__(self) -> str:
        return f"Unreadable({len(self.text)} characters, {self.why})"


def _count_from_float(value: float) -> int | None:
    if value != value or not 0 <= value <= MAX_COUNT:  # NaN, negatives, beyond 2**53, inf
        return None
    return int(value)


def to_count(value: Any) -> int | None:
    """A count from an int, float or numeric string: 0 to MAX_COUNT; None for what is not
    a count, or is one beyond its bounds (negative, over MAX_COUNT, longer than
    MAX_NUMBER_CHARS: never int() a long digit string)."""
    kind = type(value)
    if kind is int:  # bool is its own type, so True/False never get here
        return value if 0 <= value <= MAX_COUNT else None
    if kind is str:
        text = value.strip()
        if len(text) > MAX_NUMBER_CHARS:
            return None
        if text.isdigit() and text.isascii():  # the common case: "123"
            number = int(text)
            return number if number <= MAX_COUNT else None
        try:
            return _count_from_float(float(text))
        except ValueError:
            return None
    if kind is float:
        return _count_from_float(value)
    return None


def is_number_text(text: str) -> float | None:
    """The number `text` (stripped) writes, if it writes a finite one: "12", "1e3",
    "-5", a long digit string (as inf: beyond every bound); None for words ("abc",
    "inf", "NaN") and what is not a number."""
    if len(text) > MAX_NUMBER_CHARS:
        return math.inf if text.isascii() and (text.isdigit() or _NUMBER.fullmatch(text)) else None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) or any(ch.isdigit() for ch in text) else None


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a lone surrogate: a JSON escape of one, or a byte that was not
    UTF-8 (decoded with surrogateescape, api/decode.py)."""
    return SURROGATE.search(text) is not None


def number_text(value: Any) -> str | None:
    """Text for an id/name the API sent as a JSON number (bools and containers: None)."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def to_text(value: Any) -> str | None:
    """Free text kept verbatim; "" and "-" mean not sent."""
    if type(value) is str:
        return None if value.strip() in EMPTY_TEXT else value
    return number_text(value)


@lru_cache(maxsize=4096)
def _split_skills(text: str) -> tuple[str, ...] | None:
    # Cached: thousands of agents share a handful of skill strings.
    if text.strip() in EMPTY_TEXT:
        return None
    return _skill_tuple(text.split(","))


def _skill_tuple(items: list[Any]) -> tuple[str, ...]:
    skills = (to_text(item.strip() if type(item) is str else item) for item in items)
    return tuple(skill for skill in skills if skill is not None)


def to_skills(value: Any) -> tuple[str, ...] | None:
    """"english, sales" or ["english", "sales"] -> ("english", "sales")."""
    if type(value) is str:
        return _split_skills(value)
    if type(value) is list:
        return _skill_tuple(value)
    return None


def mmss_seconds(text: str | None) -> int | None:
    """Seconds from "05:00" (mm:ss) or "1:02:03" (h:mm:ss); None if it is neither (or is
    too long to be a time)."""
    if text is None or len(text) > MAX_NUMBER_CHARS:
        return None
    parts = text.strip().split(":")
    if not 2 <= len(parts) <= 3:
        return None
    seconds = 0
    for part in parts:
        if not (part.isdigit() and part.isascii()):
            return None
        seconds = seconds * 60 + int(part)
    return seconds if seconds <= MAX_COUNT else None
