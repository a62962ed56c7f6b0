"""Typed settings from loaded YAML, each checked where it is read.

A `Section` is one mapping of the config (the top level, `convoso`, a target): it
refuses unknown keys, drops nulls (null = not set) and reads each setting as its type,
`section.duration("timeout", 10.0, minimum=0.0)`. Every check that fails raises a
`PathError` with the setting's key path; the loader's `Document.build` adds the file and
line. Messages say what was expected and what was found, never a secret's text.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from convoso_exporter.config.load import KeyPath, PathError, check_keys
from convoso_exporter.config.units import describe, format_duration, kind_of, parse_duration, parse_size

MAX_NAME_LENGTH = 128
MAX_ID_LENGTH = 64
T = TypeVar("T")


def fail(path: KeyPath, message: str) -> NoReturn:
    # `from None`: when called while handling a ValueError/OSError, that error is
    # already in the message; a chained traceback would only add noise.
    raise PathError(path, message) from None


class Section:
    """One mapping of settings at `path`, with only `allowed` keys."""

    def __init__(self, data: Any, path: KeyPath, allowed: tuple[str, ...]) -> None:
        if not isinstance(data, Mapping):
            fail(path, f"expected a mapping of settings, got {describe_value(data)}")
        check_keys(data, path, allowed)
        self.path = path
        self.settings = {key: value for key, value in data.items() if value is not None}

    def at(self, key: str) -> KeyPath:
        return (*self.path, key)

    def __contains__(self, key: str) -> bool:
        return key in self.settings

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def fail(self, key: str | None, message: str) -> NoReturn:
        fail(self.path if key is None else self.at(key), message)

    def value(self, key: str, check: Callable[[Any, KeyPath], T], default: Any = None) -> T:
        """A setting read by one of the value checks below: `section.value("name", label_value)`."""
        return check(self.settings.get(key, default), self.at(key))

    def section(self, key: str, allowed: tuple[str, ...]) -> Section:
        """A nested mapping; an absent or null one reads as empty."""
        return Section(self.settings.get(key, {}), self.at(key), allowed)

    # ------------------------------------------------------------ typed settings

    def duration(self, key: str, default: float, *, minimum: float) -> float:
        if key not in self:
            return default
        seconds = self.parsed(key, parse_duration)
        if seconds < minimum:
            self.fail(key, f"must be at least {format_duration(minimum)}, got {format_duration(seconds)}")
        return seconds

    def size(self, key: str, default: int, *, minimum: int) -> int:
        if key not in self:
            return default
        size = self.parsed(key, parse_size)
        if size < minimum:
            least = f"{minimum // 1024}KiB ({minimum} bytes)" if minimum % 1024 == 0 else f"{minimum} bytes"
            self.fail(key, f"must be at least {least}, got {size} bytes")
        return size

    def parsed(self, key: str, parse: Callable[[Any], T]) -> T:
        """A setting read by a parser from `units` (its ValueError says what was expected)."""
        try:
            return parse(self.settings[key])
        except ValueError as err:
            self.fail(key, str(err))

    def integer(self, key: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        value = self.get(key, default)
        expected = f"an integer from {minimum} to {maximum}" if maximum is not None else f"an integer >= {minimum}"
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected {expected}, got {describe_value(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            self.fail(key, f"expected {expected}, got {int(value)}")
        return int(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {describe_value(value)}")
        return value

    def optional_str(self, key: str, *, secret: bool = False) -> str | None:
        if key not in self:
            return None
        value = self.settings[key]
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {describe_value(value, secret=secret)}")
        if not value.strip():
            self.fail(key, "must not be empty; remove the key to leave it unset")
        return value


# ---------------------------------------------------------------- kinds of values


def base_url(value: Any, where: KeyPath) -> str:
    expected = "expected an http:// or https:// URL like https://api.convoso.com/v1"
    if not isinstance(value, str):
        fail(where, f"{expected}, got {describe_value(value)}")
    # Credentials first, before any message that shows the URL: the password must not be
    # echoed by a later check (a bad port, a bad scheme).
    authority = re.split(r"[/?#]", value.split("://", 1)[-1], maxsplit=1)[0]
    if "@" in authority:
        fail(where, "must not contain credentials; the token goes in auth_token or auth_token_file")
    # Never echo the query or fragment: a request URL pasted here carries the token.
    shown = describe_value(value.split("?", 1)[0].split("#", 1)[0])
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as err:
        fail(where, f"{expected}, got {shown} ({err})")
    if parts.scheme not in ("http", "https") or not parts.hostname or has_space(value):
        fail(where, f"{expected}, got {shown}")
    if "?" in value or "#" in value:  # an empty one too: "/v1?" would swallow the API path
        fail(
            where,
            f"must not have a query or fragment, got {shown} followed by one; "
            "the token goes in auth_token or auth_token_file",
        )
    # The client appends `/agent-monitor/search`; a trailing slash would double it.
    return value.rstrip("/")


def label_value(value: Any, where: KeyPath) -> str:
    """A name that becomes a label value (a target's name)."""
    if value is None:
        fail(where, "missing; every target needs a name (it becomes the `target` label)")
    if not isinstance(value, str):
        fail(where, f"expected a string, got {describe_value(value)}{quote_hint(value)}")
    if not value:
        fail(where, "must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        fail(where, f"too long ({len(value)} characters); expected at most {MAX_NAME_LENGTH}")
    if value != value.strip() or not value.isprintable():
        fail(
            where,
            "expected a label value without control characters or surrounding spaces, "
            f"got {describe_value(value)}",
        )
    return value


def identifier(value: Any, where: KeyPath) -> str | None:
    """Convoso ids are strings on the wire; YAML integers are accepted as written."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        fail(where, f"expected an id (string or integer), got {describe_value(value)}")
    if isinstance(value, int):
        text = getattr(value, "source", str(value))
        if not text.isdigit():
            fail(where, f"YAML reads {text!r} as the number {int(value)}; quote the id, e.g. \"{text}\"")
        return text
    if not value:
        fail(where, "must not be empty; remove the key for no filter")
    if len(value) > MAX_ID_LENGTH or has_space(value) or not value.isprintable():
        fail(
            where,
            f"expected an id without spaces, at most {MAX_ID_LENGTH} characters, got {describe_value(value)}",
        )
    return value


def name_list(value: Any, where: KeyPath) -> tuple[str, ...]:
    """A list of names or one comma-separated string, as the API takes skills."""
    if value is None:
        return ()
    if isinstance(value, str):
        items = [(where, part.strip()) for part in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [((*where, i), item) for i, item in enumerate(value)]
    else:
        fail(where, f"expected a list of skill names or a comma-separated string, got {describe_value(value)}")
    names: list[str] = []
    for item_where, item in items:
        if not isinstance(item, str):
            fail(item_where, f"expected a skill name (string), got {describe_value(item)}{quote_hint(item)}")
        item = item.strip()
        if not item:
            fail(item_where, "empty skill name; expected non-empty names")
        if "," in item or not item.isprintable():
            fail(item_where, f"expected a skill name without commas or control characters, got {describe_value(item)}")
        if item in names:
            fail(item_where, f"duplicate skill {item!r}")
        names.append(item)
    return tuple(names)


def timezone_name(value: Any, where: KeyPath) -> str:
    """An IANA time zone name (`America/New_York`, `UTC`), as zoneinfo knows it."""
    if not isinstance(value, str) or not value.strip():
        fail(where, f"expected an IANA time zone name like UTC or America/New_York, got {describe_value(value)}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        fail(where, f"unknown time zone {describe_value(value)}; expected an IANA name like UTC or America/New_York")
    return value


def regex(value: Any, where: KeyPath) -> re.Pattern[str] | None:
    """A regular expression (Python syntax); "" means none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        fail(where, f"expected a regular expression (string), got {describe_value(value)}{quote_hint(value)}")
    try:
        return re.compile(value)
    except re.error as err:
        fail(where, f"invalid regular expression {describe_value(value)}: {err}")


# ---------------------------------------------------------------- helpers


def describe_value(value: Any, *, secret: bool = False) -> str:
    """A value for an error message; a secret shows only its kind, never its text."""
    if secret and value is not None:
        return kind_of(value)
    return describe(value)


def quote_hint(value: Any) -> str:
    """YAML turns `no`, `on`, `2024-01-01`, `12` into non-strings; say how to keep text."""
    if isinstance(value, (bool, int, float, datetime.date)):
        return "; put it in quotes to make it text"
    return ""


def has_space(text: str) -> bool:
    return any(c.isspace() for c in text)
