"""convoso_exporter.api.limits: what one answer may build (objects and arrays, values),
stated per agent from max_agents, and the bounds on numbers and text."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoso_exporter.api.limits import (
    DEFAULT_LIMITS,
    MAX_AGENTS,
    MAX_COUNT,
    MAX_LABEL_CHARS,
    MAX_NUMBER_CHARS,
    MAX_SCOPE_IDS,
    MAX_STATUSES,
    Limits,
)
from convoso_exporter.api.model import COMMON_STATUSES


def test_the_default_answer_holds_100000_agents_400000_containers_and_6_4_million_values():
    limits = Limits()
    assert limits.max_agents == MAX_AGENTS == 100_000
    assert limits.max_containers == 404_096  # 4 per agent + 4096 for the root and its lists
    assert limits.max_values == 6_404_096  # 64 per agent + 4096
    assert DEFAULT_LIMITS == limits


def test_the_bounds_follow_max_agents():
    assert (Limits(1).max_containers, Limits(1).max_values) == (4_100, 4_160)
    assert (Limits(max_agents=3).max_containers, Limits(max_agents=3).max_values) == (4_108, 4_288)
    assert (Limits(50_000).max_containers, Limits(50_000).max_values) == (204_096, 3_204_096)


@pytest.mark.parametrize("agents", [0, -1, -100_000])
def test_max_agents_below_one_is_refused_in_one_line(agents):
    with pytest.raises(ValueError) as info:
        Limits(max_agents=agents)
    assert str(info.value) == f"max_agents: must be >= 1, got {agents}"


def test_limits_are_frozen_and_compare_by_value():
    limits = Limits(10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_agents = 20  # type: ignore[misc]
    assert limits == Limits(10) and limits != Limits(11)
    assert hash(limits) == hash(Limits(10))


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=10**7))
def test_one_more_agent_allows_4_more_containers_and_64_more_values(agents):
    fewer, more = Limits(agents), Limits(agents + 1)
    assert more.max_containers - fewer.max_containers == 4
    assert more.max_values - fewer.max_values == 64
    assert fewer.max_containers > 4 * agents and fewer.max_values > 64 * agents


def test_max_count_is_the_largest_integer_a_float_holds_exactly():
    assert MAX_COUNT == 9_007_199_254_740_992
    assert int(float(MAX_COUNT)) == MAX_COUNT
    assert float(MAX_COUNT + 1) == float(MAX_COUNT)  # one more is no longer told apart
    assert MAX_AGENTS * float(MAX_COUNT) < 1.7e308  # a sum over every agent still fits a float


def test_a_number_of_max_number_chars_digits_converts_quickly_and_exceeds_max_count():
    assert MAX_NUMBER_CHARS == 32
    assert int("9" * MAX_NUMBER_CHARS) > MAX_COUNT  # so the length cap never hides an in-range count
    assert len(str(MAX_COUNT)) < MAX_NUMBER_CHARS


def test_the_caps_on_text_and_distinct_labels():
    assert MAX_LABEL_CHARS == 256
    assert MAX_STATUSES == 64 and MAX_STATUSES > len(COMMON_STATUSES)
    assert MAX_SCOPE_IDS == 1000
