"""Bounded decoding of an answer's body as JSON, once its Content-Encoding layers are
undone (api/inflate.py, which bounds the bytes each layer produces).

`decode_json` bounds what the decoded text may build before it is built: its structure
is counted on the raw bytes against `api.limits.Limits` (objects and arrays, values), so
8 MiB of empty agents is refused in milliseconds instead of becoming 2.8 million dicts;
and every number token is bounded while decoding (at most MAX_NUMBER_CHARS characters,
finite), before Python converts it. What is out of bounds in one value, one entry or one
byte costs that value or entry (`Unreadable`, surrogateescape, `by_entry`); only an
answer unreadable as a whole is refused.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NamedTuple

from convoso_exporter.api.errors import ConvosoError, ProtocolError, ResponseTooLarge
from convoso_exporter.api.fields import Unreadable
from convoso_exporter.api.limits import (
    CONTAINERS_PER_AGENT,
    DEFAULT_LIMITS,
    MAX_NUMBER_CHARS,
    VALUES_PER_AGENT,
    Limits,
)
from convoso_exporter.api.shapes import WRAPPERS  # the levels the payload may sit at, below the root

# --- JSON ------------------------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"


class Body(NamedTuple):
    """An answer's decoded body bytes (Content-Encoding undone), not yet JSON-decoded."""

    raw: bytes
    content_type: str


def _looks_like_html(content_type: str, text: str) -> bool:
    return "html" in content_type.lower() or text.lstrip().startswith("<")


def _structure(raw: bytes, limits: Limits) -> ConvosoError | None:
    """Refuse, before json.loads builds it, an answer whose structure is beyond what
    `limits.max_agents` agents need. Counts on the raw bytes are upper bounds (a brace or
    comma inside a string counts too), and cost a few milliseconds per 10 MB."""
    containers = raw.count(b"{") + raw.count(b"[")
    if containers > limits.max_containers:
        return ResponseTooLarge(
            f"answer holds up to {containers} JSON objects and arrays, over the bound of {limits.max_containers} "
            f"({CONTAINERS_PER_AGENT} per agent, max_agents {limits.max_agents}); not parsed"
        )
    values = containers + raw.count(b",") + 1
    if values > limits.max_values:
        return ResponseTooLarge(
            f"answer holds up to {values} JSON values, over the bound of {limits.max_values} "
            f"({VALUES_PER_AGENT} per agent, max_agents {limits.max_agents}); not parsed"
        )
    return None


class _Refused(ValueError):
    """A constant the decoder hooks refuse (NaN, Infinity: not JSON); becomes a ProtocolError."""


_TOKEN_BOUND = f"at most {MAX_NUMBER_CHARS} characters, and finite"


def _int(text: str) -> int | Unreadable:
    if len(text) > MAX_NUMBER_CHARS:  # before int(): its cost grows with the square of the length
        return Unreadable(text, _TOKEN_BOUND)
    return int(text)


def _float(text: str) -> float | Unreadable:
    value = float(text)
    if len(text) > MAX_NUMBER_CHARS or not math.isfinite(value):  # 1e400 is inf
        return Unreadable(text, _TOKEN_BOUND)
    return value


def _constant(name: str) -> float:
    raise _Refused(f"body is not JSON ({name} is not a JSON value)")


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def text_of(raw: bytes | bytearray | memoryview) -> str:
    """The body's text. Bytes that are not UTF-8 become lone surrogates (surrogateescape):
    JSON decodes around them, and where a value holding one is read as text it is
    replaced with U+FFFD (api/labels.py) and counted (api/drift.py), as browsers and
    Go's decoder replace it, instead of refusing the whole answer for one byte."""
    return bytes(raw).decode("utf-8", "surrogateescape")


def loads(text: str | bytes) -> Any:
    """json.loads with every number token bounded: one longer than MAX_NUMBER_CHARS, or
    beyond float range, is an `Unreadable` where it stood (never converted)."""
    return _DECODER.decode(text if type(text) is str else text_of(text))


def decode_json(raw: bytes, content_type: str, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, ConvosoError | None]:
    """(document, None), or (None, the error the body is): ProtocolError for a body that
    is not JSON, ResponseTooLarge for one beyond `limits`. Only an answer unreadable as
    a whole is an error: a number out of bounds is `Unreadable` where it stood, a byte
    that is not UTF-8 a lone surrogate (`text_of`), and an answer nested too deeply for
    the decoder is read entry by entry (`by_entry`).

    Returns instead of raising so the decoder's exception never becomes the
    __context__ of the error built from it.
    """
    raw = raw.removeprefix(_BOM)
    text = text_of(raw)
    if not text.strip():
        return None, ProtocolError("empty body, expected JSON")
    if _looks_like_html(content_type, text):
        return None, ProtocolError("answer is an HTML page, not JSON (wrong base_url?)")
    too_much = _structure(raw, limits)
    if too_much is not None:
        return None, too_much
    try:
        try:
            return capped(loads(text)), None
        except RecursionError:
            return capped(by_entry(text)), None
    except _Refused as refused:
        return None, ProtocolError(str(refused))
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            return None, ProtocolError(f"truncated JSON ({len(raw)} bytes)")
        return None, ProtocolError(f"body is not JSON ({exc.msg} at char {exc.pos})")
    except RecursionError:
        return None, ProtocolError("JSON nested too deeply")


