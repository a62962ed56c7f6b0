"""What the exporter knows about one target: an immutable value, replaced whole.

The poller builds a new `TargetState` from the previous one after every finished poll
(`succeeded` / `failed`) and publishes it by swapping one reference, as YACE publishes
each round's registry with one atomic store. Nothing edits a published state, so a
reader in another thread (the renderer) can hold one without copying, and readers
take the current mapping of states once per use.

The freshness rule lives here: a target's data is served for `stale_after` seconds
after its last successful poll (STALE_INTERVALS poll intervals), then withdrawn, so a
failing target's numbers never look live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from convoso_exporter.api.endpoints.activity import UserActivity
from convoso_exporter.api.endpoints.performance import PerformanceAnswer
from convoso_exporter.api.model import SearchResult
from convoso_exporter.config.schema import Target

if TYPE_CHECKING:
    from convoso_exporter.derive.history import Derived

# Data of a failing target is served for this many poll intervals, then removed.
STALE_INTERVALS = 3

_NO_ERRORS: Mapping[str, int] = MappingProxyType({})
# A target's last good answer: a search's, or an optional endpoint's (poll/endpoints.py).
Snapshot = SearchResult | PerformanceAnswer | UserActivity


@dataclass(frozen=True, slots=True, eq=False)
class TargetState:
    """One target's last poll outcome and last good data. Compared by identity: two
    states are the same only if they are the same published object."""

    target: Target
    stale_after: float = math.inf  # seconds after last_success the data stays served
    snapshot: Snapshot | None = None  # last good data (None before the first success)
    last_success: float | None = None  # wall-clock seconds of the last success
    last_attempt: float | None = None  # wall-clock seconds the last poll finished
    up: bool = False  # the last poll succeeded
    attempted: bool = False  # at least one poll finished (ok or not)
    last_duration: float | None = None  # seconds the last poll took
    last_error: str | None = None  # one line, redacted
    last_error_kind: str | None = None
    consecutive_failures: int = 0
    errors_by_kind: Mapping[str, int] = field(default_factory=lambda: _NO_ERRORS)  # cumulative, read-only
    generation: int = 0  # finished polls
    derived: Derived | None = None  # counters and agent time, advanced by each success

    def fresh(self, now: float) -> bool:
        """Whether this target's data is still served (at most `stale_after` old)."""
        return (
            self.snapshot is not None
            and self.last_success is not None
            and now - self.last_success <= self.stale_after
        )

    def succeeded(self, result: Snapshot, *, wall: float, duration: float,
                  derived: Derived | None = None) -> TargetState:
        """The state after a successful poll that returned `result` (and what was derived
        from it; None keeps the previous)."""
        return replace(
            self,
            derived=derived if derived is not None else self.derived,
            snapshot=result,
            last_success=wall,
            last_attempt=wall,
            up=True,
            attempted=True,
            last_duration=duration,
            last_error=None,
            last_error_kind=None,
            consecutive_failures=0,
            generation=self.generation + 1,
        )

    def failed(self, kind: str, message: str, *, wall: float, duration: float) -> TargetState:
        """The state after a failed poll; the last good data is kept (see `fresh`)."""
        errors = dict(self.errors_by_kind)
        errors[kind] = errors.get(kind, 0) + 1
        return replace(
            self,
            last_attempt=wall,
            up=False,
            attempted=True,
            last_duration=duration,
            last_error=message,
            last_error_kind=kind,
            consecutive_failures=self.consecutive_failures + 1,
            errors_by_kind=MappingProxyType(errors),
            generation=self.generation + 1,
        )


def stale_after(interval: float) -> float:
    """How long a target polled every `interval` seconds keeps serving its last data."""
    return STALE_INTERVALS * interval


def few_names(names: Sequence[str]) -> str:
    """The first three target names, then ", ..." when there are more: for a one-line
    reason (readiness, the watchdog) that must stay one line at any number of targets."""
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
