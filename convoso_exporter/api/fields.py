"""Converters of decoded JSON values into the model's fields, tolerant of the live service.

Each takes any decoded JSON value and never raises (but for a count out of range, a
ProtocolError): numbers may be strings ("123", " 12.0 "); booleans are not numbers;
text that is not a number becomes None, never 0; negative counts become None; "" and
"-" mean "not sent" everywhere, and "0" (and 0) also for ids, but is a real 0 for
counts. They run for every field of every agent (up to ~50k agents per poll), so they
are small functions, not try/except chains. Text and ids, as the parser reads them,
are `labels.LabelText.text` and `.ident`: these rules, with the text normalised.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from convoso_exporter.api.errors import ProtocolError
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


def out_of_range(text: str, bound: str) -> str:
    """What is wrong with a number, in a few words (a long one cut short)."""
    shown = text if len(text) <= 24 else f"{text[:12]}...{text[-6:]} ({len(text)} characters)"
    return f"number out of range: {shown}; {bound}"


_COUNT_BOUND = f"counts go up to 2**53 ({MAX_COUNT})"


def _checked(value: int, text: str) -> int:
    if value > MAX_COUNT:
        raise ProtocolError(out_of_range(text, _COUNT_BOUND))
    return value


def _count_from_float(value: float, text: str) -> int | None:
    if value != value or value < 0:  # NaN, negatives (-inf too): not a count
        return None
    if value == math.inf and not any(ch.isdigit() for ch in text):
        return None  # "inf", "Infinity": words, not a number out of range
    if value > MAX_COUNT:
        raise ProtocolError(out_of_range(text, _COUNT_BOUND))
    return int(value)


def to_count(value: Any) -> int | None:
    """A non-negative count from an int, float or numeric string; None for what is not a
    count. A number above MAX_COUNT (or one too long to convert) is a ProtocolError: it
    cannot be added up and rendered like the rest, and the answer that sent it is wrong."""
    kind = type(value)
    if kind is int:  # bool is its own type, so True/False never get here
        return _checked(value, str(value)) if value >= 0 else None
    if kind is str:
        text = value.strip()
        if len(text) > MAX_NUMBER_CHARS:  # never int() a long digit string
            if text.isascii() and (text.isdigit() or _is_float(text)):
                raise ProtocolError(out_of_range(text, f"at most {MAX_NUMBER_CHARS} characters"))
            return None
        if text.isdigit() and text.isascii():  # the common case: "123"
            return _checked(int(text), text)
        try:
            return _count_from_float(float(text), text)
        except ValueError:
            return None
    if kind is float:
        return _count_from_float(value, repr(value))
    return None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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
