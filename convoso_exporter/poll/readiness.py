"""Readiness (`/-/ready`): its rule and its reason, in one object, judged on the states
an exposition was rendered from.

Readiness is what a Kubernetes rollout waits on, so it must not go green on an exporter
that cannot read the account: ready once the served metrics include a finished first
poll of every target AND the account target (the backbone every agent count comes from)
has succeeded at least once since start. A wrong token or host therefore keeps a new
pod unready and the rollout stalls with the old pod serving. Once ready it stays ready
(across reloads and later failures): from then on the metrics (`convoso_up`, the
alerts) say what fails, and a pod leaving its Service on every API hiccup would only
hide them.

The publisher (publisher.py) judges it on the very states it renders and publishes the
verdict with that exposition, so the 503's reason always describes what is served.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from convoso_exporter.poll.plan import ACCOUNT_NAME
from convoso_exporter.poll.state import TargetState, few_names


@dataclass(frozen=True, slots=True)
class Readiness:
    """The verdict for one exposition: `reason` is None when ready, else one line."""

    reason: str | None
    backbone_ok: bool = False  # the backbone has answered since start (sticky)

    @property
    def ready(self) -> bool:
        return self.reason is None

    def judge(self, states: Iterable[TargetState]) -> Readiness:
        """The verdict on `states` (the ones being rendered), following this one: ready
        stays ready, and a backbone that answered once has answered."""
        if self.ready:
            return self
        states = list(states)
        backbone_ok = self.backbone_ok or _backbone_answered(states)
        return Readiness(_reason(states, backbone_ok), backbone_ok)


# Before anything has been rendered.
STARTING = Readiness("waiting for the first render")


def _backbone_answered(states: list[TargetState]) -> bool:
    """The account target has answered, where this replica polls it; else (a shard with
    discovery off) any of its targets has; with no target, vacuously."""
    account = [state for state in states if state.target.name == ACCOUNT_NAME]
    return any(state.last_success is not None for state in account or states) or not states


def _reason(states: list[TargetState], backbone_ok: bool) -> str | None:
    pending = [state.target.name for state in states if not state.attempted]
    if pending:
        shown = few_names(pending)
        return f"waiting for the first poll of {len(pending)} of {len(states)} targets ({shown})"
    if not backbone_ok:
        account = [state for state in states if state.target.name == ACCOUNT_NAME]
        what = f"the {ACCOUNT_NAME} target has not" if account else "no target has"
        last = (account or states)[0]
        return f"{what} answered since start (last error: {last.last_error_kind}: {last.last_error})"
    return None
