"""Time for the simulator: `FakeClock` (tests advance it instead of sleeping) and
`Calendar`, the account's local days in an IANA time zone.

"Today" counters reset at the account's local midnight (the platform descends from
VICIdial, whose counters do), so the center asks its calendar where each local day
starts. DST is the zone's business: in `America/New_York` a day starts at 05:00 UTC
in winter and 04:00 UTC in summer, and the days DST begins and ends last 23 and 25
hours. A local midnight that does not exist (a zone that springs forward at 00:00)
is replaced by the first instant of that date; one that happens twice (falling back
at 00:00) counts from its first occurrence.
"""

from __future__ import annotations

import datetime
import time
import zoneinfo

WALL_FORMAT = "%Y-%m-%d %H:%M:%S"


class FakeClock:
    """A clock for tests: returns the time it was set to; `advance` moves it."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock does not go backwards ({seconds} s)")
        self.now += seconds


def time_zone(name: str) -> datetime.tzinfo:
    """The zone for an IANA name; ValueError (one line) for anything else.

    "UTC" needs no time zone database (slim containers may have none)."""
    if name == "UTC":
        return datetime.timezone.utc
    if not isinstance(name, str) or not name:
        raise ValueError(f"timezone must be an IANA time zone name like America/New_York, got {name!r}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: expected an IANA name like America/New_York or UTC") from None


class Calendar:
    """The local calendar of one time zone, over Unix wall-clock seconds."""

    def __init__(self, name: str = "UTC") -> None:
        self.name = name
        self._zone = time_zone(name)
        self._utc = self._zone is datetime.timezone.utc

    def date(self, wall: float) -> datetime.date:
        """The local date at `wall`."""
        return datetime.datetime.fromtimestamp(wall, self._zone).date()

    def day_start(self, day: datetime.date) -> float:
        """The wall-clock time local `day` starts at (its midnight; see the module notes)."""
        return datetime.datetime.combine(day, datetime.time(), tzinfo=self._zone).timestamp()

    def wall_text(self, wall: float) -> str:
        """"YYYY-MM-DD HH:MM:SS" in local time, no zone (as the live service writes it)."""
        if self._utc:
            return time.strftime(WALL_FORMAT, time.gmtime(wall))
        return datetime.datetime.fromtimestamp(wall, self._zone).strftime(WALL_FORMAT)
