"""Which targets this exporter polls: the account, what discovery found, the config's own.

- The account target (`account`, no filter, every `poll_interval`) is the backbone:
  every agent count and per-agent series comes from its answer, and discovery reads it.
- Discovered targets (`campaign:<id>`, `queue:<id>`, every `discovery.interval`).
- Explicit targets from the config, for slices discovery cannot give (skills, one
  agent, a custom filter).

With `--shard i/n` every target but the account goes to the one shard its name hashes
to. The account's series are published by the shard that owns the name `account`; the
other shards still poll it (every `discovery.interval`, unpublished) because discovery
needs it, and with discovery off they do not poll it at all. So replicas never publish
the same series twice, the account's breakdown included.

The API budget is the calls per minute these targets imply: 60 / interval per target.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from convoso_exporter.config.schema import ACCOUNT, ACCOUNT_TARGET, Config, Target
from convoso_exporter.shard import select_targets, shard_of

ACCOUNT_NAME = ACCOUNT_TARGET

Shard = tuple[int, int]  # (index, count)


def account_target(config: Config, shard: Shard | None) -> Target | None:
    """The account target as this replica polls it, or None when it need not."""
    if shard is None or shard_of(ACCOUNT_NAME, shard[1]) == shard[0]:
        return Target(ACCOUNT_NAME, kind=ACCOUNT)
    if config.discovery.enabled:
        return Target(ACCOUNT_NAME, kind=ACCOUNT, interval=config.discovery.interval, publish=False)
    return None


def plan(config: Config, discovered: Sequence[Target], shard: Shard | None) -> tuple[Target, ...]:
    """Every target this replica polls, in a stable order: account, discovered, explicit."""
    others = [*discovered, *config.targets]
    if shard is not None:
        others = list(select_targets(others, *shard))
    account = account_target(config, shard)
    return tuple([account, *others] if account is not None else others)


def budget_per_minute(targets: Iterable[Target], poll_interval: float) -> float:
    """API calls per minute these targets make when every poll succeeds."""
    return sum(60.0 / (target.interval or poll_interval) for target in targets)


def same_plan(a: Sequence[Target], b: Sequence[Target]) -> bool:
    """Equal targets with equal display names (which `==` ignores)."""
    return len(a) == len(b) and all(x == y and x.same_names(y) for x, y in zip(a, b))
