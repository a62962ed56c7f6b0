"""The readiness rule of convoso_exporter/poll/readiness.py (`/-/ready`), on published target states.

Ready: every target has finished its first poll AND the backbone has answered since
start — the account target where this replica polls it, else (a shard with discovery
off) any of its targets. The process-level behaviour (stays ready, the 503's text over
HTTP, a wrong token never ready) is tests/system/test_readiness.py.
"""

from __future__ import annotations

from types import MappingProxyType

from convoso_exporter.api.model import SearchResult
from convoso_exporter.poll.readiness import backbone_succeeded, readiness
from convoso_exporter.config.schema import ACCOUNT, Target
from convoso_exporter.poll.state import TargetState

ACCOUNT_TARGET = Target("account", kind=ACCOUNT)


def pending(target: Target) -> TargetState:
    return TargetState(target=target)


def ok(target: Target) -> TargetState:
    return pending(target).succeeded(SearchResult(), wall=1.0, duration=0.1)


def failed(target: Target, kind: str = "auth", message: str = "invalid token") -> TargetState:
    return pending(target).failed(kind, message, wall=1.0, duration=0.1)


def states(*items: TargetState) -> MappingProxyType:
    return MappingProxyType({state.target.name: state for state in items})


def test_ready_when_every_target_was_tried_and_the_account_answered():
    current = states(ok(ACCOUNT_TARGET), failed(Target("campaign:1", campaign_id="1"), "api", "no such campaign"))
    assert backbone_succeeded(current)
    assert readiness(current.values(), backbone_succeeded(current)) is None


def test_not_ready_while_a_first_poll_is_pending_and_it_names_them():
    current = states(ok(ACCOUNT_TARGET), *(pending(Target(f"t{i}")) for i in range(5)))
    assert readiness(current.values(), True) == "waiting for the first poll of 5 of 6 targets (t0, t1, t2, ...)"


def test_not_ready_while_the_account_has_never_answered_whatever_else_did():
    current = states(failed(ACCOUNT_TARGET), ok(Target("slice", skills=("spanish",))))
    assert not backbone_succeeded(current)
    assert readiness(current.values(), False) == (
        "the account target has not answered since start (last error: auth: invalid token)"
    )


def test_an_account_that_answered_once_since_start_is_enough():
    # The backbone flag is sticky in the app: a later failure does not undo it.
    once = ok(ACCOUNT_TARGET).failed("timeout", "no answer in 10s", wall=2.0, duration=10.0)
    assert backbone_succeeded(states(once))
    assert readiness([once], True) is None


def test_a_shard_without_the_account_needs_any_target_to_answer():
    a, b = Target("a"), Target("b")
    assert not backbone_succeeded(states(failed(a), failed(b)))
    assert backbone_succeeded(states(failed(a), ok(b)))
    assert readiness([failed(a), failed(b)], False) == (
        "no target has answered since start (last error: auth: invalid token)"
    )
    # No target at all (a shard that owns none): nothing to wait for.
    assert backbone_succeeded(states())
    assert readiness([], True) is None
