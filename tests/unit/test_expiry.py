"""convoso_exporter.expiry: a key absent for three discovery intervals is forgotten."""

from __future__ import annotations

from types import MappingProxyType

from convoso_exporter.expiry import ABSENT_INTERVALS, linger, refresh


def test_the_window_is_three_discovery_intervals():
    assert ABSENT_INTERVALS == 3 and linger(60.0) == 180.0 and linger(15.0) == 45.0


def test_a_key_absent_up_to_the_window_is_kept_and_past_it_forgotten():
    last_seen = {"gone": 1000.0, "going": 1000.0}
    kept, gone = refresh(last_seen, ["here"], 1180.0, 180.0)
    assert kept == {"gone": 1000.0, "going": 1000.0, "here": 1180.0} and gone == []
    kept, gone = refresh(kept, ["here"], 1180.5, 180.0)
    assert kept == {"here": 1180.5} and sorted(gone) == ["going", "gone"]


def test_a_key_seen_now_is_never_forgotten_however_long_it_was_away():
    # The polls failed for ten minutes: what the next answer holds stays, the rest goes.
    kept, gone = refresh({"back": 1000.0, "left": 1000.0}, ["back"], 1600.0, 180.0)
    assert kept == {"back": 1600.0} and gone == ["left"]


def test_the_times_are_the_callers_and_the_mapping_given_is_left_as_it_was():
    published = MappingProxyType({"a": 5.0})
    kept, gone = refresh(published, ["b", "b"], 6.0, 1.0)
    assert dict(published) == {"a": 5.0} and kept == {"a": 5.0, "b": 6.0} and gone == []
    # A clock that went back forgets nothing.
    assert refresh(kept, [], 2.0, 1.0) == ({"a": 5.0, "b": 6.0}, [])
