"""Durations and sizes as people write them in configs and flags.

`500ms`, `10s`, `1m30s` (Prometheus style) or plain seconds; `512KiB`, `32MiB` or plain
bytes. Used by the config, the simulator's flags and the benchmarks. Errors are
ValueErrors with one-line messages the caller prefixes with the key or flag name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Mapping

from convoso_exporter.api.errors import redact


def parse_duration(value: Any) -> float:
    """Seconds from a Prometheus-style duration (`500ms`, `10s`, `1m`, `1h30m`,
    `2d`; units y w d h m s ms, largest first) or a plain number of seconds
    (`15`, `2.5`, `"2.5"`). Raises ValueError for negatives, booleans and anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a duration like 500ms, 10s or 1m, got {describe(value)}")
    if isinstance(value, str):
        seconds = _parse_duration_text(value.strip())
    else:
        seconds = float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"expected a finite duration, got {describe(value)}")
    if seconds < 0:
        raise ValueError(f"must not be negative, got {describe(value)}")
    return seconds


def parse_size(value: Any) -> int:
    """Bytes from an integer or a size string (`512KiB`, `32MiB`, `1GB`, `4096B`).
    KiB/MiB/GiB are powers of 1024, KB/MB/GB powers of 1000. Raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected a size like 32MiB or a number of bytes, got {describe(value)}")
    if isinstance(value, int):
        size = int(value)
    else:
        match = _SIZE_RE.fullmatch(value.strip())
        if not match:
            raise ValueError(
                f"expected a size like 512KiB, 32MiB or a number of bytes, got {describe(value)}"
            )
        number, unit = match.groups()
        size = int(float(number) * _SIZE_UNITS[(unit or "b").lower()])
    if size < 0:
        raise ValueError(f"must not be negative, got {describe(value)}")
    return size


# Largest first, as Prometheus requires; a year is 365 days there too.
_DURATION_UNITS = (
    ("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600),
    ("m", 60), ("s", 1), ("ms", 0.001),
)
_DURATION_RE = re.compile(
    "".join(rf"(?:(\d+(?:\.\d+)?){unit})?" for unit, _ in _DURATION_UNITS)
)
_PLAIN_NUMBER_RE = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}


def _parse_duration_text(text: str) -> float:
    if _PLAIN_NUMBER_RE.fullmatch(text):
        return float(text)
    match = _DURATION_RE.fullmatch(text)
    if text and match:
        return sum(float(n) * size for n, (_, size) in zip(match.groups(), _DURATION_UNITS) if n)
    if text.startswith("-") and (
        _PLAIN_NUMBER_RE.fullmatch(text[1:]) or (text[1:] and _DURATION_RE.fullmatch(text[1:]))
    ):
        raise ValueError(f"must not be negative, got {describe(text)}")
    raise ValueError(
        "expected a duration like 500ms, 10s, 1m30s (units y w d h m s ms, largest first) "
        f"or a number of seconds, got {describe(text)}"
    )


def format_duration(seconds: float) -> str:
    """`90` → `1m30s`, `0.5` → `500ms`: durations in messages read like the config."""
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


# Tokens the config being read could hold: never shown by `describe`, whatever key they
# were written under (set by the config loader for the duration of one load).
_hidden: ContextVar[tuple[str, ...]] = ContextVar("hidden", default=())


@contextmanager
def hiding(secrets: Iterable[str]) -> Iterator[None]:
    """Within this block, `describe` shows each of `secrets` as <redacted>."""
    reset = _hidden.set(tuple(s for s in secrets if s))
    try:
        yield
    finally:
        _hidden.reset(reset)


def hide(text: str) -> str:
    """`text` with every form of every hidden secret replaced (before any truncation)."""
    for secret in _hidden.get():
        text = redact(text, secret)
    return text


def describe(value: Any) -> str:
    """A short, one-line description of a value for error messages."""
    if isinstance(value, str):
        value = hide(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({int(value)})"
    if isinstance(value, float):
        return f"a number ({value:g})"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return kind_of(value)


def kind_of(value: Any) -> str:
    """The kind of a value, without the value: "a list", "an integer"."""
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"),
                       (str, "a string"), (Mapping, "a mapping"), ((list, tuple), "a list")):
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"
