"""api/endpoints/activity.py: user-activity answers as the vendor shows them, counts as
strings, the counts at the root, what cannot be read (absent, never 0), refusals."""

from __future__ import annotations

import pytest

from convoso_exporter.api.drift import Tally
from convoso_exporter.api.endpoints.activity import UserActivity, parse_user_activity
from convoso_exporter.api.errors import ApiError, AuthError, ProtocolError


def parse(doc) -> tuple[UserActivity, set[tuple[str, str]]]:
    tally = Tally("user_activity")
    return parse_user_activity(doc, tally), set(tally.notes)


def test_the_vendors_example_as_documented():
    assert parse({"success": True, "data": {"available_agents": 12, "logged_in_agents": 31}}) == (
        UserActivity(logged_in=31, available=12), set())


def test_counts_as_strings_at_the_root_or_under_an_empty_data():
    assert parse({"success": True, "data": {"available_agents": "12", "logged_in_agents": "31", "x": 1}}) == (
        UserActivity(31, 12), {("available_agents", "number_as_text"), ("logged_in_agents", "number_as_text"),
                               ("x", "unknown_field")})
    assert parse({"success": True, "logged_in_agents": 5, "available_agents": 2}) == (
        UserActivity(5, 2), {("data", "missing_field")})
    assert parse({"success": True, "data": []}) == (
        UserActivity(None, None), {("data", "other_type"), ("logged_in_agents", "missing_field"),
                                   ("available_agents", "missing_field")})


def test_a_count_that_cannot_be_read_is_absent():
    found, notes = parse({"success": True, "data": {"available_agents": "many", "logged_in_agents": -1}})
    assert found == UserActivity(None, None)
    assert notes == {("available_agents", "invalid_text"), ("logged_in_agents", "out_of_bounds")}


def test_refusals_and_shapes_that_hold_no_counts():
    with pytest.raises(AuthError):
        parse({"success": False, "code": 403, "text": "Access denied: no User Activity permission"})
    with pytest.raises(ApiError):
        parse({"success": True, "data": {"success": False, "code": 6026, "error": "Campaign not found"}})
    for doc in (["x"], {"success": True, "data": [1, 2]}, {"success": True, "data": "31"}):
        with pytest.raises(ProtocolError):
            parse(doc)