# --- entry by entry --------------------------------------------------------------------

_SPACE = re.compile(r"[ \t\n\r]*")
# A string (escapes included) or a bracket: what finding the end of a value looks at.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[][{}]')
_TOO_DEEP = "nested deeper than the decoder reads"
# Levels of nesting one value may hold: an entry of `agents`, a member of a level, a
# document that is not an object (the API's deepest value holds two).
# Python's json decoder refuses somewhere near 1,000 levels on 3.11 and far deeper on
# 3.13: a bound of the exporter's own makes one hostile entry cost that entry on both.
MAX_DEPTH = 64
_TOO_DEEP_TEXT = f"(nested more than {MAX_DEPTH} levels deep)"


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` (decoded JSON) nests more than `limit` containers deep; found
    without recursion, stopping at the first branch that does."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is dict:
            children = item.values()
        elif kind is list:
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if type(child) in (dict, list))
    return False


def too_deep() -> Unreadable:
    return Unreadable(_TOO_DEEP_TEXT, _TOO_DEEP)


def capped(doc: Any) -> Any:
    """The document with each member of its levels (the root, `data`, `data.entries`) and
    each entry of `agents` that nests deeper than MAX_DEPTH an `Unreadable` where it
    stood, as `by_entry` leaves what the decoder could not read."""
    if type(doc) is not dict:
        if deeper_than(doc):
            raise RecursionError  # not an object: nothing to keep of it (by_entry says the same)
        return doc
    level = doc
    for depth in range(len(WRAPPERS) + 1):
        for key, value in list(level.items()):
            if key == "agents" and type(value) in (list, dict):
                entries = value.items() if type(value) is dict else enumerate(value)
                for index, entry in list(entries):
                    if deeper_than(entry):
                        value[index] = too_deep()
            elif not (depth < len(WRAPPERS) and key == WRAPPERS[depth] and type(value) is dict):
                if deeper_than(value):
                    level[key] = too_deep()
        inner = level.get(WRAPPERS[depth]) if depth < len(WRAPPERS) else None
        if type(inner) is not dict:
            break
        level = inner
    return doc


def by_entry(text: str) -> dict:
    """An answer too deeply nested for the decoder (a RecursionError), read member by
    member at its levels (the root, `data`, `data.entries`) and entry by entry in
    `agents`: a member or entry that cannot be read is an `Unreadable` where it stood,
    so one hostile entry costs that entry, not the answer. Anything else is read as a
    whole, by the same decoder. A document that is not an object is nested too deeply."""
    start = _SPACE.match(text).end()
    if not text.startswith("{", start):
        raise RecursionError
    doc, end = _members(text, start, 0)
    if _SPACE.match(text, end).end() != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return doc


def _members(text: str, pos: int, depth: int) -> tuple[dict, int]:
    members: dict = {}
    pos = _SPACE.match(text, pos + 1).end()
    if text.startswith("}", pos):
        return members, pos + 1
    while True:
        key, pos = _DECODER.raw_decode(text, pos)
        if type(key) is not str:
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, pos)
        pos = _expect(text, pos, ":")
        opener = text[pos : pos + 1]
        if key == "agents" and opener in ("[", "{"):
            members[key], pos = _entries(text, pos)
        elif depth < len(WRAPPERS) and key == WRAPPERS[depth] and opener == "{":
            members[key], pos = _members(text, pos, depth + 1)
        else:
            members[key], pos = _value(text, pos)
        pos = _SPACE.match(text, pos).end()
        if text.startswith("}", pos):
            return members, pos + 1
        pos = _expect(text, pos, ",")


def _entries(text: str, pos: int) -> tuple[list | dict, int]:
    keyed = text.startswith("{", pos)
    found: list | dict = {} if keyed else []
    close = "}" if keyed else "]"
    pos = _SPACE.match(text, pos + 1).end()
    if text.startswith(close, pos):
        return found, pos + 1
    while True:
        if keyed:
            key, pos = _DECODER.raw_decode(text, pos)
            if type(key) is not str:
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, pos)
            pos = _expect(text, pos, ":")
            found[key], pos = _value(text, pos)
        else:
            value, pos = _value(text, pos)
            found.append(value)
        pos = _SPACE.match(text, pos).end()
        if text.startswith(close, pos):
            return found, pos + 1
        pos = _expect(text, pos, ",")


def _expect(text: str, pos: int, char: str) -> int:
    pos = _SPACE.match(text, pos).end()
    if not text.startswith(char, pos):
        raise json.JSONDecodeError(f"Expecting {char!r} delimiter", text, pos)
    return _SPACE.match(text, pos + 1).end()


def _value(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except RecursionError:
        end = _end_of(text, pos)
        return Unreadable(text[pos:end], _TOO_DEEP), end


def _end_of(text: str, pos: int) -> int:
    """Where the array or object at `pos` ends, found without recursion (strings skipped)."""
    depth = 0
    for token in _TOKENS.finditer(text, pos):
        char = text[token.start()]
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return token.end()
    raise json.JSONDecodeError("Unterminated array or object", text, len(text))
