"""Split the configured targets between several exporter replicas (`--shard=i/n`).

When one exporter cannot poll every target (API rate limits per source, or simply too
many targets), run `n` replicas with the same config and `--shard=0/n` ... `--shard=n-1/n`.
Each replica polls only the targets assigned to its shard; together they poll every
target exactly once, and their series never overlap.

Shard indexes are 0-based: `--shard=i/n` with `0 <= i < n`. The default `0/1` keeps
every target.

A target's shard depends only on its `name` and `n`, through a hash that is the same
in every process and on every machine (SHA-256, never Python's per-process salted
`hash()`), so:
- adding or removing a target moves no other target;
- growing from `n` to `n+1` replicas moves only about `1/(n+1)` of the targets, all to
  the new shard (jump consistent hash, Lamping & Veach 2014), instead of reshuffling
  most of them as `hash % n` would.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Protocol, TypeVar

_SHARD_RE = re.compile(r"([0-9]+)/([0-9]+)")

# Constants of the jump consistent hash's 64-bit linear congruential generator.
_LCG_MULTIPLIER = 2862933555777941757
_MASK64 = (1 << 64) - 1


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class ShardError(ValueError):
    """A `--shard` value that is not `i/n` with `0 <= i < n`; one line."""


def parse_shard(value: str) -> tuple[int, int]:
    """Parse `"i/n"` into `(i, n)`, 0-based: `0 <= i < n`."""
    match = _SHARD_RE.fullmatch(value)
    if match is None:
        raise ShardError(_shard_message(value))
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or index >= count:
        raise ShardError(_shard_message(value))
    return index, count


def _shard_message(value: str) -> str:
    return f"--shard: expected i/n with 0 <= i < n, got {value!r}"


def shard_of(name: str, count: int) -> int:
    """The shard (0 .. count-1) that owns the target called `name`."""
    if count < 1:
        raise ValueError(f"shard count must be at least 1, got {count}")
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return _jump_hash(int.from_bytes(digest[:8], "big"), count)


def _jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash: a 64-bit key to a bucket in [0, buckets).

    Growing `buckets` by one moves a key only into the new bucket, and only with
    probability 1/buckets.
    """
    bucket, candidate = -1, 0
    while candidate < buckets:
        bucket = candidate
        key = (key * _LCG_MULTIPLIER + 1) & _MASK64
        candidate = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def select_targets(targets: Iterable[T], index: int, count: int) -> tuple[T, ...]:
    """The targets (anything with a `.name`) that shard `index` of `count` polls, in order."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard index must satisfy 0 <= index < count, got {index}/{count}")
    return tuple(target for target in targets if shard_of(target.name, count) == index)
