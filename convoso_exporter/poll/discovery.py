"""Discovery: every campaign and queue in the account-wide answer becomes a target.

The account target's answer lists the account's scopes: the live service under
`campaigns` / `queues`, and every agent names its campaign and queue. Each scope found
(and kept by the include / exclude regexes and `max_targets`) becomes a target named
`campaign:<id>` or `queue:<id>`, polled every `discovery.interval` with its filter, so
its own figures (dialable leads, calls, answered, dropped) have a series of their own.

A scope missing from an answer is not dropped at once (one partial answer must not make
campaigns flap): its target, and what discovery remembers of it (its name), stay while
it was seen within the last three discovery intervals (`expiry.py`, the rule for
everything kept per scope), then go.
Scopes cut by `max_targets` are counted, never dropped silently; the cut is stable:
campaigns before queues, then by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from convoso_exporter.api.model import SearchResult, id_order
from convoso_exporter.config.schema import CAMPAIGN, QUEUE, DiscoverySettings, Target
from convoso_exporter.expiry import linger, refresh

KINDS = (CAMPAIGN, QUEUE)
# Why a scope seen in the account is or is not polled (the `outcome` label).
POLLED, FILTERED, OVER_LIMIT = "polled", "filtered", "over_limit"
OUTCOMES = (POLLED, FILTERED, OVER_LIMIT)


@dataclass(frozen=True)
class Found:
    """What one discovery round decided."""

    targets: tuple[Target, ...]  # in a stable order: campaigns, then queues, by id
    counts: dict[tuple[str, str], int]  # (kind, outcome) -> scopes


def target_name(kind: str, ident: str) -> str:
    """`<kind>:<ident>`: a discovered scope's target, and an endpoint's beside a scope."""
    return f"{kind}:{ident}"


class Discovery:
    """Remembers when each scope was last seen; turns account answers into targets."""

    def __init__(self, settings: DiscoverySettings) -> None:
        self.settings = settings
        self._linger = linger(settings.interval)
        self._seen: dict[tuple[str, str], float] = {}  # (kind, id) -> wall time last seen
        self._names: dict[tuple[str, str], str | None] = {}  # (kind, id) -> its last name
        self.found = Found((), dict.fromkeys(((k, o) for k in KINDS for o in OUTCOMES), 0))

    def update(self, result: SearchResult, wall: float) -> Found:
        """One discovery round from a successful account answer at wall-clock `wall`."""
        settings = self.settings
        present = []
        for kind, enabled in ((CAMPAIGN, settings.campaigns), (QUEUE, settings.queues)):
            if enabled:
                for ident, name in result.scope_names(kind).items():
                    self._names[(kind, ident)] = name
                    present.append((kind, ident))
        self._seen, gone = refresh(self._seen, present, wall, self._linger)
        for key in gone:
            del self._names[key]
        self.found = self._decide(sorted(self._seen, key=_order))
        return self.found

    def _decide(self, keys: Iterable[tuple[str, str]]) -> Found:
        counts = dict.fromkeys(((k, o) for k in KINDS for o in OUTCOMES), 0)
        targets: list[Target] = []
        for kind, ident in keys:
            name = self._names[(kind, ident)]
            if not self._wanted(ident, name):
                outcome = FILTERED
            elif len(targets) >= self.settings.max_targets:
                outcome = OVER_LIMIT
            else:
                outcome = POLLED
                targets.append(self._target(kind, ident, name))
            counts[(kind, outcome)] += 1
        return Found(tuple(targets), counts)

    def _wanted(self, ident: str, name: str | None) -> bool:
        texts = (ident,) if name is None else (ident, name)
        include, exclude = self.settings.include, self.settings.exclude
        if include is not None and not any(include.search(text) for text in texts):
            return False
        return exclude is None or not any(exclude.search(text) for text in texts)

    def _target(self, kind: str, ident: str, name: str | None) -> Target:
        interval = self.settings.interval
        if kind == CAMPAIGN:
            return Target(target_name(kind, ident), campaign_id=ident, kind=kind, interval=interval, campaign_name=name)
        return Target(target_name(kind, ident), queue_id=ident, kind=kind, interval=interval, queue_name=name)


def _order(key: tuple[str, str]) -> tuple:
    """Campaigns before queues, each in id order (`id_order`)."""
    kind, ident = key
    return (KINDS.index(kind), *id_order(ident))
