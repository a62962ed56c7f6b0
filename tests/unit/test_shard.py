"""`--shard=i/n`: parsing, partitioning and stability of the target assignment."""

from __future__ import annotations

from collections import Counter

import pytest

from convoso_exporter.config.schema import Target
from convoso_exporter.shard import (
    ShardError,
    _jump_hash,
    parse_shard,
    select_targets,
    shard_of,
)

NAMES = [f"campaign-{i}" for i in range(200)] + ["queue/sales", "ünïcode", "", "x" * 300]
TARGETS = [Target(name=name) for name in NAMES]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0/1", (0, 1)), ("0/3", (0, 3)), ("2/3", (2, 3)), ("9/10", (9, 10)), ("007/8", (7, 8))],
)
def test_parse_shard_accepts_zero_based_index(value, expected):
    assert parse_shard(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "3/3", "4/3", "1/0", "0/0", "-1/3", "1/-3", "+1/3", "1", "1/", "/3", "a/b", "1/2/3",
     " 1/3", "1/3 ", "1 / 3", "1.0/3", "١/٣", "1:3"],
)
def test_parse_shard_rejects_with_one_line_message(value):
    with pytest.raises(ShardError) as caught:
        parse_shard(value)
    message = str(caught.value)
    assert message == f"--shard: expected i/n with 0 <= i < n, got {value!r}"
    assert "\n" not in message


@pytest.mark.parametrize("count", range(1, 8))
def test_every_target_lands_in_exactly_one_shard(count):
    shards = [select_targets(TARGETS, index, count) for index in range(count)]
    owners = Counter(target.name for shard in shards for target in shard)
    assert set(owners) == set(NAMES)
    assert set(owners.values()) == {1}
    for index, shard in enumerate(shards):
        assert all(shard_of(target.name, count) == index for target in shard)


def test_shards_are_roughly_balanced():
    # 204 targets over 4 shards: each gets a fair share (expected 51), none is starved.
    sizes = [len(select_targets(TARGETS, index, 4)) for index in range(4)]
    assert sum(sizes) == len(TARGETS)
    assert min(sizes) >= 25, sizes


def test_selection_keeps_config_order():
    selected = select_targets(TARGETS, 1, 3)
    positions = [NAMES.index(target.name) for target in selected]
    assert positions == sorted(positions)


def test_adding_a_target_moves_no_other_target():
    before = {t.name: shard_of(t.name, 5) for t in TARGETS}
    grown = TARGETS + [Target(name="brand-new-campaign")]
    after = {t.name: shard_of(t.name, 5) for t in grown}
    assert {name: after[name] for name in before} == before


def test_growing_replica_count_moves_targets_only_to_the_new_shard():
    for count in range(1, 7):
        moved = 0
        for name in NAMES:
            old, new = shard_of(name, count), shard_of(name, count + 1)
            if old != new:
                assert new == count, (name, old, new)
                moved += 1
        # About 1/(count+1) of the targets move; far fewer than a `hash % n` reshuffle.
        assert moved <= len(NAMES) * 2 / (count + 1), (count, moved)


def test_select_targets_rejects_bad_index():
    for index, count in [(3, 3), (-1, 3), (0, 0)]:
        with pytest.raises(ValueError):
            select_targets(TARGETS, index, count)


@pytest.mark.parametrize(
    ("key", "buckets", "expected"),
    # The published test vectors of the reference jump consistent hash.
    [(1, 1, 0), (42, 57, 43), (0xDEAD10CC, 1, 0), (0xDEAD10CC, 666, 361), (256, 1024, 520)],
)
def test_jump_hash_matches_reference_vectors(key, buckets, expected):
    assert _jump_hash(key, buckets) == expected


def test_assignment_never_changes_between_releases():
    # A changed assignment would silently move targets between running replicas on upgrade.
    assert [shard_of(name, 3) for name in ("sales", "support", "campaign-0", "")] == [1, 0, 0, 2]
    assert [shard_of(name, 10) for name in ("sales", "support", "campaign-0", "")] == [1, 9, 9, 5]
