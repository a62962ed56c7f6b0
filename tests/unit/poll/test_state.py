"""convoso_exporter.poll.state: immutable target states, their transitions and freshness."""

from __future__ import annotations

import dataclasses

import pytest

from convoso_exporter.api.model import SearchResult
from convoso_exporter.config.schema import Target
from convoso_exporter.poll.state import STALE_INTERVALS, TargetState, stale_after

RESULT = SearchResult(agent_total=3)
OTHER = SearchResult(agent_total=4)


def test_a_published_state_cannot_be_edited():
    state = TargetState(Target("a")).failed("server", "HTTP 500", wall=10.0, duration=0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.up = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        state.errors_by_kind["server"] = 99  # type: ignore[index]


def test_transitions_build_new_states_and_leave_the_old_ones_alone():
    first = TargetState(Target("a"), stale_after=45.0).succeeded(RESULT, wall=100.0, duration=0.2)
    second = first.failed("timeout", "no answer", wall=115.0, duration=10.0)
    third = second.failed("timeout", "no answer", wall=130.0, duration=10.0)
    fourth = third.succeeded(OTHER, wall=145.0, duration=0.3)

    # Each reader keeps exactly what it took, whatever was published after.
    assert (first.up, first.generation, dict(first.errors_by_kind)) == (True, 1, {})
    assert (second.up, second.consecutive_failures, dict(second.errors_by_kind)) == (False, 1, {"timeout": 1})
    assert (third.consecutive_failures, dict(third.errors_by_kind)) == (2, {"timeout": 2})
    assert dict(second.errors_by_kind) == {"timeout": 1}

    assert second.snapshot is RESULT and second.last_success == 100.0  # last good data kept
    assert second.last_attempt == 115.0 and second.last_error == "no answer"
    assert fourth.snapshot is OTHER and fourth.up and fourth.consecutive_failures == 0
    assert fourth.last_error is None and fourth.last_error_kind is None
    assert dict(fourth.errors_by_kind) == {"timeout": 2}  # cumulative
    assert fourth.generation == 4 and fourth.stale_after == 45.0


def test_fresh_for_stale_after_seconds_after_the_last_success():
    state = TargetState(Target("a"), stale_after=45.0).succeeded(RESULT, wall=100.0, duration=0.1)
    assert state.fresh(100.0) and state.fresh(145.0)
    assert not state.fresh(145.001)
    failed = state.failed("server", "HTTP 500", wall=130.0, duration=0.1)
    assert failed.fresh(140.0) and not failed.fresh(146.0)


def test_never_successful_is_never_fresh():
    state = TargetState(Target("a"), stale_after=45.0)
    assert not state.fresh(0.0)
    assert not state.failed("auth", "HTTP 401", wall=1.0, duration=0.1).fresh(1.0)


def test_stale_after_is_a_number_of_intervals():
    assert stale_after(15.0) == STALE_INTERVALS * 15.0 == 45.0


def test_states_compare_by_identity():
    # The renderer caches by published state; two equal-looking states are two publications.
    a = TargetState(Target("a"))
    b = TargetState(Target("a"))
    assert a != b and a == a
