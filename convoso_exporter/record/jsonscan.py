"""The strings and numbers of a JSON text, each with where it stands, and the text
rewritten with some of them replaced: every other byte (spacing, key order, number
spelling, escapes of the strings left alone) stays exactly as it was.

Redaction (record/redact.py) rewrites values in place this way, so a redacted answer
has the shape, the types and every count of the answer the API sent, byte for byte
outside the values it masks. No object is built per value: a 35 MB answer costs its
text and the list of replacements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

# One token at a time, after any blanks: a string, a punctuation mark, a bare word (number or literal).
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+)', re.S)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = ("true", "false", "null")

# What the parser expects next.
_VALUE, _VALUE_OR_END, _KEY, _KEY_OR_END, _COLON, _COMMA_OR_END, _DONE = range(7)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a value stands: the member name it is the value of (an array's items: the
    array's), whether it is a member name itself, and the member names above it."""

    key: str | None
    is_key: bool
    path: tuple[str | None, ...]


# (decoded string, place) -> its replacement, or None to keep it
OnString = Callable[[str, Place], "str | None"]
# (number as written, place) -> its replacement (a JSON number), or None to keep it
OnNumber = Callable[[str, Place], "str | None"]


class _Frame:
    __slots__ = ("is_object", "path", "key", "expect")

    def __init__(self, is_object: bool, path: tuple[str | None, ...]) -> None:
        self.is_object = is_object
        self.path = path
        self.key: str | None = path[-1] if path and not is_object else None
        self.expect = _KEY_OR_END if is_object else _VALUE_OR_END


def rewrite(text: str, on_string: OnString, on_number: OnNumber) -> str | None:
    """`text` with the values the callbacks replace; None when it is not JSON."""
    try:
        return _rewrite(text, on_string, on_number)
    except ValueError:  # an escape json cannot read
        return None


def _rewrite(text: str, on_string: OnString, on_number: OnNumber) -> str | None:
    pieces: list[str] = []
    done = 0
    root = _Frame(False, ())
    root.expect = _VALUE
    stack = [root]
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() != position:
            return None  # something no token starts with: an unterminated string
        position = match.end()
        token = match.group(1)
        first = token[0]
        frame = stack[-1]
        if first == '"':
            if frame.expect in (_KEY, _KEY_OR_END):
                frame.key = _decode(token)
                new = on_string(frame.key, Place(frame.key, True, frame.path))
                frame.expect = _COLON
            elif frame.expect in (_VALUE, _VALUE_OR_END):
                new = on_string(_decode(token), Place(frame.key, False, frame.path))
                _value_done(frame)
            else:
                return None
            if new is not None:
                pieces += (text[done:match.start(1)], _encode(new))
                done = match.end()
        elif first in "{[":
            if frame.expect not in (_VALUE, _VALUE_OR_END):
                return None
            _value_done(frame)
            stack.append(_Frame(first == "{", frame.path + (frame.key,)))
        elif first in "}]":
            if (first == "}") != frame.is_object or frame.expect not in (_KEY_OR_END, _VALUE_OR_END, _COMMA_OR_END):
                return None
            stack.pop()
        elif first == ":":
            if frame.expect != _COLON:
                return None
            frame.expect = _VALUE
        elif first == ",":
            if frame.expect != _COMMA_OR_END:
                return None
            frame.expect = _KEY if frame.is_object else _VALUE
        else:
            if frame.expect not in (_VALUE, _VALUE_OR_END):
                return None
            if token not in _LITERALS:
                if _NUMBER.fullmatch(token) is None:
                    return None
                new = on_number(token, Place(frame.key, False, frame.path))
                if new is not None:
                    pieces += (text[done:match.start(1)], new)
                    done = match.end()
            _value_done(frame)
    if len(stack) != 1 or root.expect != _DONE or text[position:].strip():
        return None
    pieces.append(text[done:])
    return "".join(pieces)


def _value_done(frame: _Frame) -> None:
    frame.expect = _DONE if not frame.path else _COMMA_OR_END  # the root holds one value


def _encode(value: str) -> str:
    """A JSON string, raw UTF-8 like the API writes; escaped where UTF-8 cannot hold it (a
    lone surrogate, which a JSON escape can carry)."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def _decode(token: str) -> str:
    return token[1:-1] if "\\" not in token else json.loads(token)
