"""Which targets this exporter polls: the account, what discovery found, the config's own.

- The account target (`account`, no filter, every `poll_interval`) is the backbone:
  every agent count and per-agent series comes from its answer, and discovery reads it.
- Discovered targets (`campaign:<id>`, `queue:<id>`, every `discovery.interval`).
- Explicit targets from the config, for slices discovery cannot give (skills, one
  agent, a custom filter).
- The optional endpoints' calls beside the account and each discovered campaign
  (user-activity and agent-performance search: poll/endpoints.py), for those this
  replica publishes and the endpoints on (`Endpoints.polling`).

With `--shard i/n` every target but the account goes to the one shard its name hashes
to. The account's series are published by the shard that owns the name `account`; the
other shards still poll it (every `discovery.interval`, unpublished) because discovery
needs it, and with discovery off they do not poll it at all. So replicas never publish
the same series twice, the account's breakdown included.

The API budget is the calls per minute these targets imply: 60 / interval per target,
counted by target kind. A kind is also how readily its targets give up their interval
when the budget is over `convoso.max_requests_per_minute` (`stretch_priority`; the
stretch itself is `poll/budget.py`'s): a new kind of target (another endpoint polled
beside search) is counted and stretched by its kind and interval alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from convoso_exporter.config.schema import ACCOUNT, ACCOUNT_TARGET, CUSTOM, Config, Target
from convoso_exporter.poll.endpoints import Polling, configured, endpoint_targets
from convoso_exporter.shard import select_targets, shard_of

ACCOUNT_NAME = ACCOUNT_TARGET

Shard = tuple[int, int]  # (index, count)

# The order in which kinds of target are stretched when the plan is over the ceiling:
# lowest first. The account is the backbone (every agent series, the breakdown and
# discovery come from its answer) and keeps its interval longest; the config's own
# slices come before it; every other kind (discovered campaigns and queues, and any
# kind added later) is stretched first.
STRETCH_PRIORITY = {ACCOUNT: 2, CUSTOM: 1}


def account_target(config: Config, shard: Shard | None) -> Target | None:
    """The account target as this replica polls it, or None when it need not."""
    if shard is None or shard_of(ACCOUNT_NAME, shard[1]) == shard[0]:
        return Target(ACCOUNT_NAME, kind=ACCOUNT)
    if config.discovery.enabled:
        return Target(ACCOUNT_NAME, kind=ACCOUNT, interval=config.discovery.interval, publish=False)
    return None


def plan(config: Config, discovered: Sequence[Target], shard: Shard | None,
         endpoints: Polling | None = None) -> tuple[Target, ...]:
    """Every target this replica polls, in a stable order: account, discovered, explicit,
    then the optional endpoints' beside them (`endpoints`: which are polled; None: those
    the config turns on)."""
    others = [*discovered, *config.targets]
    if shard is not None:
        others = list(select_targets(others, *shard))
    account = account_target(config, shard)
    scopes = [account, *others] if account is not None else others
    beside = endpoint_targets(config, scopes, configured(config) if endpoints is None else endpoints)
    return tuple(scopes + beside)


def interval_of(target: Target, poll_interval: float) -> float:
    """Seconds between polls of `target` as configured (before any stretch)."""
    return target.interval or poll_interval


def stretch_priority(kind: str) -> int:
    """How late targets of `kind` are stretched (higher: later; see STRETCH_PRIORITY)."""
    return STRETCH_PRIORITY.get(kind, 0)


def calls_per_minute(targets: Iterable[Target], poll_interval: float) -> dict[str, float]:
    """API calls per minute by target kind when every poll succeeds, as configured."""
    calls: dict[str, float] = defaultdict(float)
    for target in targets:
        calls[target.kind] += 60.0 / interval_of(target, poll_interval)
    return dict(calls)


def budget_per_minute(targets: Iterable[Target], poll_interval: float) -> float:
    """API calls per minute these targets make when every poll succeeds."""
    return sum(calls_per_minute(targets, poll_interval).values())


def same_plan(a: Sequence[Target], b: Sequence[Target]) -> bool:
    """Equal targets with equal display names (which `==` ignores)."""
    return len(a) == len(b) and all(x == y and x.same_names(y) for x, y in zip(a, b))
