"""Every threshold, window and `for` duration of the alerts, once.

The rules, the PrometheusRule and the dashboards' threshold lines all read one
`Settings`, so changing a number means editing one default here (or passing
`--set name=value` to `python -m convoso_exporter.mixin`) and regenerating.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from convoso_exporter.config.units import format_duration

# Prometheus's own duration syntax: units in this order, each at most once ("1m30s", not
# "30s1m" nor "1m1m", which promtool refuses); or a bare 0.
DURATION_RE = re.compile(r"^(?=\d)(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$|^0$")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
BASES = ("auto", "live", "answered")


@dataclass(frozen=True)
class Settings:
    """All tunables of the rules. Ratios are fractions (0.03 = 3%)."""

    # Which Prometheus job scrapes the exporter (a PromQL label matcher).
    job_selector: str = 'job="convoso"'
    runbook_base: str = "https://github.com/convoso-exporter/convoso-exporter/blob/main/docs/runbook.md"
    # Today's drop rate (dropped / answered): the legal line and an early warning.
    drop_rate_critical: float = 0.03
    drop_rate_warning: float = 0.025
    # Fewer answered calls than this today and the ratio is noise: no drop-rate alert.
    min_answered_today: int = 100
    # The daily ratio moves slowly; 5m keeps a rate hovering at the line from flapping.
    drop_rate_for: str = "5m"
    # A burst: at least burst_min_drops drops in burst_window, over burst_drop_rate of
    # the calls answered in the same window.
    burst_window: str = "15m"
    burst_min_drops: int = 5
    burst_drop_rate: float = 0.03
    burst_for: str = "2m"
    # Short gaps between calls are normal; a floor with nobody ready this long is not.
    no_agent_ready_for: str = "10m"
    target_down_for: str = "5m"
    # Data older than this means the drop alerts are blind.
    stale_after: str = "10m"
    data_stale_for: str = "1m"
    exporter_down_for: str = "5m"
    # Auth errors this recent while the target is down mean the token is being refused.
    auth_window: str = "10m"
    auth_for: str = "2m"
    # The 30-day drop rate per campaign (the legal measure). The exporter's counters are
    # summed in tiles of tile_window, by a rule group evaluated every tile_window, so a
    # 30-day sum reads 30d / tile_window samples per series (2,880 at 15m).
    tile_window: str = "15m"
    drop_rate_30d_critical: float = 0.03
    # Half a point under the line: the 30-day rate moves slowly, so that is days of notice.
    drop_rate_30d_warning: float = 0.025
    # Fewer answered calls than this in the 30 days (a campaign's first hours): no alert.
    min_answered_30d: int = 100
    # Warn when the last 24 hours' drops over the line, repeated this many days, would
    # use up what the 30 days have left.
    drop_pace_days: int = 7
    # The rate changes once per tile: the next tile confirms a crossing.
    drop_rate_30d_for: str = "15m"
    # What the 30-day alerts divide by (docs/alerts.md, "Two bases"): `live` judges dropped
    # ÷ (live-human answered + dropped), from the agent-performance figures; `answered`
    # judges dropped ÷ Convoso's answered; `auto` judges live where the campaign has
    # current live-human figures, else answered, so turning the endpoint off never
    # silences the alerts.
    drop_rate_30d_basis: str = "auto"
    # Occupancy, pause share and handle time: the agent time of this window.
    agent_time_window: str = "15m"


class SettingsError(Exception):
    """A one-line message naming the setting that is wrong."""


def duration_seconds(value: str) -> float:
    """Seconds in a Prometheus duration such as `1h30m` or `500ms`."""
    return sum(
        float(number) * UNIT_SECONDS[unit] for number, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", value)
    )


def duration_text(seconds: float) -> str:
    """900 -> '15m', 5400 -> '1h30m', 0.5 -> '500ms': a Prometheus duration (whole milliseconds)."""
    # config/units.py writes the same durations but nothing as "0s"; the rules have said "0".
    return format_duration(seconds) if round(seconds * 1000) > 0 else "0"


def percent(ratio: float) -> str:
    """0.03 -> '3%', 0.025 -> '2.5%' (for summaries and descriptions)."""
    return f"{ratio * 100:g}%"


def validate(settings: Settings) -> None:
    """Raise SettingsError for a value Prometheus would reject or that makes no sense."""
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if field.name.endswith(("_for", "_window", "_after")) and not DURATION_RE.match(value):
            raise SettingsError(f"{field.name}: {value!r} is not a Prometheus duration like 5m")
        if field.type == "float" and not 0 < value < 1:
            raise SettingsError(f"{field.name}: {value!r} must be a ratio between 0 and 1")
        if field.type == "int" and value < 1:
            raise SettingsError(f"{field.name}: {value!r} must be at least 1")
    if settings.drop_rate_warning >= settings.drop_rate_critical:
        raise SettingsError("drop_rate_warning: must be below drop_rate_critical")
    if settings.drop_rate_30d_warning >= settings.drop_rate_30d_critical:
        raise SettingsError("drop_rate_30d_warning: must be below drop_rate_30d_critical")
    for field in dataclasses.fields(settings):  # every window is a range: [0s] is refused
        if field.name.endswith("_window") and duration_seconds(getattr(settings, field.name)) <= 0:
            raise SettingsError(f"{field.name}: must be longer than 0")
    if settings.drop_rate_30d_basis not in BASES:
        raise SettingsError(f"drop_rate_30d_basis: {settings.drop_rate_30d_basis!r} must be one of {', '.join(BASES)}")
    tile = duration_seconds(settings.tile_window)
    if tile >= 86400 or 86400 % tile:
        # Shorter than a day too: a 1d tile's record would take the 1-day sum's name.
        raise SettingsError("tile_window: must be shorter than a day and divide it evenly "
                            "(the 1d and 30d sums are whole tiles)")


def apply_overrides(settings: Settings, pairs: list[str]) -> Settings:
    """`name=value` strings (from --set) applied on top of `settings`."""
    fields = {field.name: field for field in dataclasses.fields(settings)}
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise SettingsError(f"--set {pair}: expected name=value")
        if name not in fields:
            raise SettingsError(f"--set {name}: unknown setting (known: {', '.join(fields)})")
        kind = fields[name].type
        try:
            changes[name] = {"int": int, "float": float}.get(kind, str)(raw)
        except ValueError:
            raise SettingsError(f"--set {name}: {raw!r} is not a valid {kind}") from None
    return dataclasses.replace(settings, **changes)


def defaults_text() -> str:
    """`name=default, ...` for --help, so the defaults are documented where they are set."""
    defaults = Settings()
    return ", ".join(f"{field.name}={getattr(defaults, field.name)}" for field in dataclasses.fields(Settings))
