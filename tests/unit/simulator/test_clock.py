"""The simulator's calendar: where local days start in a time zone, DST included."""

from __future__ import annotations

import datetime

import pytest

from convoso_exporter.simulator.clock import Calendar, time_zone
from tests.support import without_system_time_zones

UTC = datetime.timezone.utc


def utc(text: str) -> float:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def starts(zone: str, *days: str) -> list[float]:
    calendar = Calendar(zone)
    return [calendar.day_start(datetime.date.fromisoformat(day)) for day in days]


def test_utc_days_start_at_midnight_utc_without_a_zone_database():
    assert time_zone("UTC") is UTC  # no tzdata needed for the default
    assert starts("UTC", "2026-01-01", "2026-07-01") == [utc("2026-01-01T00:00"), utc("2026-07-01T00:00")]


def test_new_york_days_start_at_05_utc_in_winter_04_in_summer():
    winter, summer = starts("America/New_York", "2026-01-15", "2026-07-15")
    assert (winter, summer) == (utc("2026-01-15T05:00"), utc("2026-07-15T04:00"))


def test_every_iana_name_resolves_without_the_system_database():
    with without_system_time_zones():
        legacy, modern = starts("US/Eastern", "2026-01-15"), starts("America/New_York", "2026-07-15")
        assert (legacy, modern) == ([utc("2026-01-15T05:00")], [utc("2026-07-15T04:00")])
        with pytest.raises(ValueError) as caught:
            time_zone("US/Bogus")
    assert str(caught.value) == "unknown time zone 'US/Bogus': expected an IANA name like America/New_York or UTC"


def test_dst_days_last_23_and_25_hours():
    spring = starts("America/New_York", "2026-03-08", "2026-03-09")
    autumn = starts("America/New_York", "2026-11-01", "2026-11-02")
    assert spring[1] - spring[0] == 23 * 3600 and autumn[1] - autumn[0] == 25 * 3600


def test_a_midnight_that_does_not_exist_or_happens_twice():
    # Havana springs forward at 00:00 (the day starts at 01:00 local) and falls back at
    # 01:00 to 00:00 (midnight happens twice: the day starts at the first).
    calendar = Calendar("America/Havana")
    spring = calendar.day_start(datetime.date(2024, 3, 10))
    assert spring == utc("2024-03-10T05:00") and calendar.wall_text(spring) == "2024-03-10 01:00:00"
    autumn = calendar.day_start(datetime.date(2024, 11, 3))
    assert autumn == utc("2024-11-03T04:00") and calendar.wall_text(autumn + 3600) == "2024-11-03 00:00:00"
    assert calendar.date(autumn) == calendar.date(autumn + 3600) == datetime.date(2024, 11, 3)


def test_dates_and_wall_text_are_local():
    tokyo = Calendar("Asia/Tokyo")
    moment = utc("2026-01-01T20:30:05")
    assert tokyo.date(moment) == datetime.date(2026, 1, 2) and tokyo.wall_text(moment) == "2026-01-02 05:30:05"
    assert Calendar().wall_text(moment) == "2026-01-01 20:30:05" and Calendar().name == "UTC"


@pytest.mark.parametrize("name", ["Mars/Olympus", "utc", "", "../../etc/passwd", None, 5])
def test_unknown_zones_are_refused_in_one_line(name):
    with pytest.raises(ValueError) as raised:
        Calendar(name)
    assert "\n" not in str(raised.value) and "zone" in str(raised.value)
