"""convoso_exporter.runtime: the interpreter settings the exporter starts with (a short GIL
switch interval, rarer garbage collections, start-up's objects frozen out of every pass).
Each test puts back the interval, the thresholds, the collector's state and the freeze."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest

from convoso_exporter.runtime import tune_runtime


class Node:
    """A weak-referenceable object the collector tracks."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def restored():
    interval, thresholds, enabled = sys.getswitchinterval(), gc.get_threshold(), gc.isenabled()
    frozen_before = gc.get_freeze_count()
    try:
        yield frozen_before
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
        if frozen_before == 0:  # nothing else had frozen anything: undo the freeze exactly
            gc.unfreeze()
        (gc.enable if enabled else gc.disable)()


def test_the_gil_is_handed_back_within_half_a_millisecond():
    sys.setswitchinterval(0.005)  # CPython's default
    tune_runtime()
    assert sys.getswitchinterval() == pytest.approx(0.0005)


def test_the_youngest_generation_is_collected_after_10000_allocations():
    gc.set_threshold(700, 10, 10)  # CPython's default
    tune_runtime()
    assert gc.get_threshold() == (10_000, 10, 100)


def test_tuning_twice_gives_the_same_settings():
    tune_runtime()
    first = (sys.getswitchinterval(), gc.get_threshold())
    tune_runtime()
    assert (sys.getswitchinterval(), gc.get_threshold()) == first


def test_what_exists_at_start_up_is_frozen_and_what_comes_after_is_not(restored):
    before = Node()
    tune_runtime()
    after = Node()
    assert gc.get_freeze_count() > restored
    tracked = {id(obj) for obj in gc.get_objects()}  # the three generations, not the frozen ones
    assert id(before) not in tracked
    assert id(after) in tracked


def test_garbage_is_collected_before_the_freeze_not_frozen_with_it():
    gc.disable()  # no automatic pass may collect the cycle first
    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    del first, second
    assert gone() is not None  # a cycle: only a collection frees it
    tune_runtime()
    assert gone() is None
