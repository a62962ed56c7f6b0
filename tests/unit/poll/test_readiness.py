"""convoso_exporter/poll/readiness.py: `Readiness`, the rule for `/-/ready` and its reason.

Ready: every target has finished its first poll AND the backbone has answered since
start — the account target where this replica polls it, else (a shard with discovery
off) any of its targets. Ready once, ready for good; a backbone that answered once has
answered. The process-level behaviour (the 503's text over HTTP, a wrong token never
ready) is tests/system/test_readiness.py.
"""

from __future__ import annotations

from convoso_exporter.api.model import SearchResult
from convoso_exporter.config.schema import ACCOUNT, Target
from convoso_exporter.poll.readiness import STARTING, Readiness
from convoso_exporter.poll.state import TargetState

ACCOUNT_TARGET = Target("account", kind=ACCOUNT)


def pending(target: Target) -> TargetState:
    return TargetState(target=target)


def ok(target: Target) -> TargetState:
    return pending(target).succeeded(SearchResult(), wall=1.0, duration=0.1)


def failed(target: Target, kind: str = "auth", message: str = "invalid token") -> TargetState:
    return pending(target).failed(kind, message, wall=1.0, duration=0.1)


def test_before_any_render_it_is_not_ready_and_says_so():
    assert not STARTING.ready and STARTING.reason == "waiting for the first render"


def test_ready_when_every_target_was_tried_and_the_account_answered():
    verdict = STARTING.judge([ok(ACCOUNT_TARGET), failed(Target("campaign:1", campaign_id="1"), "api", "no such campaign")])
    assert verdict.ready and verdict.reason is None and verdict.backbone_ok


def test_not_ready_while_a_first_poll_is_pending_and_it_names_them():
    verdict = STARTING.judge([ok(ACCOUNT_TARGET), *(pending(Target(f"t{i}")) for i in range(5))])
    assert verdict.reason == "waiting for the first poll of 5 of 6 targets (t0, t1, t2, ...)"
    # The backbone answered meanwhile: remembered for the next verdict.
    assert verdict.backbone_ok


def test_not_ready_while_the_account_has_never_answered_whatever_else_did():
    verdict = STARTING.judge([failed(ACCOUNT_TARGET), ok(Target("slice", skills=("spanish",)))])
    assert not verdict.ready and not verdict.backbone_ok
    assert verdict.reason == "the account target has not answered since start (last error: auth: invalid token)"


def test_an_account_that_answered_once_since_start_is_enough():
    answered = STARTING.judge([ok(ACCOUNT_TARGET), pending(Target("slice"))])
    later = failed(ACCOUNT_TARGET, "timeout", "no answer in 10s")  # its success is forgotten by this state
    assert answered.judge([later, failed(Target("slice"))]).ready
    assert not STARTING.judge([later, failed(Target("slice"))]).ready


def test_ready_once_is_ready_for_good():
    ready = STARTING.judge([ok(ACCOUNT_TARGET)])
    assert ready.judge([pending(ACCOUNT_TARGET), failed(Target("new"))]) is ready


def test_a_shard_without_the_account_needs_any_target_to_answer():
    a, b = Target("a"), Target("b")
    assert STARTING.judge([failed(a), failed(b)]).reason == (
        "no target has answered since start (last error: auth: invalid token)"
    )
    assert STARTING.judge([failed(a), ok(b)]).ready
    # No target at all (a shard that owns none): nothing to wait for.
    assert STARTING.judge([]) == Readiness(None, True)
