"""The readiness rule (`/-/ready`), on published target states.

Readiness (`/-/ready`) is what a Kubernetes rollout waits on, so it must not go green
on an exporter that cannot read the account: ready once the served metrics include a
finished first poll of every target AND the account target (the backbone every agent
count comes from) has succeeded at least once since start. A wrong token or host
therefore keeps a new pod unready and the rollout stalls with the old pod serving.
Once ready it stays ready (across reloads and later failures): from then on the
metrics (`convoso_up`, the alerts) say what fails, and a pod leaving its Service on
every API hiccup would only hide them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from convoso_exporter.poll.plan import ACCOUNT_NAME
from convoso_exporter.poll.state import TargetState


def backbone_succeeded(states: Mapping[str, TargetState]) -> bool:
    """Whether the backbone has answered: the account target, where this replica polls
    it; else (a shard with discovery off) any of its targets; with no target, vacuously."""
    account = states.get(ACCOUNT_NAME)
    if account is not None:
        return account.last_success is not None
    return not states or any(state.last_success is not None for state in states.values())


def readiness(states: Iterable[TargetState], backbone_ok: bool) -> str | None:
    """None when the rule for /-/ready holds; else why not, in one line for the 503."""
    states = list(states)
    pending = [state.target.name for state in states if not state.attempted]
    if pending:
        shown = ", ".join(pending[:3]) + (", ..." if len(pending) > 3 else "")
        return f"waiting for the first poll of {len(pending)} of {len(states)} targets ({shown})"
    if not backbone_ok and states:
        account = [state for state in states if state.target.name == ACCOUNT_NAME]
        what = f"the {ACCOUNT_NAME} target has not" if account else "no target has"
        last = (account or states)[0]
        return f"{what} answered since start (last error: {last.last_error_kind}: {last.last_error})"
    return None
