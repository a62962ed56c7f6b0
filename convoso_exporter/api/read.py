"""One way in: an answer's body bytes to what the client returns, with what reading it
took noted in the answer's `drift.Tally`.

A search answer (up to tens of MB) is read by the typed path (api/typed.py) when it
takes it as it is, else by the reference parser (api/parse.py): the tally says so
(`fallback`), `convoso_exporter_parse_fallbacks_total` counts it. Every other answer is
small: decoded whole (api/decode.py) and read by its parser (agent-performance and
user-activity search: api/endpoints/).

An endpoint's parser takes the decoded document and the tally, and notes into it what
did not match the model (api/drift.py: `Tally.note`, `Tally.unknown`, the `*_kind`
classifiers and `note_column` for a column of values; `parse.levels` finds a wrapped
payload and notes the fields a level holds that the parser does not read):

    def parse_user_activity(doc: Any, tally: Tally) -> UserActivity: ...
    read_document(body, parse_user_activity, tally)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from convoso_exporter.api.decode import Body, decode_json
from convoso_exporter.api.drift import Tally
from convoso_exporter.api.endpoints.activity import UserActivity, parse_user_activity
from convoso_exporter.api.endpoints.performance import PerformanceAnswer, parse_performance
from convoso_exporter.api.limits import DEFAULT_LIMITS, Limits
from convoso_exporter.api.model import SearchResult
from convoso_exporter.api.parse import parse_logout, parse_search
from convoso_exporter.api.typed import NotTyped, read_typed

T = TypeVar("T")

SEARCH = "search"
LOGOUT = "logout"
# The optional endpoints (api/endpoints/), by the names the stats, the shape telemetry and
# convoso_exporter_endpoint_enabled give them.
PERFORMANCE = "performance"
USER_ACTIVITY = "user_activity"


def read_search(body: Body, limits: Limits = DEFAULT_LIMITS, secret: str | None = None, agents: bool = True,
                tally: Tally | None = None) -> SearchResult:
    """A /agent-monitor/search answer → `SearchResult` (see `parse.parse_search`): typed
    where the answer allows, else by the reference."""
    tally = tally if tally is not None else Tally(SEARCH, secret)
    try:
        return read_typed(body, limits, secret, agents, tally)
    except NotTyped as why:
        tally.fell_back(str(why))
    return read_document(body, lambda doc, tally: parse_search(doc, limits, secret, agents, tally), tally, limits)


def read_logout(body: Body, tally: Tally | None = None) -> None:
    """Check a /agent-monitor/logout answer (see `parse.parse_logout`)."""
    read_document(body, parse_logout, tally if tally is not None else Tally(LOGOUT))


def read_document(body: Body, parse: Callable[[Any, Tally], T], tally: Tally,
                  limits: Limits = DEFAULT_LIMITS) -> T:
    """`parse` of the decoded body, or the ConvosoError the body is instead."""
    doc, problem = decode_json(body.raw, body.content_type, limits)
    if problem is not None:
        raise problem
    return parse(doc, tally)


def read_performance(body: Body, day: str, limits: Limits = DEFAULT_LIMITS, secret: str | None = None,
                     tally: Tally | None = None) -> PerformanceAnswer:
    """An /agent-performance/search answer for `day` (see `performance.parse_performance`)."""
    tally = tally if tally is not None else Tally(PERFORMANCE, secret)
    return read_document(body, lambda doc, tally: parse_performance(doc, tally, day, limits, secret), tally, limits)


def read_user_activity(body: Body, tally: Tally | None = None) -> UserActivity:
    """A /user-activity/search answer (see `activity.parse_user_activity`)."""
    return read_document(body, parse_user_activity, tally if tally is not None else Tally(USER_ACTIVITY))
