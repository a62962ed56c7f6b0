"""Agent statuses as a floor reads them: one colour and one pair of time limits per status.

Defined once, for every screen: the Grafana dashboards (`convoso_exporter/mixin/`) and the
wallboard (`/wallboard`) paint a status the same colour and warn about the same times.
Colours are Grafana colour names (or `#rrggbb`); `css_colour` turns them into the hex
Grafana paints for them, so the wallboard needs no Grafana to look like one.
"""

from __future__ import annotations

from convoso_exporter.api.model import COMMON_STATUSES

# One colour per agent status, the same on every panel. Red is kept for trouble.
STATUS_COLOURS = {
    "READY": "green",
    "INCALL": "blue",
    "PAUSED": "orange",
    "WRAP": "purple",
    "RINGING": "yellow",
    "TRANSFER": "super-light-blue",
    "LOGGED_OUT": "#8e8e8e",
}
# Seconds in a status after which an agent needs a look: (orange, red). Red is always
# twice orange: the dashboards' agent table colours a time as its share of the orange
# limit (red from 2), one scale for every status. (WRAP's red was 300 s: the table
# painted 240-299 s red while the wallboard said orange.)
STATUS_LIMITS = {"READY": (300, 600), "PAUSED": (900, 1800), "WRAP": (120, 240)}

# What Grafana paints for its colour names (its classic palette, dark theme).
GRAFANA_PALETTE = {
    "green": "#73BF69",
    "blue": "#5794F2",
    "orange": "#FF9830",
    "purple": "#B877D9",
    "yellow": "#FADE2A",
    "super-light-blue": "#C0D8FF",
    "red": "#F2495C",
}
# A status nobody listed (the API carries any string through): a plain light grey.
OTHER_STATUS_COLOUR = "#D8D9DA"
ALERT_COLOUR = GRAFANA_PALETTE["red"]
WARN_COLOUR = GRAFANA_PALETTE["orange"]

# The order a floor lists statuses in: the common ones as the API reference lists them,
# any other status after them, logged-out agents last.
_ORDER = {status: index for index, status in enumerate(s for s in COMMON_STATUSES if s != "LOGGED_OUT")}


def css_colour(name: str) -> str:
    """`#rrggbb` for a Grafana colour name or a hex colour."""
    return name if name.startswith("#") else GRAFANA_PALETTE[name]


def status_colour(status: str | None) -> str:
    """The CSS colour of a status; unknown and missing statuses are light grey."""
    colour = STATUS_COLOURS.get(status or "")
    return css_colour(colour) if colour else OTHER_STATUS_COLOUR


def status_rank(status: str | None) -> tuple[int, str]:
    """A sort key: common statuses in their order, then others by name, then LOGGED_OUT."""
    status = status or ""
    if status == "LOGGED_OUT":
        return (len(_ORDER) + 1, "")
    return (_ORDER.get(status, len(_ORDER)), status)


def time_level(status: str | None, seconds: int | None) -> str:
    """`ok`, `warn` (orange) or `alert` (red) for an agent this long in this status."""
    limits = STATUS_LIMITS.get(status or "")
    if limits is None or seconds is None:
        return "ok"
    warn, alert = limits
    return "alert" if seconds >= alert else "warn" if seconds >= warn else "ok"


def legend() -> dict:
    """The tables as the wallboard's script reads them."""
    return {
        "statuses": {
            status: {"colour": status_colour(status), "limits": list(STATUS_LIMITS.get(status, ()))}
            for status in STATUS_COLOURS
        },
        "order": sorted(STATUS_COLOURS, key=status_rank),
        "other_colour": OTHER_STATUS_COLOUR,
        "warn_colour": WARN_COLOUR,
        "alert_colour": ALERT_COLOUR,
    }
